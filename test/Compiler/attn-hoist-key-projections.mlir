// RUN: heed-opt %s --split-input-file --attn-hoist-key-projections | FileCheck %s

// Bahdanau's U·h + b reads key rows only: it becomes one dense layer over
// the whole key tensor, passed to the region as a second key tensor.
// CHECK-LABEL: func.func @additive
// CHECK: %[[UH:.*]] = attn.dense %[[H:.*]], %{{.*}}, %{{.*}} : (tensor<2x10x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x10x4xf32>
// CHECK: attn.attention query(%{{.*}}) keys(%[[H]], %[[UH]] : tensor<2x10x8xf32>, tensor<2x10x4xf32>)
// CHECK: ^bb0(%[[Q:.*]]: tensor<6xf32>, %{{.*}}: tensor<8xf32>, %[[UROW:.*]]: tensor<4xf32>):
// CHECK: %[[WQ:.*]] = attn.dense %[[Q]]
// CHECK: attn.binary %[[WQ]], %[[UROW]]
func.func @additive(%s: tensor<2x6xf32>, %h: tensor<2x10x8xf32>,
                    %w: tensor<4x6xf32>, %u: tensor<4x8xf32>, %b: tensor<4xf32>,
                    %v: tensor<1x4xf32>) -> tensor<2x8xf32> {
  %c, %a = attn.attention query(%s : tensor<2x6xf32>) keys(%h : tensor<2x10x8xf32>)
      values(%h : tensor<2x10x8xf32>) score {
  ^bb0(%q: tensor<6xf32>, %k: tensor<8xf32>):
    %wq = attn.dense %q, %w : (tensor<6xf32>, tensor<4x6xf32>) -> tensor<4xf32>
    %uk = attn.dense %k, %u, %b : (tensor<8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<4xf32>
    %sum = attn.binary %wq, %uk {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %t = attn.activate %sum {kind = #attn<activation tanh>} : tensor<4xf32>
    %e = attn.dense %t, %v : (tensor<4xf32>, tensor<1x4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x8xf32>, tensor<2x10xf32>
  return %c : tensor<2x8xf32>
}

// -----

// Nothing reads the key row alone (dense over concat(q, k)): unchanged.
// CHECK-LABEL: func.func @concat_score
// CHECK: attn.attention query(%{{.*}}) keys(%{{.*}} : tensor<2x10x8xf32>)
func.func @concat_score(%s: tensor<2x8xf32>, %h: tensor<2x10x8xf32>,
                        %w: tensor<1x16xf32>) -> tensor<2x8xf32> {
  %c, %a = attn.attention query(%s : tensor<2x8xf32>) keys(%h : tensor<2x10x8xf32>)
      values(%h : tensor<2x10x8xf32>) score {
  ^bb0(%q: tensor<8xf32>, %k: tensor<8xf32>):
    %qk = attn.concat %q, %k {axis = 0 : i64} : (tensor<8xf32>, tensor<8xf32>) -> tensor<16xf32>
    %e = attn.dense %qk, %w : (tensor<16xf32>, tensor<1x16xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x8xf32>, tensor<2x10xf32>
  return %c : tensor<2x8xf32>
}

// -----

// Location features read only through the location layer: the layer is
// lifted and the raw features leave the op (the memory stays).
// CHECK-LABEL: func.func @location_features
// CHECK: %[[UF:.*]] = attn.dense %[[F:.*]], %{{.*}}, %{{.*}} : (tensor<2x10x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<2x10x4xf32>
// CHECK: attn.attention query(%{{.*}}) keys(%[[H:.*]], %[[UF]] : tensor<2x10x4xf32>, tensor<2x10x4xf32>)
// CHECK: ^bb0(%{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>):
func.func @location_features(%s: tensor<2x4xf32>, %h: tensor<2x10x4xf32>,
                             %f: tensor<2x10x3xf32>, %u: tensor<4x3xf32>,
                             %b: tensor<4xf32>, %v: tensor<1x4xf32>) -> tensor<2x4xf32> {
  %c, %a = attn.attention query(%s : tensor<2x4xf32>) keys(%h, %f : tensor<2x10x4xf32>, tensor<2x10x3xf32>)
      values(%h : tensor<2x10x4xf32>) score {
  ^bb0(%q: tensor<4xf32>, %k: tensor<4xf32>, %fr: tensor<3xf32>):
    %uf = attn.dense %fr, %u, %b : (tensor<3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<4xf32>
    %qk = attn.binary %q, %k {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %sum = attn.binary %qk, %uf {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %t = attn.activate %sum {kind = #attn<activation tanh>} : tensor<4xf32>
    %e = attn.dense %t, %v : (tensor<4xf32>, tensor<1x4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x10xf32>
  return %c : tensor<2x4xf32>
}

// -----

// Keras-layout weights used as `k @ U_a + b_a`: the transpose reads the
// weight alone, so it moves in front of the op, and the key work it feeds
// is lifted as with a dense layer.
// CHECK-LABEL: func.func @keras_layout_weight
// CHECK: %[[UT:.*]] = attn.permute %arg4 {perm = array<i64: 1, 0>} : (tensor<8x4xf32>) -> tensor<4x8xf32>
// CHECK: %[[UH:.*]] = attn.dense %arg1, %[[UT]] : (tensor<2x10x8xf32>, tensor<4x8xf32>) -> tensor<2x10x4xf32>
// CHECK: %[[UHB:.*]] = attn.binary %[[UH]], %arg5
// CHECK: attn.attention query(%{{.*}}) keys(%arg1, %[[UHB]] : tensor<2x10x8xf32>, tensor<2x10x4xf32>)
// CHECK-NOT: attn.permute %arg4
// CHECK: attn.yield
func.func @keras_layout_weight(%s: tensor<2x4xf32>, %h: tensor<2x10x8xf32>,
                               %v: tensor<4xf32>, %w: tensor<4x4xf32>,
                               %u: tensor<8x4xf32>, %b: tensor<4xf32>) -> tensor<2x8xf32> {
  %c, %a = attn.attention query(%s : tensor<2x4xf32>) keys(%h : tensor<2x10x8xf32>)
      values(%h : tensor<2x10x8xf32>) score {
  ^bb0(%q: tensor<4xf32>, %k: tensor<8xf32>):
    %ut = attn.permute %u {perm = array<i64: 1, 0>} : (tensor<8x4xf32>) -> tensor<4x8xf32>
    %uk = attn.dense %k, %ut : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4xf32>
    %ukb = attn.binary %uk, %b {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %sum = attn.binary %q, %ukb {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %t = attn.activate %sum {kind = #attn<activation tanh>} : tensor<4xf32>
    %vt = attn.binary %v, %t {kind = #attn<binary mul>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %vt {axis = 0 : i64, keepdim = true, kind = #attn<reduce sum>} : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x8xf32>, tensor<2x10xf32>
  return %c : tensor<2x8xf32>
}

// -----

// Keys picked from a whole batch by row numbers (a decoder loop on its live
// rows): U·h + b runs on the whole batch and its rows are picked by the
// same row numbers, so LICM can move the dense layer out of the loop.
// CHECK-LABEL: func.func @picked_rows
// CHECK-SAME: (%{{.*}}: tensor<3x6xf32>, %[[WHOLE:.*]]: tensor<8x10x8xf32>, %[[ROWS:[^:]*]]: tensor<3xf32>
// CHECK: %[[UH:.*]] = attn.dense %[[WHOLE]], %{{.*}}, %{{.*}} : (tensor<8x10x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<8x10x4xf32>
// CHECK: %[[PICKED:.*]] = attn.gather_rows %[[UH]], %[[ROWS]] : (tensor<8x10x4xf32>, tensor<3xf32>) -> tensor<3x10x4xf32>
// CHECK: attn.attention query(%{{.*}}) keys(%{{.*}}, %[[PICKED]] : tensor<3x10x8xf32>, tensor<3x10x4xf32>)
func.func @picked_rows(%s: tensor<3x6xf32>, %whole: tensor<8x10x8xf32>,
                       %rows: tensor<3xf32>,
                       %w: tensor<4x6xf32>, %u: tensor<4x8xf32>, %b: tensor<4xf32>,
                       %v: tensor<1x4xf32>) -> tensor<3x8xf32> {
  %h = attn.gather_rows %whole, %rows : (tensor<8x10x8xf32>, tensor<3xf32>) -> tensor<3x10x8xf32>
  %c, %a = attn.attention query(%s : tensor<3x6xf32>) keys(%h : tensor<3x10x8xf32>)
      values(%h : tensor<3x10x8xf32>) score {
  ^bb0(%q: tensor<6xf32>, %k: tensor<8xf32>):
    %wq = attn.dense %q, %w : (tensor<6xf32>, tensor<4x6xf32>) -> tensor<4xf32>
    %uk = attn.dense %k, %u, %b : (tensor<8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<4xf32>
    %sum = attn.binary %wq, %uk {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %t = attn.activate %sum {kind = #attn<activation tanh>} : tensor<4xf32>
    %e = attn.dense %t, %v : (tensor<4xf32>, tensor<1x4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<3x8xf32>, tensor<3x10xf32>
  return %c : tensor<3x8xf32>
}
