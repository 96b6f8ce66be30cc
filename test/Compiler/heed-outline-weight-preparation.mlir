// RUN: heed-opt %s --heed-outline-weight-preparation | FileCheck %s

// The weight transpose moves to @model_prepare; the model takes its result
// as a new argument. Work on the input stays.
// CHECK-LABEL: func.func @model_prepare
// CHECK-SAME: (%[[W:.*]]: tensor<4x8xf32> {bufferization.writable = false}) -> tensor<8x4xf32>
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
