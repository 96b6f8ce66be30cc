// A score region with work on a captured weight only: the transpose of
// `q @ W_q` (Keras layout [Dq, U]) does not depend on the rows.
func.func @weight_work(%a: tensor<2x30x64xf32>, %s: tensor<2x32xf32>,
    %wq: tensor<32x10xf32>, %v: tensor<10xf32>)
    -> (tensor<2x64xf32>, tensor<2x30xf32>) {
  %ctx, %w = attn.attention query(%s : tensor<2x32xf32>) keys(%a : tensor<2x30x64xf32>)
      values(%a : tensor<2x30x64xf32>) score {
  ^bb0(%q: tensor<32xf32>, %k: tensor<64xf32>):
    %t = attn.permute %wq {perm = array<i64: 1, 0>} : (tensor<32x10xf32>) -> tensor<10x32xf32>
    %p = attn.dense %q, %t : (tensor<32xf32>, tensor<10x32xf32>) -> tensor<10xf32>
    %h = attn.activate %p {kind = #attn<activation tanh>} : tensor<10xf32>
    %m = attn.binary %h, %v {kind = #attn<binary mul>} : (tensor<10xf32>, tensor<10xf32>) -> tensor<10xf32>
    %e = attn.reduce %m {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true} : (tensor<10xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x64xf32>, tensor<2x30xf32>
  return %ctx, %w : tensor<2x64xf32>, tensor<2x30xf32>
}
