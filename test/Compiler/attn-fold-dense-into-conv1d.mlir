// RUN: heed-opt %s --split-input-file --attn-fold-dense-into-conv1d | FileCheck %s

// Tacotron2's location layer (32 -> 128) over its location convolution
// (1 channel, 31 taps, 32 filters): one convolution with 128 filters whose
// weights G = U·F and bias U·b_F + b_U come from the weights alone.
// CHECK-LABEL: func.func @location_layer
// CHECK-SAME: (%[[X:.*]]: tensor<1x200x1xf32>, %[[F:.*]]: tensor<32x1x31xf32>, %[[BF:.*]]: tensor<32xf32>, %[[U:.*]]: tensor<128x32xf32>, %[[BU:.*]]: tensor<128xf32>)
// CHECK: %[[TAPS:.*]] = attn.permute %[[F]] {perm = array<i64: 1, 2, 0>} : (tensor<32x1x31xf32>) -> tensor<1x31x32xf32>
// CHECK: %[[UF:.*]] = attn.dense %[[TAPS]], %[[U]] : (tensor<1x31x32xf32>, tensor<128x32xf32>) -> tensor<1x31x128xf32>
// CHECK: %[[G:.*]] = attn.permute %[[UF]] {perm = array<i64: 2, 0, 1>} : (tensor<1x31x128xf32>) -> tensor<128x1x31xf32>
// CHECK: %[[B:.*]] = attn.dense %[[BF]], %[[U]], %[[BU]] : (tensor<32xf32>, tensor<128x32xf32>, tensor<128xf32>) -> tensor<128xf32>
// CHECK: %[[Y:.*]] = attn.conv1d %[[X]], %[[G]], %[[B]] {pad_left = 15 : i64, pad_right = 15 : i64, stride = 1 : i64}
// CHECK-SAME: -> tensor<1x200x128xf32>
// CHECK-NOT: attn.conv1d
// CHECK: return %[[Y]]
func.func @location_layer(%x: tensor<1x200x1xf32>, %f: tensor<32x1x31xf32>, %bf: tensor<32xf32>,
                          %u: tensor<128x32xf32>, %bu: tensor<128xf32>) -> tensor<1x200x128xf32> {
  %c = attn.conv1d %x, %f, %bf {stride = 1 : i64, pad_left = 15 : i64, pad_right = 15 : i64}
      : (tensor<1x200x1xf32>, tensor<32x1x31xf32>, tensor<32xf32>) -> tensor<1x200x32xf32>
  %d = attn.dense %c, %u, %bu : (tensor<1x200x32xf32>, tensor<128x32xf32>, tensor<128xf32>) -> tensor<1x200x128xf32>
  return %d : tensor<1x200x128xf32>
}

// -----

// Composing would add work (101 channels x 15 taps x 64 outputs per step
// against 101 x 15 x 16 + 16 x 64): unchanged.
// CHECK-LABEL: func.func @wide_input
// CHECK: attn.conv1d
// CHECK: attn.dense
func.func @wide_input(%x: tensor<1x100x101xf32>, %f: tensor<16x101x15xf32>,
                      %u: tensor<64x16xf32>) -> tensor<1x86x64xf32> {
  %c = attn.conv1d %x, %f {stride = 1 : i64, pad_left = 0 : i64, pad_right = 0 : i64}
      : (tensor<1x100x101xf32>, tensor<16x101x15xf32>) -> tensor<1x86x16xf32>
  %d = attn.dense %c, %u : (tensor<1x86x16xf32>, tensor<64x16xf32>) -> tensor<1x86x64xf32>
  return %d : tensor<1x86x64xf32>
}

// -----

// The convolution is read elsewhere too: unchanged.
// CHECK-LABEL: func.func @shared_conv
// CHECK: attn.conv1d
// CHECK: attn.dense
func.func @shared_conv(%x: tensor<1x20x1xf32>, %f: tensor<8x1x5xf32>,
                       %u: tensor<16x8xf32>) -> (tensor<1x20x16xf32>, tensor<1x20x8xf32>) {
  %c = attn.conv1d %x, %f {stride = 1 : i64, pad_left = 2 : i64, pad_right = 2 : i64}
      : (tensor<1x20x1xf32>, tensor<8x1x5xf32>) -> tensor<1x20x8xf32>
  %d = attn.dense %c, %u : (tensor<1x20x8xf32>, tensor<16x8xf32>) -> tensor<1x20x16xf32>
  return %d, %c : tensor<1x20x16xf32>, tensor<1x20x8xf32>
}
