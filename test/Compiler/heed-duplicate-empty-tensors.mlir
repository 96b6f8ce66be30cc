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

// Inside a loop the empty tensor is outside of, a use always gets a clone
// inside the loop (even the oldest use, whose original then goes): each
// step writes a buffer of its own, not the one the last step handed on.
// CHECK-LABEL: func.func @loop_users
// CHECK-SAME: (%[[A:.*]]: f32,
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT: linalg.fill ins(%[[A]] : f32) outs(%[[E]] :
// CHECK: scf.while
// CHECK: } do {
// CHECK-NEXT: ^bb0(%[[S:.*]]: tensor<4xf32>):
// CHECK-NEXT: %[[STEP:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[S]] : tensor<4xf32>) outs(%[[STEP]] : tensor<4xf32>)
// CHECK-LABEL: func.func @only_loop_users
// CHECK-NOT: tensor.empty
// CHECK: scf.for
// CHECK-NEXT: %[[STEP:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT: linalg.fill ins(%{{.*}} : f32) outs(%[[STEP]] :
func.func @loop_users(%a: f32, %init: tensor<4xf32>, %go: i1)
    -> (tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %x = linalg.fill ins(%a : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = scf.while (%s = %init) : (tensor<4xf32>) -> tensor<4xf32> {
    scf.condition(%go) %s : tensor<4xf32>
  } do {
  ^bb0(%s: tensor<4xf32>):
    %n = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                         iterator_types = ["parallel"]}
        ins(%s : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %t = arith.addf %in, %in : f32
      linalg.yield %t : f32
    } -> tensor<4xf32>
    scf.yield %n : tensor<4xf32>
  }
  return %x, %r : tensor<4xf32>, tensor<4xf32>
}

func.func @only_loop_users(%a: f32, %init: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<4xf32>
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%s = %init) -> tensor<4xf32> {
    %x = linalg.fill ins(%a : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    scf.yield %x : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
