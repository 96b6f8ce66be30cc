// RUN: heed-opt %s --split-input-file --heed-forward-thread-local-stores | FileCheck %s

// A cell's new state stored into a scratch buffer and loaded back at the
// same element (index %c0 and the one-iteration dim %i alike) to be copied
// into the next state and the output: the loads are the stored value, and
// the scratch, now only stored to, goes with its stores and deallocation.
// CHECK-LABEL: func.func @scratch
// CHECK-SAME: (%[[X:[^:]*]]: memref<1x32xf32>, %[[NEXT:[^:]*]]: memref<1x32xf32>, %[[OUT:[^:]*]]: memref<1x32xf32>)
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel (%[[I:[^,]*]], %[[J:[^)]*]])
// CHECK: %[[H:.*]] = math.tanh
// CHECK-NEXT: memref.store %[[H]], %[[NEXT]][%c0, %[[J]]]
// CHECK-NEXT: memref.store %[[H]], %[[OUT]][%[[I]], %[[J]]]
// CHECK-NOT: memref.load
// CHECK-NOT: memref.dealloc
func.func @scratch(%x: memref<1x32xf32>, %next: memref<1x32xf32>, %out: memref<1x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %scratch = memref.alloc() : memref<1x32xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
    %v = memref.load %x[%c0, %j] : memref<1x32xf32>
    %h = math.tanh %v : f32
    memref.store %h, %scratch[%c0, %j] : memref<1x32xf32>
    %a = memref.load %scratch[%c0, %j] : memref<1x32xf32>
    memref.store %a, %next[%c0, %j] : memref<1x32xf32>
    %b = memref.load %scratch[%i, %j] : memref<1x32xf32>
    memref.store %b, %out[%i, %j] : memref<1x32xf32>
    scf.reduce
  }
  memref.dealloc %scratch : memref<1x32xf32>
  return
}

// -----

// Left alone: a load of another element (the dim %j has 32 iterations, so
// %j is not %c0), a load after a store that may write the same buffer (a
// view of it), a load in a nested loop, and a buffer read after the loop
// (its stores stay).
// CHECK-LABEL: func.func @kept
// CHECK: %[[A:.*]] = memref.alloc
// CHECK-COUNT-3: memref.load %[[A]]
// CHECK: memref.load %[[A]][%c0, %c0]
// CHECK: memref.dealloc %[[A]]
func.func @kept(%x: memref<1x32xf32>, %out: memref<1x32xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<1x32xf32>
  %view = memref.subview %a[0, 0] [1, 32] [1, 1] : memref<1x32xf32> to memref<1x32xf32, strided<[32, 1]>>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
    memref.store %cst, %a[%c0, %c0] : memref<1x32xf32>
    %v = memref.load %a[%c0, %j] : memref<1x32xf32>
    memref.store %v, %a[%c0, %j] : memref<1x32xf32>
    memref.store %cst, %view[%c0, %j] : memref<1x32xf32, strided<[32, 1]>>
    %w = memref.load %a[%c0, %j] : memref<1x32xf32>
    memref.store %w, %a[%c0, %j] : memref<1x32xf32>
    scf.for %k = %c0 to %c32 step %c1 {
      %u = memref.load %a[%c0, %j] : memref<1x32xf32>
      memref.store %u, %out[%c0, %k] : memref<1x32xf32>
    }
    scf.reduce
  }
  %r = memref.load %a[%c0, %c0] : memref<1x32xf32>
  memref.dealloc %a : memref<1x32xf32>
  return %r : f32
}
