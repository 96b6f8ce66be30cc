// A raised seed-000 attention op, shared by the lowering tests.
func.func @attention(%a: tensor<2x30x64xf32>, %s: tensor<2x64xf32>,
    %w1: tensor<10x128xf32>, %b1: tensor<10xf32>, %w2: tensor<1x10xf32>,
    %b2: tensor<1xf32>) -> (tensor<2x64xf32>, tensor<2x30xf32>) {
  %ctx, %w = attn.attention query(%s : tensor<2x64xf32>) keys(%a : tensor<2x30x64xf32>)
      values(%a : tensor<2x30x64xf32>) score {
  ^bb0(%q: tensor<64xf32>, %k: tensor<64xf32>):
    %c = attn.concat %q, %k {axis = 0 : i64} : (tensor<64xf32>, tensor<64xf32>) -> tensor<128xf32>
    %h = attn.dense %c, %w1, %b1 {activation = #attn<activation tanh>} : (tensor<128xf32>, tensor<10x128xf32>, tensor<10xf32>) -> tensor<10xf32>
    %e = attn.dense %h, %w2, %b2 {activation = #attn<activation relu>} : (tensor<10xf32>, tensor<1x10xf32>, tensor<1xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x64xf32>, tensor<2x30xf32>
  return %ctx, %w : tensor<2x64xf32>, tensor<2x30xf32>
}
