// RUN: heed-opt %s --split-input-file --heed-promote-loop-accumulators | FileCheck %s

// A matrix-vector product's reduction (convert-linalg-to-parallel-loops'
// form): the sum is loaded once, carried by the loop and stored after it;
// the loop is unrolled by 8.
// CHECK-LABEL: func.func @matvec
// CHECK-SAME: (%[[X:.*]]: memref<32xf32>, %[[M:.*]]: memref<32x128xf32>, %[[Y:.*]]: memref<128xf32>)
// CHECK: scf.parallel (%[[I:.*]]) =
// CHECK: %[[S0:.*]] = memref.load %[[Y]][%[[I]]]
// CHECK: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[R:.*]] = scf.for %{{.*}} = %c0 to %c32 step %[[C8]] iter_args(%[[S:.*]] = %[[S0]]) -> (f32)
// CHECK-NOT: memref.load %[[Y]]
// CHECK-NOT: memref.store
// CHECK: arith.addf %[[S]], %{{.*}}
// CHECK-COUNT-6: arith.addf
// CHECK: %[[T:.*]] = arith.addf
// CHECK-NEXT: scf.yield %[[T]]
// CHECK: memref.store %[[R]], %[[Y]][%[[I]]]
func.func @matvec(%x: memref<32xf32>, %m: memref<32x128xf32>, %y: memref<128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c128 = arith.constant 128 : index
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    scf.for %k = %c0 to %c32 step %c1 {
      %a = memref.load %x[%k] : memref<32xf32>
      %w = memref.load %m[%k, %i] : memref<32x128xf32>
      %s = memref.load %y[%i] : memref<128xf32>
      %p = arith.mulf %a, %w : f32
      %t = arith.addf %s, %p : f32
      memref.store %t, %y[%i] : memref<128xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Two reduction dims: promoted out of the inner loop (8 iterations:
// unrolled whole), then out of the outer one, now innermost (4: unrolled
// whole too): one load, 32 additions, one store.
// CHECK-LABEL: func.func @two_dims
// CHECK: scf.parallel
// CHECK-NOT: scf.for
// CHECK: %[[S0:.*]] = memref.load %[[Y:.*]][%{{.*}}]
// CHECK-NOT: scf.for
// CHECK: arith.addf %[[S0]]
// CHECK-COUNT-30: arith.addf
// CHECK: %[[R:.*]] = arith.addf
// CHECK-NOT: memref.store
// CHECK: memref.store %[[R]], %[[Y]][%{{.*}}]
func.func @two_dims(%x: memref<4x8xf32>, %y: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%r) = (%c0) to (%c2) step (%c1) {
    scf.for %i = %c0 to %c4 step %c1 {
      scf.for %j = %c0 to %c8 step %c1 {
        %a = memref.load %x[%i, %j] : memref<4x8xf32>
        %s = memref.load %y[%r] : memref<2xf32>
        %t = arith.addf %s, %a : f32
        memref.store %t, %y[%r] : memref<2xf32>
      }
    }
    scf.reduce
  }
  return
}

// -----

// A loop of the host code (outside a parallel loop) stays as it is.
// CHECK-LABEL: func.func @host_loop
// CHECK-NOT: iter_args
// CHECK: return
func.func @host_loop(%x: memref<4xf32>, %y: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %a = memref.load %x[%i] : memref<4xf32>
    %s = memref.load %y[] : memref<f32>
    %t = arith.addf %s, %a : f32
    memref.store %t, %y[] : memref<f32>
  }
  return
}

// -----

// Left alone: another op of the body reads the sum's buffer (a view of
// it); the element depends on the loop's index; the loop may not run
// (dynamic bounds), or does not (4 to 4); an op of unknown effects (a
// call) in the body.
// CHECK-LABEL: func.func @not_promoted
// CHECK-NOT: iter_args
// CHECK: return
func.func private @opaque()
func.func @not_promoted(%x: memref<32xf32>, %y: memref<128xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %view = memref.subview %y[4] [4] [1] : memref<128xf32> to memref<4xf32, strided<[1], offset: 4>>
  scf.parallel (%r) = (%c0) to (%c1) step (%c1) {
    scf.for %k = %c0 to %c32 step %c1 {
      %a = memref.load %view[%c0] : memref<4xf32, strided<[1], offset: 4>>
      %s = memref.load %y[%c0] : memref<128xf32>
      %t = arith.addf %s, %a : f32
      memref.store %t, %y[%c0] : memref<128xf32>
    }
    scf.for %k = %c0 to %c32 step %c1 {
      %a = memref.load %x[%k] : memref<32xf32>
      %s = memref.load %y[%k] : memref<128xf32>
      %t = arith.addf %s, %a : f32
      memref.store %t, %y[%k] : memref<128xf32>
    }
    scf.for %k = %c0 to %n step %c1 {
      %a = memref.load %x[%k] : memref<32xf32>
      %s = memref.load %y[%c0] : memref<128xf32>
      %t = arith.addf %s, %a : f32
      memref.store %t, %y[%c0] : memref<128xf32>
    }
    scf.for %k = %c4 to %c4 step %c1 {
      %a = memref.load %x[%k] : memref<32xf32>
      %s = memref.load %y[%c0] : memref<128xf32>
      %t = arith.addf %s, %a : f32
      memref.store %t, %y[%c0] : memref<128xf32>
    }
    scf.for %k = %c0 to %c4 step %c1 {
      %a = memref.load %x[%k] : memref<32xf32>
      %s = memref.load %y[%c0] : memref<128xf32>
      func.call @opaque() : () -> ()
      %t = arith.addf %s, %a : f32
      memref.store %t, %y[%c0] : memref<128xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A disjoint view of the sum's buffer may be read (static boxes that do
// not meet), and another argument may be written.
// CHECK-LABEL: func.func @disjoint
// CHECK: scf.for {{.*}} iter_args
func.func @disjoint(%y: memref<128xf32>, %z: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %low = memref.subview %y[0] [4] [1] : memref<128xf32> to memref<4xf32, strided<[1]>>
  %high = memref.subview %y[64] [32] [1] : memref<128xf32> to memref<32xf32, strided<[1], offset: 64>>
  scf.parallel (%r) = (%c0) to (%c1) step (%c1) {
    scf.for %k = %c0 to %c32 step %c1 {
      %a = memref.load %high[%k] : memref<32xf32, strided<[1], offset: 64>>
      memref.store %a, %z[%k] : memref<32xf32>
      %s = memref.load %low[%c0] : memref<4xf32, strided<[1]>>
      %t = arith.addf %s, %a : f32
      memref.store %t, %low[%c0] : memref<4xf32, strided<[1]>>
    }
    scf.reduce
  }
  return
}
