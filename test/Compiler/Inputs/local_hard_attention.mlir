// Luong local-p attention with hard selection: one query per row, a
// position per row, half-width 2.
func.func @local_hard(%q: tensor<3x8xf32>, %k: tensor<3x10x8xf32>, %p: tensor<3xf32>)
    -> (tensor<3x8xf32>, tensor<3x10xf32>) {
  %c, %w = attn.attention query(%q : tensor<3x8xf32>) keys(%k : tensor<3x10x8xf32>)
      values(%k : tensor<3x10x8xf32>) previous(%p : tensor<3xf32>)
      attributes {constraint = #attn<constraint local_p>, window = 2 : i64, hard} score {
  ^bb0(%qr: tensor<8xf32>, %kr: tensor<8xf32>):
    %m = attn.binary %qr, %kr {kind = #attn<binary mul>} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
    %e = attn.reduce %m {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<8xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<3x8xf32>, tensor<3x10xf32>
  return %c, %w : tensor<3x8xf32>, tensor<3x10xf32>
}
