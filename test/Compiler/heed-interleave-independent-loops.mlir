// RUN: heed-opt %s --split-input-file --heed-interleave-independent-loops | FileCheck %s

// Two time loops with the same bounds and no buffer in common (the
// directions of a bidirectional layer, each carrying its state and freeing
// the previous step's): one loop carrying both states, the kernels
// alternating (forward gates, backward gates, forward cell, backward
// cell). The backward direction's input product between them (a
// gpu.launch with a barrier and workgroup memory, writing a buffer the
// forward loop does not touch) moves above.
// CHECK-LABEL: func.func @directions
// CHECK-SAME: (%[[XF:[^:]*]]: memref<30x32xf32>, %[[XB:[^:]*]]: memref<30x32xf32>, %[[SF:[^:]*]]: memref<32xf32>, %[[SB:[^:]*]]: memref<32xf32>, %[[OF:[^:]*]]: memref<30x32xf32>, %[[OB:[^:]*]]: memref<30x32xf32>, %[[P:[^:]*]]: memref<30x32xf32>)
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: %[[R:.*]]:2 = scf.for %[[T:[^ ]*]] = %c0 to %c30 step %c1 iter_args(%[[HF:[^ ]*]] = %[[SF]], %[[HB:[^ ]*]] = %[[SB]])
// CHECK: scf.parallel
// CHECK: memref.load %[[XF]][%[[T]],
// CHECK: scf.parallel
// CHECK: memref.load %[[P]][%[[T]],
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[OF]][%[[T]],
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[OB]][%[[T]],
// CHECK: scf.yield %{{[^,]*}}, %{{[^ ]*}} :
// CHECK-NOT: scf.for %{{.*}} = %c0 to %c30
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @directions(%xf: memref<30x32xf32>, %xb: memref<30x32xf32>,
                      %sf: memref<32xf32>, %sb: memref<32xf32>,
                      %of: memref<30x32xf32>, %ob: memref<30x32xf32>,
                      %p: memref<30x32xf32>) -> (memref<32xf32>, memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c30 = arith.constant 30 : index
  %c32 = arith.constant 32 : index
  %f = scf.for %t = %c0 to %c30 step %c1 iter_args(%h = %sf) -> (memref<32xf32>) {
    %g = memref.alloc() : memref<32xf32>
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %x = memref.load %xf[%t, %j] : memref<30x32xf32>
      %y = memref.load %h[%j] : memref<32xf32>
      %s = arith.addf %x, %y : f32
      memref.store %s, %g[%j] : memref<32xf32>
      scf.reduce
    }
    %n = memref.alloc() : memref<32xf32>
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %g[%j] : memref<32xf32>
      %w = math.tanh %v : f32
      memref.store %w, %n[%j] : memref<32xf32>
      memref.store %w, %of[%t, %j] : memref<30x32xf32>
      scf.reduce
    }
    memref.dealloc %g : memref<32xf32>
    memref.dealloc %h : memref<32xf32>
    scf.yield %n : memref<32xf32>
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%w : memref<32xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %xb[%c0, %tx] : memref<30x32xf32>
    memref.store %v, %w[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %u = memref.load %w[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %u, %p[%c0, %tx] : memref<30x32xf32>
    gpu.terminator
  }
  %b = scf.for %t = %c0 to %c30 step %c1 iter_args(%h = %sb) -> (memref<32xf32>) {
    %g = memref.alloc() : memref<32xf32>
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %x = memref.load %p[%t, %j] : memref<30x32xf32>
      %y = memref.load %h[%j] : memref<32xf32>
      %s = arith.addf %x, %y : f32
      memref.store %s, %g[%j] : memref<32xf32>
      scf.reduce
    }
    %n = memref.alloc() : memref<32xf32>
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %g[%j] : memref<32xf32>
      %w = math.tanh %v : f32
      memref.store %w, %n[%j] : memref<32xf32>
      memref.store %w, %ob[%t, %j] : memref<30x32xf32>
      scf.reduce
    }
    memref.dealloc %g : memref<32xf32>
    memref.dealloc %h : memref<32xf32>
    scf.yield %n : memref<32xf32>
  }
  return %f, %b : memref<32xf32>, memref<32xf32>
}

// -----

// Left apart: the second loop reads what the first writes (one output
// sequence), a loop with other bounds, and a loop after an op that reads
// the first loop's output (it cannot move above it).
// CHECK-LABEL: func.func @dependent
// CHECK-COUNT-4: scf.for
func.func @dependent(%x: memref<30x32xf32>, %o: memref<30x32xf32>,
                     %o2: memref<30x32xf32>, %o3: memref<30x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c29 = arith.constant 29 : index
  %c30 = arith.constant 30 : index
  %c32 = arith.constant 32 : index
  scf.for %t = %c0 to %c30 step %c1 {
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %x[%t, %j] : memref<30x32xf32>
      memref.store %v, %o[%t, %j] : memref<30x32xf32>
      scf.reduce
    }
  }
  scf.for %t = %c0 to %c30 step %c1 {
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %o[%t, %j] : memref<30x32xf32>
      memref.store %v, %o2[%t, %j] : memref<30x32xf32>
      scf.reduce
    }
  }
  scf.for %t = %c0 to %c29 step %c1 {
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %x[%t, %j] : memref<30x32xf32>
      memref.store %v, %o3[%t, %j] : memref<30x32xf32>
      scf.reduce
    }
  }
  memref.copy %o3, %o : memref<30x32xf32> to memref<30x32xf32>
  scf.for %t = %c0 to %c29 step %c1 {
    scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %x[%t, %j] : memref<30x32xf32>
      memref.store %v, %o2[%t, %j] : memref<30x32xf32>
      scf.reduce
    }
  }
  return
}
