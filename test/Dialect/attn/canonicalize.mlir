// RUN: heed-opt %s --split-input-file --canonicalize | FileCheck %s

// Σ over the last axis of x ⊙ v (v a weight vector) is a dense layer with
// v as its [1, N] weight; without keepdim the unit axis is squeezed.
// CHECK-LABEL: func.func @weighted_sum
// CHECK: %[[W:.*]] = tensor.expand_shape %arg1 {{\[\[}}0, 1]] output_shape [1, 8] : tensor<8xf32> into tensor<1x8xf32>
// CHECK: %[[D:.*]] = attn.dense %arg0, %[[W]] : (tensor<2x5x8xf32>, tensor<1x8xf32>) -> tensor<2x5x1xf32>
// CHECK: %[[S:.*]] = attn.squeeze %[[D]] {axis = 2 : i64}
// CHECK-NOT: attn.reduce
// CHECK: return %[[S]]
func.func @weighted_sum(%x: tensor<2x5x8xf32>, %v: tensor<8xf32>) -> tensor<2x5xf32> {
  %p = attn.binary %v, %x {kind = #attn<binary mul>} : (tensor<8xf32>, tensor<2x5x8xf32>) -> tensor<2x5x8xf32>
  %s = attn.reduce %p {axis = -1 : i64, kind = #attn<reduce sum>} : (tensor<2x5x8xf32>) -> tensor<2x5xf32>
  return %s : tensor<2x5xf32>
}

// -----

// In a score region: the row's Σ v ⊙ tanh(...) (Tacotron2's v_a) becomes
// the dense layer the attention lowerings run as one dot product; the
// weight's reshape stays outside the region.
// CHECK-LABEL: func.func @score_vector
// CHECK: %[[W:.*]] = tensor.expand_shape %arg2
// CHECK: attn.attention
// CHECK: %[[T:.*]] = attn.activate
// CHECK: %[[E:.*]] = attn.dense %[[T]], %[[W]] : (tensor<8xf32>, tensor<1x8xf32>) -> tensor<1xf32>
// CHECK: attn.yield %[[E]]
func.func @score_vector(%s: tensor<2x8xf32>, %h: tensor<2x10x8xf32>, %v: tensor<8xf32>)
    -> tensor<2x8xf32> {
  %c, %a = attn.attention query(%s : tensor<2x8xf32>) keys(%h : tensor<2x10x8xf32>)
      values(%h : tensor<2x10x8xf32>) score {
  ^bb0(%q: tensor<8xf32>, %k: tensor<8xf32>):
    %sum = attn.binary %q, %k {kind = #attn<binary add>} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
    %t = attn.activate %sum {kind = #attn<activation tanh>} : tensor<8xf32>
    %p = attn.binary %v, %t {kind = #attn<binary mul>} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
    %e = attn.reduce %p {axis = 0 : i64, keepdim = true, kind = #attn<reduce sum>} : (tensor<8xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x8xf32>, tensor<2x10xf32>
  return %c : tensor<2x8xf32>
}

// -----

// Rows of the scored attention are no weights (Σ q ⊙ k, Luong's dot), nor is
// a reduction over another axis, a mean, or a product read twice.
// CHECK-LABEL: func.func @not_weighted_sums
// CHECK: attn.reduce %{{.*}} {axis = 0 : i64, keepdim = true, kind = #attn<reduce sum>}
// CHECK: attn.reduce %{{.*}} {axis = 1 : i64, kind = #attn<reduce sum>}
// CHECK: attn.reduce %{{.*}} {axis = 2 : i64, kind = #attn<reduce mean>}
// CHECK: attn.reduce %{{.*}} {axis = 2 : i64, kind = #attn<reduce sum>}
// CHECK-NOT: attn.dense
func.func @not_weighted_sums(%s: tensor<2x8xf32>, %h: tensor<2x10x8xf32>,
                             %x: tensor<2x8x8xf32>, %v: tensor<8xf32>)
    -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x8xf32>) {
  %c, %a = attn.attention query(%s : tensor<2x8xf32>) keys(%h : tensor<2x10x8xf32>)
      values(%h : tensor<2x10x8xf32>) score {
  ^bb0(%q: tensor<8xf32>, %k: tensor<8xf32>):
    %p = attn.binary %q, %k {kind = #attn<binary mul>} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
    %e = attn.reduce %p {axis = 0 : i64, keepdim = true, kind = #attn<reduce sum>} : (tensor<8xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x8xf32>, tensor<2x10xf32>
  %p1 = attn.binary %x, %v {kind = #attn<binary mul>} : (tensor<2x8x8xf32>, tensor<8xf32>) -> tensor<2x8x8xf32>
  %r1 = attn.reduce %p1 {axis = 1 : i64, kind = #attn<reduce sum>} : (tensor<2x8x8xf32>) -> tensor<2x8xf32>
  %p2 = attn.binary %x, %v {kind = #attn<binary mul>} : (tensor<2x8x8xf32>, tensor<8xf32>) -> tensor<2x8x8xf32>
  %r2 = attn.reduce %p2 {axis = 2 : i64, kind = #attn<reduce mean>} : (tensor<2x8x8xf32>) -> tensor<2x8xf32>
  %p3 = attn.binary %x, %v {kind = #attn<binary mul>} : (tensor<2x8x8xf32>, tensor<8xf32>) -> tensor<2x8x8xf32>
  %r3 = attn.reduce %p3 {axis = 2 : i64, kind = #attn<reduce sum>} : (tensor<2x8x8xf32>) -> tensor<2x8xf32>
  return %c, %r1, %r2, %r3, %p3 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x8xf32>
}
