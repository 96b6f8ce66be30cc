// RUN: heed-opt %s --heed-duplicate-empty-tensors | FileCheck %s

// One empty tensor (CSE merged two) as the init of two products: the
// second gets a tensor.empty of its own right before it, so that
// bufferization gives the two results two buffers. A dynamic one keeps its
// size operand.
// CHECK-LABEL: func.func @two_users
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<30x128xf32>
// CHECK: linalg.fill ins(%{{.*}}) outs(%[[E1]] :
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<30x128xf32>
// CHECK-NEXT: linalg.fill ins(%{{.*}}) outs(%[[E2]] :
// CHECK: %[[D1:.*]] = tensor.empty(%[[N:.*]]) : tensor<?xf32>
// CHECK: linalg.fill ins(%{{.*}}) outs(%[[D1]] :
// CHECK: %[[D2:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK-NEXT: linalg.fill ins(%{{.*}}) outs(%[[D2]] :
func.func @two_users(%a: f32, %b: f32, %n: index)
    -> (tensor<30x128xf32>, tensor<30x128xf32>, tensor<?xf32>, tensor<?xf32>) {
  %e = tensor.empty() : tensor<30x128xf32>
  %x = linalg.fill ins(%a : f32) outs(%e : tensor<30x128xf32>) -> tensor<30x128xf32>
  %y = linalg.fill ins(%b : f32) outs(%e : tensor<30x128xf32>) -> tensor<30x128xf32>
  %d = tensor.empty(%n) : tensor<?xf32>
  %u = linalg.fill ins(%a : f32) outs(%d : tensor<?xf32>) -> tensor<?xf32>
  %v = linalg.fill ins(%b : f32) outs(%d : tensor<?xf32>) -> tensor<?xf32>
  return %x, %y, %u, %v : tensor<30x128xf32>, tensor<30x128xf32>, tensor<?xf32>, tensor<?xf32>
}
