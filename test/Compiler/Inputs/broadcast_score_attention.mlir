// Score regions whose query and key rows meet only late: an additive score
// (W·q + U·k) and a concatenation, each over a sequence of 3 queries.
func.func @additive_sequence(%s: tensor<2x3x6xf32>, %h: tensor<2x10x8xf32>,
    %w: tensor<4x6xf32>, %u: tensor<4x8xf32>, %v: tensor<1x4xf32>)
    -> (tensor<2x3x8xf32>, tensor<2x3x10xf32>) {
  %c, %a = attn.attention query(%s : tensor<2x3x6xf32>) keys(%h : tensor<2x10x8xf32>)
      values(%h : tensor<2x10x8xf32>) score {
  ^bb0(%q: tensor<6xf32>, %k: tensor<8xf32>):
    %wq = attn.dense %q, %w : (tensor<6xf32>, tensor<4x6xf32>) -> tensor<4xf32>
    %uk = attn.dense %k, %u : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4xf32>
    %sum = attn.binary %wq, %uk {kind = #attn<binary add>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %t = attn.activate %sum {kind = #attn<activation tanh>} : tensor<4xf32>
    %e = attn.dense %t, %v : (tensor<4xf32>, tensor<1x4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x3x8xf32>, tensor<2x3x10xf32>
  return %c, %a : tensor<2x3x8xf32>, tensor<2x3x10xf32>
}

func.func @concat_sequence(%s: tensor<2x3x6xf32>, %h: tensor<2x10x8xf32>,
    %w: tensor<1x14xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x10xf32>) {
  %c, %a = attn.attention query(%s : tensor<2x3x6xf32>) keys(%h : tensor<2x10x8xf32>)
      values(%h : tensor<2x10x8xf32>) score {
  ^bb0(%q: tensor<6xf32>, %k: tensor<8xf32>):
    %t = attn.activate %q {kind = #attn<activation tanh>} : tensor<6xf32>
    %cat = attn.concat %t, %k {axis = 0 : i64} : (tensor<6xf32>, tensor<8xf32>) -> tensor<14xf32>
    %e = attn.dense %cat, %w : (tensor<14xf32>, tensor<1x14xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x3x8xf32>, tensor<2x3x10xf32>
  return %c, %a : tensor<2x3x8xf32>, tensor<2x3x10xf32>
}
