// RUN: heed-opt %s --split-input-file --attn-hoist-query-projections | FileCheck %s

// Bahdanau's W·s reads the query row alone: it becomes one dense layer over
// the whole query tensor, which becomes the op's query.
// CHECK-LABEL: func.func @additive
// CHECK: %[[WS:.*]] = attn.dense %arg0, %arg3 : (tensor<2x6xf32>, tensor<4x6xf32>) -> tensor<2x4xf32>
// CHECK: attn.attention query(%[[WS]] : tensor<2x4xf32>)
// CHECK: ^bb0(%[[Q:.*]]: tensor<4xf32>, %[[K:.*]]: tensor<8xf32>):
// CHECK-NOT: attn.dense %[[Q]]
// CHECK: %[[UK:.*]] = attn.dense %[[K]]
// CHECK: attn.binary %[[Q]], %[[UK]]
func.func @additive(%s: tensor<2x6xf32>, %h: tensor<2x10x8xf32>, %b: tensor<4xf32>,
                    %w: tensor<4x6xf32>, %u: tensor<4x8xf32>,
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

// A query sequence [B, Tq, Dq]: the projection covers every query of every
// row; a chain of query-only ops (dense, then tanh) is lifted whole.
// CHECK-LABEL: func.func @query_sequence
// CHECK: %[[WS:.*]] = attn.dense %arg0, %arg2 : (tensor<2x3x6xf32>, tensor<4x6xf32>) -> tensor<2x3x4xf32>
// CHECK: %[[T:.*]] = attn.activate %[[WS]] {kind = #attn<activation tanh>} : tensor<2x3x4xf32>
// CHECK: attn.attention query(%[[T]] : tensor<2x3x4xf32>)
// CHECK: ^bb0(%{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>):
func.func @query_sequence(%s: tensor<2x3x6xf32>, %h: tensor<2x10x4xf32>,
                          %w: tensor<4x6xf32>) -> tensor<2x3x4xf32> {
  %c, %a = attn.attention query(%s : tensor<2x3x6xf32>) keys(%h : tensor<2x10x4xf32>)
      values(%h : tensor<2x10x4xf32>) score {
  ^bb0(%q: tensor<6xf32>, %k: tensor<4xf32>):
    %wq = attn.dense %q, %w : (tensor<6xf32>, tensor<4x6xf32>) -> tensor<4xf32>
    %t = attn.activate %wq {kind = #attn<activation tanh>} : tensor<4xf32>
    %p = attn.binary %t, %k {kind = #attn<binary mul>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x3x4xf32>, tensor<2x3x10xf32>
  return %c : tensor<2x3x4xf32>
}

// -----

// The raw query row is read too (a dot product with the key beside W·s):
// the op is left alone.
// CHECK-LABEL: func.func @query_read_raw
// CHECK: attn.attention query(%arg0 : tensor<2x4xf32>)
// CHECK: ^bb0(%[[Q:.*]]: tensor<4xf32>, %{{.*}}: tensor<4xf32>):
// CHECK: attn.dense %[[Q]]
func.func @query_read_raw(%s: tensor<2x4xf32>, %h: tensor<2x10x4xf32>,
                          %w: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %c, %a = attn.attention query(%s : tensor<2x4xf32>) keys(%h : tensor<2x10x4xf32>)
      values(%h : tensor<2x10x4xf32>) score {
  ^bb0(%q: tensor<4xf32>, %k: tensor<4xf32>):
    %wq = attn.dense %q, %w : (tensor<4xf32>, tensor<4x4xf32>) -> tensor<4xf32>
    %p = attn.binary %q, %k {kind = #attn<binary mul>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %s2 = attn.binary %p, %wq {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %s2 {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x10xf32>
  return %c : tensor<2x4xf32>
}

// -----

// Nothing reads the query row alone (dense over concat(q, k)): unchanged.
// CHECK-LABEL: func.func @concat_score
// CHECK: attn.attention query(%arg0 : tensor<2x8xf32>)
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
