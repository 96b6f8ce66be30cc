// RUN: heed-opt %s --split-input-file --heed-lower-dot-attention-to-gpu | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-lower-dot-attention-to-gpu="precision=bf16 async-copy=false" | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-lower-dot-attention-to-gpu=precision=bf16 | FileCheck %s --check-prefix=BF16
// RUN: not heed-opt %s --heed-lower-dot-attention-to-gpu=precision=bf8 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: heed-lower-dot-attention-to-gpu

// Scaled dot-product attention with lengths and the causal mask: the
// operands are read through to_buffer, the context is a fresh buffer the
// call writes, and the declaration carries the scale and the mask.
// CHECK-LABEL: func.func @scaled_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<2x70x64xf32>, %[[K:.*]]: tensor<2x70x64xf32>, %[[V:.*]]: tensor<2x70x32xf32>, %[[L:.*]]: tensor<2xf32>)
// CHECK-NOT: attn.attention
// CHECK-DAG: %[[QB:.*]] = bufferization.to_buffer %[[Q]] read_only : tensor<2x70x64xf32> to memref<2x70x64xf32>
// CHECK-DAG: %[[KB:.*]] = bufferization.to_buffer %[[K]] read_only
// CHECK-DAG: %[[VB:.*]] = bufferization.to_buffer %[[V]] read_only
// CHECK-DAG: %[[LB:.*]] = bufferization.to_buffer %[[L]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x70x32xf32>
// CHECK: call @heed_flash_attention_0(%[[QB]], %[[KB]], %[[VB]], %[[LB]], %[[OUT]])
// CHECK: %[[CTX:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[CTX]]
// CHECK: func.func private @heed_flash_attention_0(memref<2x70x64xf32>, memref<2x70x64xf32>, memref<2x70x32xf32>, memref<2xf32>, memref<2x70x32xf32>)
// CHECK-SAME: heed.flash_attention = {causal = true, heads = array<i64: 0, 0, 0, 0>, scale = 1.250000e-01 : f32}
// With precision=bf16 (the tensor-core kernel copies its key and value
// tiles by cp.async), the keys and values are rounded before the call,
// each by an element-wise op; the queries stay f32.
// BF16-LABEL: func.func @scaled_causal
// BF16-SAME: (%[[Q:.*]]: tensor<2x70x64xf32>, %[[K:.*]]: tensor<2x70x64xf32>, %[[V:.*]]: tensor<2x70x32xf32>, %{{.*}}: tensor<2xf32>)
// BF16: %[[KR:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<2x70x64xf32>) outs(%{{.*}} : tensor<2x70x64xbf16>)
// BF16: arith.truncf %{{.*}} : f32 to bf16
// BF16: %[[VR:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<2x70x32xf32>) outs(%{{.*}} : tensor<2x70x32xbf16>)
// BF16-DAG: bufferization.to_buffer %[[Q]] read_only : tensor<2x70x64xf32> to memref<2x70x64xf32>
// BF16-DAG: bufferization.to_buffer %[[KR]] read_only : tensor<2x70x64xbf16> to memref<2x70x64xbf16>
// BF16-DAG: bufferization.to_buffer %[[VR]] read_only : tensor<2x70x32xbf16> to memref<2x70x32xbf16>
// BF16: func.func private @heed_flash_attention_0(memref<2x70x64xf32>, memref<2x70x64xbf16>, memref<2x70x32xbf16>, memref<2xf32>, memref<2x70x32xf32>)
func.func @scaled_causal(%q: tensor<2x70x64xf32>, %k: tensor<2x70x64xf32>,
                         %v: tensor<2x70x32xf32>, %len: tensor<2xf32>)
    -> tensor<2x70x32xf32> {
  %c, %w = attn.attention query(%q : tensor<2x70x64xf32>)
      keys(%k : tensor<2x70x64xf32>) values(%v : tensor<2x70x32xf32>)
      lengths(%len : tensor<2xf32>) attributes {causal} score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    %s = arith.constant dense<8.0> : tensor<1xf32>
    %y = attn.binary %e, %s {kind = #attn<binary div>}
        : (tensor<1xf32>, tensor<1xf32>) -> tensor<1xf32>
    attn.yield %y : tensor<1xf32>
  } : tensor<2x70x32xf32>, tensor<2x70x70xf32>
  return %c : tensor<2x70x32xf32>
}

