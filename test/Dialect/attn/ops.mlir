// RUN: heed-opt %s | heed-opt | FileCheck %s
// Every attn op prints and parses back to itself.

// CHECK-LABEL: func @layers
func.func @layers(%x: tensor<4x30x128xf32>, %w: tensor<10x128xf32>,
                  %b: tensor<10xf32>) -> tensor<4x10x30xf32> {
  // CHECK: %[[D:.*]] = attn.dense %{{.*}}, %{{.*}}, %{{.*}} {activation = #attn<activation tanh>}
  %d = attn.dense %x, %w, %b {activation = #attn<activation tanh>}
      : (tensor<4x30x128xf32>, tensor<10x128xf32>, tensor<10xf32>) -> tensor<4x30x10xf32>
  // CHECK: attn.activate %[[D]] {kind = #attn<activation sigmoid>}
  %s = attn.activate %d {kind = #attn<activation sigmoid>} : tensor<4x30x10xf32>
  // CHECK: attn.softmax %{{.*}} {axis = 1 : i64}
  %m = attn.softmax %s {axis = 1 : i64} : tensor<4x30x10xf32>
  // CHECK: attn.permute %{{.*}} {perm = array<i64: 0, 2, 1>}
  %p = attn.permute %m {perm = array<i64: 0, 2, 1>}
      : (tensor<4x30x10xf32>) -> tensor<4x10x30xf32>
  return %p : tensor<4x10x30xf32>
}

// CHECK-LABEL: func @shapes
func.func @shapes(%s: tensor<4x64xf32>, %a: tensor<4x30x64xf32>) -> tensor<4x64xf32> {
  // CHECK: attn.repeat %{{.*}} {axis = 1 : i64, count = 30 : i64}
  %r = attn.repeat %s {axis = 1 : i64, count = 30 : i64}
      : (tensor<4x64xf32>) -> tensor<4x30x64xf32>
  // CHECK: attn.concat %{{.*}}, %{{.*}} {axis = 2 : i64}
  %c = attn.concat %r, %a {axis = 2 : i64}
      : (tensor<4x30x64xf32>, tensor<4x30x64xf32>) -> tensor<4x30x128xf32>
  // CHECK: attn.binary %{{.*}}, %{{.*}} {kind = #attn<binary mul>}
  %m = attn.binary %a, %r {kind = #attn<binary mul>}
      : (tensor<4x30x64xf32>, tensor<4x30x64xf32>) -> tensor<4x30x64xf32>
  // CHECK: attn.binary %{{.*}}, %{{.*}} {kind = #attn<binary ge>}
  %g = attn.binary %a, %r {kind = #attn<binary ge>}
      : (tensor<4x30x64xf32>, tensor<4x30x64xf32>) -> tensor<4x30x64xf32>
  // CHECK: attn.select %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x30x64xf32>, tensor<4x30x64xf32>, tensor<4x30x64xf32>) -> tensor<4x30x64xf32>
  %w = attn.select %g, %a, %m
      : (tensor<4x30x64xf32>, tensor<4x30x64xf32>, tensor<4x30x64xf32>) -> tensor<4x30x64xf32>
  // CHECK: attn.reduce %{{.*}} {axis = 1 : i64, keepdim = true, kind = #attn<reduce sum>}
  %k = attn.reduce %m {axis = 1 : i64, kind = #attn<reduce sum>, keepdim = true}
      : (tensor<4x30x64xf32>) -> tensor<4x1x64xf32>
  // CHECK: attn.squeeze %{{.*}} {axis = 1 : i64}
  %q = attn.squeeze %k {axis = 1 : i64} : (tensor<4x1x64xf32>) -> tensor<4x64xf32>
  return %q : tensor<4x64xf32>
}

// CHECK-LABEL: func @luong_dot
func.func @luong_dot(%q: tensor<?x64xf32>, %k: tensor<?x30x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x30xf32>) {
  // CHECK: attn.attention query(%{{.*}} : tensor<?x64xf32>) keys(%{{.*}} : tensor<?x30x64xf32>) values(%{{.*}} : tensor<?x30x64xf32>) attributes {normalization = #attn<normalization smoothing>} score {
  // CHECK: ^bb0(%{{.*}}: tensor<64xf32>, %{{.*}}: tensor<64xf32>):
  // CHECK: attn.yield %{{.*}} : tensor<1xf32>
  %ctx, %w = attn.attention query(%q : tensor<?x64xf32>) keys(%k : tensor<?x30x64xf32>)
      values(%k : tensor<?x30x64xf32>)
      attributes {normalization = #attn<normalization smoothing>} score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<?x64xf32>, tensor<?x30xf32>
  return %ctx, %w : tensor<?x64xf32>, tensor<?x30xf32>
}
