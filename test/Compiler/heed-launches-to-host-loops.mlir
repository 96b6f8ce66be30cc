// RUN: heed-opt %s --split-input-file --heed-launches-to-host-loops | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-launches-to-host-loops --canonicalize --cse | FileCheck %s --check-prefix=FOLDED

// Two stretches: every thread stores into shared memory before any reads
// it back. The shared buffer is a stack array at the function's entry;
// %v, read after the barrier, waits in an array of its own per thread.
// CHECK-LABEL: func.func @stretches
// CHECK-DAG: %[[SHARED:.*]] = memref.alloca() {alignment = 16 : i64} : memref<64xf32>
// CHECK-DAG: %[[HOME:.*]] = memref.alloca() : memref<64xf32>
// CHECK: scf.for %[[B:[^ ]*]] = %{{.*}} to %c4
// CHECK: scf.for %[[T:[^ ]*]] =
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[B]], %[[T]]]
// CHECK-DAG: memref.store %[[V]], %[[HOME]][%[[T]]]
// CHECK-DAG: memref.store %[[V]], %[[SHARED]][%[[T]]]
// CHECK: }
// CHECK: scf.for %[[T2:[^ ]*]] =
// CHECK: memref.load %[[SHARED]]
// CHECK: memref.load %[[HOME]][%[[T2]]]
// CHECK-NOT: gpu.
func.func @stretches(%in: memref<4x64xf32>, %out: memref<4x64xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %in[%b, %t] : memref<4x64xf32>
    memref.store %v, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %n = arith.subi %sx, %t : index
    %last = arith.subi %n, %c1 : index
    %w = memref.load %s[%last] : memref<64xf32, #gpu.address_space<workgroup>>
    %sum = arith.addf %w, %v : f32
    memref.store %sum, %out[%b, %t] : memref<4x64xf32>
    gpu.terminator
  }
  return
}

// -----

// A loop with barriers (the same bounds in every thread) runs at block
// level; what it carries lives in an array, filled before it and, after
// each step's stretches, from what each thread yields (all threads have
// read the old values by then).
// FOLDED-LABEL: func.func @carried
// FOLDED: %[[ACC:.*]] = memref.alloca() : memref<32xf32>
// FOLDED: %[[NEXT:.*]] = memref.alloca() : memref<32xf32>
// FOLDED: scf.for %[[T0:[^ ]*]] = %c0 to %c32
// FOLDED-NEXT: memref.store %{{.*}}, %[[ACC]][%[[T0]]]
// FOLDED: scf.for %{{[^ ]*}} = %c0 to %c8
// FOLDED-NEXT: scf.for
// FOLDED: scf.for %[[T1:[^ ]*]] = %c0 to %c32
// FOLDED: memref.load %[[ACC]][%[[T1]]]
// FOLDED: memref.store %{{.*}}, %[[NEXT]][%[[T1]]]
// FOLDED: scf.for %[[T2:[^ ]*]] = %c0 to %c32
// FOLDED-NEXT: %[[N:.*]] = memref.load %[[NEXT]][%[[T2]]]
// FOLDED-NEXT: memref.store %[[N]], %[[ACC]][%[[T2]]]
// FOLDED: scf.for %[[T3:[^ ]*]] = %c0 to %c32
// FOLDED-NEXT: %[[R:.*]] = memref.load %[[ACC]][%[[T3]]]
// FOLDED-NEXT: memref.store %[[R]], %arg1[%[[T3]]]
func.func @carried(%in: memref<8x32xf32>, %out: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%s : memref<32xf32, #gpu.address_space<workgroup>>) {
    %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> f32 {
      %x = memref.load %in[%i, %t] : memref<8x32xf32>
      memref.store %x, %s[%t] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %y = memref.load %s[%c0] : memref<32xf32, #gpu.address_space<workgroup>>
      %next = arith.addf %acc, %y : f32
      gpu.barrier
      scf.yield %next : f32
    }
    memref.store %r, %out[%t] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

// A merged kernel's part (heed-merge-independent-loops): a branch on the
// block with barriers inside runs at block level, the part's block index
// computed once per block; a branch on the thread stays in its stretch.
// FOLDED-LABEL: func.func @part
// FOLDED: scf.for %[[B:[^ ]*]] = %c0 to %c3
// FOLDED-NEXT: %[[IN:.*]] = arith.cmpi uge, %[[B]], %c2
// FOLDED-NEXT: scf.if %[[IN]]
// FOLDED-NEXT: %[[PB:.*]] = arith.subi %[[B]], %c2
// FOLDED-NEXT: scf.for %[[T:[^ ]*]] = %c0 to %c32
// FOLDED-NEXT: memref.load %arg0[%[[PB]], %[[T]]]
// FOLDED: scf.for %[[T2:[^ ]*]] = %c0 to %c32
// FOLDED-NEXT: arith.cmpi eq, %[[T2]], %c0
// FOLDED-NEXT: scf.if
// FOLDED: memref.store %{{.*}}, %arg1[%[[PB]]]
func.func @part(%a: memref<3x32xf32>, %o: memref<3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c3, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%s : memref<32xf32, #gpu.address_space<workgroup>>) {
    %second = arith.cmpi uge, %b, %c2 : index
    scf.if %second {
      %pb = arith.subi %b, %c2 : index
      %x = memref.load %a[%pb, %t] : memref<3x32xf32>
      memref.store %x, %s[%t] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %first = arith.cmpi eq, %t, %c0 : index
      scf.if %first {
        %y = memref.load %s[%c1] : memref<32xf32, #gpu.address_space<workgroup>>
        memref.store %y, %o[%pb] : memref<3xf32>
      }
    }
    gpu.terminator
  }
  return
}