// -----

// Attention whose weights are used (the kernel never forms them) is left
// for the decomposition.
// CHECK-LABEL: func.func @weights_used
// CHECK: attn.attention
// CHECK-NOT: func.func private @heed_flash_attention
func.func @weights_used(%q: tensor<2x3x16xf32>, %k: tensor<2x5x16xf32>)
    -> (tensor<2x3x16xf32>, tensor<2x3x5xf32>) {
  %c, %w = attn.attention query(%q : tensor<2x3x16xf32>)
      keys(%k : tensor<2x5x16xf32>) values(%k : tensor<2x5x16xf32>) score {
  ^bb0(%qr: tensor<16xf32>, %kr: tensor<16xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<16xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x3x16xf32>, tensor<2x3x5xf32>
  return %c, %w : tensor<2x3x16xf32>, tensor<2x3x5xf32>
}

// -----

// A score that is not a dot product (tanh of it) is left alone.
// CHECK-LABEL: func.func @not_a_dot_product
// CHECK: attn.attention
// CHECK-NOT: func.func private @heed_flash_attention
func.func @not_a_dot_product(%q: tensor<2x3x16xf32>, %k: tensor<2x5x16xf32>)
    -> tensor<2x3x16xf32> {
  %c, %w = attn.attention query(%q : tensor<2x3x16xf32>)
      keys(%k : tensor<2x5x16xf32>) values(%k : tensor<2x5x16xf32>) score {
  ^bb0(%qr: tensor<16xf32>, %kr: tensor<16xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<16xf32>) -> tensor<1xf32>
    %t = attn.activate %e {kind = #attn<activation tanh>} : tensor<1xf32>
    attn.yield %t : tensor<1xf32>
  } : tensor<2x3x16xf32>, tensor<2x3x5xf32>
  return %c : tensor<2x3x16xf32>
}

// -----

// Query and context rows of 192 floats each: more than a thread keeps in
// registers (D + Dv > 256), so the decomposition takes it.
// CHECK-LABEL: func.func @rows_too_wide
// CHECK: attn.attention
// CHECK-NOT: func.func private @heed_flash_attention
func.func @rows_too_wide(%q: tensor<2x3x192xf32>, %k: tensor<2x5x192xf32>)
    -> tensor<2x3x192xf32> {
  %c, %w = attn.attention query(%q : tensor<2x3x192xf32>)
      keys(%k : tensor<2x5x192xf32>) values(%k : tensor<2x5x192xf32>) score {
  ^bb0(%qr: tensor<192xf32>, %kr: tensor<192xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<192xf32>, tensor<192xf32>) -> tensor<192xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<192xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x3x192xf32>, tensor<2x3x5xf32>
  return %c : tensor<2x3x192xf32>
}

// -----

// Two heads of 32 split from x [2, 10, 64] (expand, permute, collapse) for
// the query, keys and values, and the context merged back: the kernel
// reads x in place and writes the merged [2, 10, 64] context, so neither
// the split nor the merge is left (heads = 2 for all four buffers).
// CHECK-LABEL: func.func @heads_in_place
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x10x64xf32>)
// CHECK-COUNT-3: bufferization.to_buffer %[[X]] read_only : tensor<2x10x64xf32> to memref<2x10x64xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x10x64xf32>
// CHECK: call @heed_flash_attention_0({{.*}}, %[[OUT]])
// CHECK: %[[CTX:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<2x10x64xf32> to tensor<2x10x64xf32>
// CHECK-NOT: attn.permute
// CHECK: return %[[CTX]]
// CHECK: func.func private @heed_flash_attention_0(memref<2x10x64xf32>, memref<2x10x64xf32>, memref<2x10x64xf32>, memref<2x10x64xf32>)
// CHECK-SAME: heads = array<i64: 2, 2, 2, 2>
// Rounded for the tensor-core kernel, keys and values that are heads of
// one projection are rounded once, as that projection.
// BF16-LABEL: func.func @heads_in_place
// BF16-SAME: (%[[X:[^:]*]]: tensor<2x10x64xf32>)
// BF16: %[[XR:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<2x10x64xf32>) outs(%{{.*}} : tensor<2x10x64xbf16>)
// BF16-NOT: linalg.generic
// BF16-COUNT-2: bufferization.to_buffer %[[XR]] read_only : tensor<2x10x64xbf16> to memref<2x10x64xbf16>
// BF16: func.func private @heed_flash_attention_0(memref<2x10x64xf32>, memref<2x10x64xbf16>, memref<2x10x64xbf16>, memref<2x10x64xf32>)
func.func @heads_in_place(%x: tensor<2x10x64xf32>) -> tensor<2x10x64xf32> {
  %e = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [2, 10, 2, 32]
      : tensor<2x10x64xf32> into tensor<2x10x2x32xf32>
  %p = attn.permute %e {perm = array<i64: 0, 2, 1, 3>}
      : (tensor<2x10x2x32xf32>) -> tensor<2x2x10x32xf32>
  %h = tensor.collapse_shape %p [[0, 1], [2], [3]]
      : tensor<2x2x10x32xf32> into tensor<4x10x32xf32>
  %c, %w = attn.attention query(%h : tensor<4x10x32xf32>)
      keys(%h : tensor<4x10x32xf32>) values(%h : tensor<4x10x32xf32>) score {
  ^bb0(%qr: tensor<32xf32>, %kr: tensor<32xf32>):
    %m = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
    %r = attn.reduce %m {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<32xf32>) -> tensor<1xf32>
    attn.yield %r : tensor<1xf32>
  } : tensor<4x10x32xf32>, tensor<4x10x10xf32>
  %ce = tensor.expand_shape %c [[0, 1], [2], [3]] output_shape [2, 2, 10, 32]
      : tensor<4x10x32xf32> into tensor<2x2x10x32xf32>
  %cp = attn.permute %ce {perm = array<i64: 0, 2, 1, 3>}
      : (tensor<2x2x10x32xf32>) -> tensor<2x10x2x32xf32>
  %cm = tensor.collapse_shape %cp [[0], [1], [2, 3]]
      : tensor<2x10x2x32xf32> into tensor<2x10x64xf32>
  return %cm : tensor<2x10x64xf32>
}

// -----

// Heads of 24 (not a multiple of 16) keep the f32 kernel, whose keys and
// values stay f32.
// CHECK-LABEL: func.func @odd_depth
// CHECK: func.func private @heed_flash_attention_0(memref<2x3x24xf32>, memref<2x5x24xf32>, memref<2x5x24xf32>, memref<2x3x24xf32>)
// BF16-LABEL: func.func @odd_depth
// BF16-NOT: linalg.generic
// BF16: func.func private @heed_flash_attention_0(memref<2x3x24xf32>, memref<2x5x24xf32>, memref<2x5x24xf32>, memref<2x3x24xf32>)
func.func @odd_depth(%q: tensor<2x3x24xf32>, %k: tensor<2x5x24xf32>)
    -> tensor<2x3x24xf32> {
  %c, %w = attn.attention query(%q : tensor<2x3x24xf32>)
      keys(%k : tensor<2x5x24xf32>) values(%k : tensor<2x5x24xf32>) score {
  ^bb0(%qr: tensor<24xf32>, %kr: tensor<24xf32>):
    %m = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<24xf32>, tensor<24xf32>) -> tensor<24xf32>
    %r = attn.reduce %m {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<24xf32>) -> tensor<1xf32>
    attn.yield %r : tensor<1xf32>
  } : tensor<2x3x24xf32>, tensor<2x3x5xf32>
  return %c : tensor<2x3x24xf32>
}
