// RUN: heed-opt %s --pass-pipeline='builtin.module(func.func(heed-distinct-results))' | FileCheck %s

// A value returned twice: the repeat is a copy into a fresh tensor.
// CHECK-LABEL: func.func @twice
// CHECK-SAME: (%[[A:[^:]*]]: tensor<2x4xf32>, %[[B:[^:]*]]: tensor<3xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x4xf32>
// CHECK: %[[C:.*]] = linalg.copy ins(%[[A]] : tensor<2x4xf32>) outs(%[[E]] : tensor<2x4xf32>)
// CHECK: return %[[A]], %[[C]], %[[B]] :
func.func @twice(%a: tensor<2x4xf32>, %b: tensor<3xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<3xf32>) {
  return %a, %a, %b : tensor<2x4xf32>, tensor<2x4xf32>, tensor<3xf32>
}

// Distinct results stay as they are.
// CHECK-LABEL: func.func @distinct
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @distinct(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  return %a, %b : tensor<2x4xf32>, tensor<2x4xf32>
}
