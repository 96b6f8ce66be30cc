// RUN: heed-opt %s --heed-outline-parallel-loops | FileCheck %s

// The body of a marked loop becomes a function of the index; the loop a
// call of its dispatch with the iteration count, lower bound and step. The
// scratch buffer only the loop uses moves into the body (one per
// iteration); the buffer it carries (its output) is passed.
// CHECK-LABEL: func.func @rows(
// CHECK-SAME: %[[X:.*]]: memref<8x16xf32>, %[[Y:.*]]: memref<8x16xf32>)
// CHECK-NOT: memref<16xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<8x16xf32>
// CHECK: %[[SPAN:.*]] = arith.subi %[[C8:.*]], %[[C0:.*]] : index
// CHECK: %[[COUNT:.*]] = arith.ceildivsi %[[SPAN]], %[[C1:.*]] : index
// CHECK: call @rows__parallel0__dispatch(%[[COUNT]], %[[C0]], %[[C1]], %[[X]], %[[OUT]])
// CHECK-NOT: scf.for
// CHECK: memref.copy %[[OUT]], %[[Y]]
// CHECK-LABEL: func.func @rows__parallel0(
// CHECK-SAME: %[[I:.*]]: index, %[[BX:.*]]: memref<8x16xf32>, %[[BOUT:.*]]: memref<8x16xf32>)
// CHECK-SAME: attributes {no_inline, passthrough = ["noinline"]}
// CHECK: %[[OWN:.*]] = memref.alloc() : memref<16xf32>
// CHECK: vector.transfer_read %[[BX]][%[[I]], %{{.*}}]
// CHECK: vector.transfer_write %{{.*}}, %[[OWN]]
// CHECK: vector.transfer_write %{{.*}}, %[[BOUT]][%[[I]], %{{.*}}]
// CHECK-NEXT: return
// CHECK: func.func private @rows__parallel0__dispatch(index, index, index, memref<8x16xf32>, memref<8x16xf32>)
// CHECK-SAME: attributes {heed.parallel_body = @rows__parallel0}
func.func @rows(%x: memref<8x16xf32>, %y: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %cst = arith.constant 0.0 : f32
  %scratch = memref.alloc() : memref<16xf32>
  %out = memref.alloc() : memref<8x16xf32>
  %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %out) -> (memref<8x16xf32>) {
    %v = vector.transfer_read %x[%i, %c0], %cst {in_bounds = [true]} : memref<8x16xf32>, vector<16xf32>
    vector.transfer_write %v, %scratch[%c0] {in_bounds = [true]} : vector<16xf32>, memref<16xf32>
    %w = vector.transfer_read %scratch[%c0], %cst {in_bounds = [true]} : memref<16xf32>, vector<16xf32>
    vector.transfer_write %w, %acc[%i, %c0] {in_bounds = [true]} : vector<16xf32>, memref<8x16xf32>
    scf.yield %acc : memref<8x16xf32>
  } loc(fused<"heed.parallel">[unknown])
  memref.copy %r, %y : memref<8x16xf32> to memref<8x16xf32>
  return
}

// One iteration: nothing to share (the loop folds away).
// CHECK-LABEL: func.func @one_iteration
// CHECK-NOT: call
// CHECK: vector.transfer_write
// CHECK-NEXT: return
func.func @one_iteration(%x: memref<8x16xf32>, %out: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %c1 step %c1 iter_args(%acc = %out) -> (memref<8x16xf32>) {
    %v = vector.transfer_read %x[%i, %c0], %cst {in_bounds = [true]} : memref<8x16xf32>, vector<16xf32>
    vector.transfer_write %v, %acc[%i, %c0] {in_bounds = [true]} : vector<16xf32>, memref<8x16xf32>
    scf.yield %acc : memref<8x16xf32>
  } loc(fused<"heed.parallel">[unknown])
  return
}

// A buffer from above that is neither carried nor the loop's alone
// (iterations running at once would share it): the loop stays sequential.
// CHECK-LABEL: func.func @shared_buffer
// CHECK: scf.for
// CHECK-NOT: call
func.func @shared_buffer(%x: memref<8x16xf32>, %out: memref<8x16xf32>, %y: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %cst = arith.constant 0.0 : f32
  %shared = memref.alloc() : memref<16xf32>
  %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %out) -> (memref<8x16xf32>) {
    %v = vector.transfer_read %x[%i, %c0], %cst {in_bounds = [true]} : memref<8x16xf32>, vector<16xf32>
    vector.transfer_write %v, %shared[%c0] {in_bounds = [true]} : vector<16xf32>, memref<16xf32>
    vector.transfer_write %v, %acc[%i, %c0] {in_bounds = [true]} : vector<16xf32>, memref<8x16xf32>
    scf.yield %acc : memref<8x16xf32>
  } loc(fused<"heed.parallel">[unknown])
  memref.copy %shared, %y : memref<16xf32> to memref<16xf32>
  return
}

// A view of a scratch buffer, made above the loop, cannot move with it.
// CHECK-LABEL: func.func @view_of_scratch
// CHECK: scf.for
// CHECK-NOT: call
func.func @view_of_scratch(%x: memref<8x16xf32>, %out: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %cst = arith.constant 0.0 : f32
  %scratch = memref.alloc() : memref<32xf32>
  %half = memref.subview %scratch[0] [16] [1] : memref<32xf32> to memref<16xf32, strided<[1]>>
  %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %out) -> (memref<8x16xf32>) {
    %v = vector.transfer_read %x[%i, %c0], %cst {in_bounds = [true]} : memref<8x16xf32>, vector<16xf32>
    vector.transfer_write %v, %half[%c0] {in_bounds = [true]} : vector<16xf32>, memref<16xf32, strided<[1]>>
    vector.transfer_write %v, %acc[%i, %c0] {in_bounds = [true]} : vector<16xf32>, memref<8x16xf32>
    scf.yield %acc : memref<8x16xf32>
  } loc(fused<"heed.parallel">[unknown])
  return
}

// A call may write any buffer it gets: the loop stays sequential.
// CHECK-LABEL: func.func @opaque_call
// CHECK: scf.for
// CHECK-NOT: __dispatch
func.func private @kernel(memref<8x16xf32>, index)
func.func @opaque_call(%x: memref<8x16xf32>, %out: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %out) -> (memref<8x16xf32>) {
    func.call @kernel(%x, %i) : (memref<8x16xf32>, index) -> ()
    scf.yield %acc : memref<8x16xf32>
  } loc(fused<"heed.parallel">[unknown])
  return
}

// An unmarked loop is left alone.
// CHECK-LABEL: func.func @unmarked
// CHECK: scf.for
// CHECK-NOT: call
func.func @unmarked(%x: memref<8x16xf32>, %out: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %cst = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c8 step %c1 {
    %v = vector.transfer_read %x[%i, %c0], %cst {in_bounds = [true]} : memref<8x16xf32>, vector<16xf32>
    vector.transfer_write %v, %out[%i, %c0] {in_bounds = [true]} : vector<16xf32>, memref<8x16xf32>
  }
  return
}
