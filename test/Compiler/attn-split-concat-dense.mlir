// RUN: heed-opt %s --split-input-file --attn-split-concat-dense=min-size=0 | FileCheck %s
// RUN: heed-opt %s --split-input-file --attn-split-concat-dense | FileCheck %s --check-prefix=SMALL

// By default a 3 × 10 layer is left whole (one thread computes it per
// step faster than two more launches would).
// SMALL-LABEL: func.func @network
// SMALL-NOT: tensor.extract_slice
// SMALL: attn.concat
// SMALL: attn.dense

// Seed 001's score over [q; k]: the first layer becomes a product of the
// query over the weight's first 4 columns (with the bias), plus one of the
// key over the other 6 (sliced once, before the op), then tanh. The
// concatenation is gone; the second layer is left as it was.
// CHECK-LABEL: func.func @network
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x4xf32>, %[[K:[^:]*]]: tensor<2x5x6xf32>, %[[W1:[^:]*]]: tensor<3x10xf32>, %[[B1:[^:]*]]: tensor<3xf32>, %[[W2:[^:]*]]: tensor<1x3xf32>)
// CHECK-DAG: %[[WQ:[^ ]*]] = tensor.extract_slice %[[W1]][0, 0] [3, 4] [1, 1]
// CHECK-DAG: %[[WK:[^ ]*]] = tensor.extract_slice %[[W1]][0, 4] [3, 6] [1, 1]
// CHECK: attn.attention
// CHECK: ^bb0(%[[QR:[^:]*]]: tensor<4xf32>, %[[KR:[^:]*]]: tensor<6xf32>):
// CHECK-NOT: attn.concat
// CHECK: %[[HQ:[^ ]*]] = attn.dense %[[QR]], %[[WQ]], %[[B1]] :
// CHECK: %[[HK:[^ ]*]] = attn.dense %[[KR]], %[[WK]] :
// CHECK: %[[S:[^ ]*]] = attn.binary %[[HQ]], %[[HK]] {kind = #attn<binary add>}
// CHECK: %[[H:[^ ]*]] = attn.activate %[[S]] {kind = #attn<activation tanh>}
// CHECK: attn.dense %[[H]], %[[W2]] {activation = #attn<activation relu>}
func.func @network(%q: tensor<2x4xf32>, %k: tensor<2x5x6xf32>,
                   %w1: tensor<3x10xf32>, %b1: tensor<3xf32>,
                   %w2: tensor<1x3xf32>) -> tensor<2x6xf32> {
  %c, %w = attn.attention query(%q : tensor<2x4xf32>)
      keys(%k : tensor<2x5x6xf32>) values(%k : tensor<2x5x6xf32>) score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<6xf32>):
    %x = attn.concat %qr, %kr {axis = 0 : i64}
        : (tensor<4xf32>, tensor<6xf32>) -> tensor<10xf32>
    %h = attn.dense %x, %w1, %b1 {activation = #attn<activation tanh>}
        : (tensor<10xf32>, tensor<3x10xf32>, tensor<3xf32>) -> tensor<3xf32>
    %e = attn.dense %h, %w2 {activation = #attn<activation relu>}
        : (tensor<3xf32>, tensor<1x3xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x6xf32>, tensor<2x5xf32>
  return %c : tensor<2x6xf32>
}

// -----

// A weight computed inside the region cannot be sliced before the op, and
// a concatenation no dense layer reads stays as it is.
// CHECK-LABEL: func.func @left_alone
// CHECK: attn.concat
// CHECK: attn.dense %{{[^,]*}}, %{{[^ ]*}} :
// CHECK-NOT: tensor.extract_slice
// CHECK: attn.concat
// CHECK: attn.reduce
func.func @left_alone(%q: tensor<2x4xf32>, %k: tensor<2x5x4xf32>,
                      %w1: tensor<8x1xf32>) -> tensor<2x4xf32> {
  %c, %w = attn.attention query(%q : tensor<2x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>) score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %x = attn.concat %qr, %kr {axis = 0 : i64}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
    %wt = attn.permute %w1 {perm = array<i64: 1, 0>} : (tensor<8x1xf32>) -> tensor<1x8xf32>
    %e = attn.dense %x, %wt : (tensor<8xf32>, tensor<1x8xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x5xf32>
  %c2, %w2 = attn.attention query(%q : tensor<2x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>) score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %x = attn.concat %qr, %kr {axis = 0 : i64}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
    %e = attn.reduce %x {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<8xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x5xf32>
  return %c : tensor<2x4xf32>
}
