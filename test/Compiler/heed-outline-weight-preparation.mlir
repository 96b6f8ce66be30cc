// RUN: heed-opt %s --split-input-file --heed-outline-weight-preparation | FileCheck %s

// The weight transpose moves to @model_prepare; the model takes its result
// as a new argument. Work on the input stays.
// CHECK-LABEL: func.func @model_prepare
// CHECK-SAME: (%[[W:.*]]: tensor<4x8xf32> {bufferization.writable = false}) -> tensor<8x4xf32>
// CHECK-SAME: attributes {heed.weight_preparation, passthrough = ["minsize", "optsize"]}
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[W]] : tensor<4x8xf32>)
// CHECK: return %[[T]]
// CHECK-LABEL: func.func @model
// CHECK-SAME: %[[P:[[:alnum:]_]+]]: tensor<8x4xf32> {bufferization.writable = false, heed.prepared}
// CHECK-SAME: heed.prepare = @model_prepare
// CHECK-NOT: linalg.transpose
// CHECK: linalg.matmul ins(%{{.*}}, %[[P]] : tensor<2x8xf32>, tensor<8x4xf32>)
func.func @model(%x: tensor<2x8xf32>, %w: tensor<4x8xf32> {heed.weight})
    -> tensor<2x4xf32> attributes {heed.outputs = ["y"]} {
  %e = tensor.empty() : tensor<8x4xf32>
  %wt = linalg.transpose ins(%w : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<2x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%o : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %wt : tensor<2x8xf32>, tensor<8x4xf32>) outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Padding a weight into a zero-filled tensor moves whole: the scalar
// constant of the fill is input-free, so the fill and the insert go along.
// CHECK-LABEL: func.func @padded_prepare
// CHECK: linalg.fill
// CHECK: tensor.insert_slice
// CHECK: return {{.*}} : tensor<8x16xf32>
// CHECK-LABEL: func.func @padded
// CHECK-SAME: %[[PAD:[[:alnum:]_]+]]: tensor<8x16xf32> {bufferization.writable = false, heed.prepared}
// CHECK-NOT: tensor.insert_slice
// CHECK: linalg.matmul ins(%{{.*}}, %[[PAD]] :
func.func @padded(%x: tensor<2x8xf32>, %w: tensor<8x10xf32> {heed.weight})
    -> tensor<2x16xf32> attributes {heed.outputs = ["y"]} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %p = tensor.insert_slice %w into %z[0, 0] [8, 10] [1, 1] : tensor<8x10xf32> into tensor<8x16xf32>
  %o = tensor.empty() : tensor<2x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%o : tensor<2x16xf32>) -> tensor<2x16xf32>
  %y = linalg.matmul ins(%x, %p : tensor<2x8xf32>, tensor<8x16xf32>) outs(%init : tensor<2x16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// A bias broadcast over the batch rows as the product's initial value
// stays in the model (prepared, it was as large as the output: 2.6 GB for
// dense_attention at B = 2e7); the bias's own padding still moves.
// CHECK-LABEL: func.func @broadcast_bias_prepare
// CHECK-SAME: -> tensor<16xf32>
// CHECK-NOT: linalg.broadcast
// CHECK: return
// CHECK-LABEL: func.func @broadcast_bias
// CHECK-SAME: %[[B:[[:alnum:]_]+]]: tensor<16xf32> {bufferization.writable = false, heed.prepared}
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[B]] : tensor<16xf32>)
// CHECK: linalg.matmul {{.*}} outs(%[[INIT]] : tensor<1000x16xf32>)
func.func @broadcast_bias(%x: tensor<1000x8xf32>, %w: tensor<8x16xf32>,
                          %b: tensor<10xf32> {heed.weight})
    -> tensor<1000x16xf32> attributes {heed.outputs = ["y"]} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  %p = tensor.insert_slice %b into %z[0] [10] [1] : tensor<10xf32> into tensor<16xf32>
  %o = tensor.empty() : tensor<1000x16xf32>
  %init = linalg.broadcast ins(%p : tensor<16xf32>) outs(%o : tensor<1000x16xf32>) dimensions = [0]
  %y = linalg.matmul ins(%x, %w : tensor<1000x8xf32>, tensor<8x16xf32>) outs(%init : tensor<1000x16xf32>) -> tensor<1000x16xf32>
  return %y : tensor<1000x16xf32>
}

// -----

// At a small batch (64 elements here) the broadcast moves as before.
// CHECK-LABEL: func.func @small_broadcast_prepare
// CHECK: linalg.broadcast
// CHECK: return {{.*}} : tensor<4x16xf32>
func.func @small_broadcast(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>,
                           %b: tensor<16xf32> {heed.weight})
    -> tensor<4x16xf32> attributes {heed.outputs = ["y"]} {
  %o = tensor.empty() : tensor<4x16xf32>
  %init = linalg.broadcast ins(%b : tensor<16xf32>) outs(%o : tensor<4x16xf32>) dimensions = [0]
  %y = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
