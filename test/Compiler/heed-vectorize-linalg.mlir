// RUN: heed-opt %s --heed-vectorize-linalg | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// A large elementwise op is cut into static tiles of at most 4 rows, each
// vectorized.
// CHECK-LABEL: func @elementwise
// CHECK: scf.for %{{.*}} = %c0 to %c1000 step %c4
// CHECK: vector.transfer_read {{.*}} : tensor<4x10xf32>, vector<4x10xf32>
// CHECK: math.tanh {{.*}} : vector<4x10xf32>
// CHECK: vector.transfer_write {{.*}} : vector<4x10xf32>, tensor<4x10xf32>
// CHECK-NOT: linalg.generic
func.func @elementwise(%x: tensor<1000x10xf32>) -> tensor<1000x10xf32> {
  %e = tensor.empty() : tensor<1000x10xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<1000x10xf32>) outs(%e : tensor<1000x10xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  } -> tensor<1000x10xf32>
  return %r : tensor<1000x10xf32>
}

// A reduction too long for registers stays a loop nest.
// CHECK-LABEL: func @long_reduction
// CHECK: linalg.generic
// CHECK-NOT: vector.transfer_read
func.func @long_reduction(%x: tensor<4096xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                       iterator_types = ["reduction"]}
      ins(%x : tensor<4096xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
