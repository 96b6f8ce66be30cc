// RUN: heed-opt %s | heed-opt | FileCheck %s
// Round trip of the recurrent and sequence ops, with inferred result types.

// CHECK-LABEL: func @bilstm
func.func @bilstm(%x: tensor<2x30x37xf32>, %wi: tensor<128x37xf32>,
                  %wh: tensor<128x32xf32>, %b: tensor<128xf32>)
    -> tensor<2x30x64xf32> {
  // CHECK: attn.lstm %{{.*}} weights(
  // CHECK-SAME: direction = #attn<direction bidirectional_concat>
  // CHECK-SAME: -> (tensor<2x30x64xf32>, tensor<2x2x32xf32>, tensor<2x2x32xf32>)
  %y, %h, %c = attn.lstm %x weights(%wi, %wh, %b, %b, %wi, %wh, %b, %b)
      {direction = #attn<direction bidirectional_concat>, hidden_size = 32 : i64}
      : (tensor<2x30x37xf32>, tensor<128x37xf32>, tensor<128x32xf32>,
         tensor<128xf32>, tensor<128xf32>, tensor<128x37xf32>,
         tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>)
      -> (tensor<2x30x64xf32>, tensor<2x2x32xf32>, tensor<2x2x32xf32>)
  return %y : tensor<2x30x64xf32>
}

// CHECK-LABEL: func @gru_with_state
func.func @gru_with_state(%x: tensor<1x50x8xf32>, %h0: tensor<1x1x16xf32>,
                          %wi: tensor<48x8xf32>, %wh: tensor<48x16xf32>,
                          %b: tensor<48xf32>) -> tensor<1x1x16xf32> {
  // CHECK: attn.gru %{{.*}} init(%{{.*}}) weights(
  %y, %h = attn.gru %x init(%h0) weights(%wi, %wh, %b, %b)
      {direction = #attn<direction reverse>, hidden_size = 16 : i64}
      : (tensor<1x50x8xf32>, tensor<1x1x16xf32>, tensor<48x8xf32>,
         tensor<48x16xf32>, tensor<48xf32>, tensor<48xf32>)
      -> (tensor<1x50x16xf32>, tensor<1x1x16xf32>)
  return %h : tensor<1x1x16xf32>
}

// CHECK-LABEL: func @gru_with_lengths
func.func @gru_with_lengths(%x: tensor<2x50x8xf32>, %len: tensor<2xf32>,
                            %h0: tensor<1x2x16xf32>, %wi: tensor<48x8xf32>,
                            %wh: tensor<48x16xf32>, %b: tensor<48xf32>)
    -> tensor<1x2x16xf32> {
  // CHECK: attn.gru %{{.*}} lengths(%{{.*}}) init(%{{.*}}) weights(
  %y, %h = attn.gru %x lengths(%len) init(%h0) weights(%wi, %wh, %b, %b)
      {direction = #attn<direction forward>, hidden_size = 16 : i64}
      : (tensor<2x50x8xf32>, tensor<2xf32>, tensor<1x2x16xf32>,
         tensor<48x8xf32>, tensor<48x16xf32>, tensor<48xf32>, tensor<48xf32>)
      -> (tensor<2x50x16xf32>, tensor<1x2x16xf32>)
  return %h : tensor<1x2x16xf32>
}

// CHECK-LABEL: func @cells
func.func @cells(%x: tensor<4x8xf32>, %h: tensor<4x16xf32>,
                 %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>, %b: tensor<64xf32>,
                 %gi: tensor<48x8xf32>, %gh: tensor<48x16xf32>, %gb: tensor<48xf32>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  // CHECK: attn.lstm_cell
  %h1, %c1 = attn.lstm_cell %x, %h, %h weights(%wi, %wh, %b, %b)
      : (tensor<4x8xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<64x8xf32>,
         tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<4x16xf32>, tensor<4x16xf32>)
  // CHECK: attn.gru_cell
  %h2 = attn.gru_cell %x, %h1 weights(%gi, %gh, %gb, %gb)
      : (tensor<4x8xf32>, tensor<4x16xf32>, tensor<48x8xf32>, tensor<48x16xf32>,
         tensor<48xf32>, tensor<48xf32>) -> tensor<4x16xf32>
  return %h2, %c1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// CHECK-LABEL: func @conv_bn_embed_argmax
func.func @conv_bn_embed_argmax(%x: tensor<1x5511x101xf32>,
    %w: tensor<196x101x15xf32>, %b: tensor<196xf32>, %ids: tensor<2x7xf32>,
    %table: tensor<100x8xf32>) -> (tensor<1x1375x196xf32>, tensor<2x7xf32>) {
  // CHECK: attn.conv1d {{.*}} -> tensor<1x1375x196xf32>
  %y = attn.conv1d %x, %w, %b {stride = 4 : i64, pad_left = 0 : i64, pad_right = 0 : i64}
      : (tensor<1x5511x101xf32>, tensor<196x101x15xf32>, tensor<196xf32>)
      -> tensor<1x1375x196xf32>
  // CHECK: attn.batch_norm {{.*}} {epsilon = 1.000000e-03 : f32}
  %n = attn.batch_norm %y, %b, %b, %b, %b {epsilon = 1.0e-03 : f32}
      : (tensor<1x1375x196xf32>, tensor<196xf32>, tensor<196xf32>,
         tensor<196xf32>, tensor<196xf32>) -> tensor<1x1375x196xf32>
  // CHECK: attn.embedding {{.*}} -> tensor<2x7x8xf32>
  %e = attn.embedding %ids, %table : (tensor<2x7xf32>, tensor<100x8xf32>) -> tensor<2x7x8xf32>
  // CHECK: attn.argmax {{.*}} -> tensor<2x7xf32>
  %a = attn.argmax %e : (tensor<2x7x8xf32>) -> tensor<2x7xf32>
  return %n, %a : tensor<1x1375x196xf32>, tensor<2x7xf32>
}

// CHECK-LABEL: func @topk
func.func @topk(%x: tensor<2x7x8xf32>) -> (tensor<2x7x2xf32>, tensor<2x7x2xf32>) {
  // CHECK: attn.topk {{.*}} {k = 2 : i64} : (tensor<2x7x8xf32>) -> (tensor<2x7x2xf32>, tensor<2x7x2xf32>)
  %v, %i = attn.topk %x {k = 2 : i64} : (tensor<2x7x8xf32>) -> (tensor<2x7x2xf32>, tensor<2x7x2xf32>)
  return %v, %i : tensor<2x7x2xf32>, tensor<2x7x2xf32>
}

// CHECK-LABEL: func @gather_rows
func.func @gather_rows(%x: tensor<32x16x64xf32>, %rows: tensor<8xf32>) -> tensor<8x16x64xf32> {
  // CHECK: attn.gather_rows {{.*}} -> tensor<8x16x64xf32>
  %y = attn.gather_rows %x, %rows : (tensor<32x16x64xf32>, tensor<8xf32>) -> tensor<8x16x64xf32>
  return %y : tensor<8x16x64xf32>
}
