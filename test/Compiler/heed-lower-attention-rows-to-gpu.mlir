// RUN: heed-opt %s --split-input-file --heed-lower-attention-rows-to-gpu | FileCheck %s

// Additive attention with lengths: the values and the score function's
// tensors (query, keys, lengths, then the captured bias and v) are read
// through to_buffer, the context and weights are fresh buffers the call
// writes. The score function computes v · tanh(q + k + b) for one step as
// one loop over the row's elements (nothing stored), then masks steps past
// the row's length. (Two elements: too little work to share a step among
// threads.)
// CHECK-LABEL: func.func @additive
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x2xf32>, %[[K:[^:]*]]: tensor<2x5x2xf32>, %[[M:[^:]*]]: tensor<2x5x6xf32>, %[[L:[^:]*]]: tensor<2xf32>, %[[V:[^:]*]]: tensor<1x2xf32>, %[[B:[^:]*]]: tensor<2xf32>)
// CHECK-NOT: attn.attention
// CHECK-DAG: %[[MB:[^ ]*]] = bufferization.to_buffer %[[M]] read_only
// CHECK-DAG: %[[QB:[^ ]*]] = bufferization.to_buffer %[[Q]] read_only
// CHECK-DAG: %[[KB:[^ ]*]] = bufferization.to_buffer %[[K]] read_only
// CHECK-DAG: %[[LB:[^ ]*]] = bufferization.to_buffer %[[L]] read_only
// CHECK-DAG: %[[BB:[^ ]*]] = bufferization.to_buffer %[[B]] read_only
// CHECK-DAG: %[[VB:[^ ]*]] = bufferization.to_buffer %[[V]] read_only
// CHECK: %[[CTX:[^ ]*]] = memref.alloc() {alignment = 64 : i64} : memref<2x6xf32>
// CHECK: %[[W:[^ ]*]] = memref.alloc() {alignment = 64 : i64} : memref<2x5xf32>
// CHECK: call @heed_attention_rows_0(%[[MB]], %[[QB]], %[[KB]], %[[LB]], %[[BB]], %[[VB]], %[[CTX]], %[[W]])
// CHECK-DAG: %[[C:[^ ]*]] = bufferization.to_tensor %[[CTX]] restrict writable
// CHECK-DAG: %[[WT:[^ ]*]] = bufferization.to_tensor %[[W]] restrict writable
// CHECK: return %[[C]], %[[WT]]
// CHECK-LABEL: func.func private @heed_attention_score_0
// CHECK-SAME: (%[[ROW:[^:]*]]: index, %{{[^:]*}}: index, %[[STEP:[^:]*]]: index, %[[SQ:[^:]*]]: tensor<2x2xf32>, %[[SK:[^:]*]]: tensor<2x5x2xf32>, %[[SL:[^:]*]]: tensor<2xf32>, %[[SB:[^:]*]]: tensor<2xf32>, %[[SV:[^:]*]]: tensor<1x2xf32>) -> f32
// CHECK: %[[E:[^ ]*]] = scf.for %[[J:[^ ]*]] = {{.*}} iter_args(%[[ACC:[^ ]*]] = {{.*}}) -> (f32)
// CHECK-DAG: tensor.extract %[[SV]][%{{[^,]*}}, %[[J]]]
// CHECK-DAG: %[[QJ:[^ ]*]] = tensor.extract %[[SQ]][%[[ROW]], %[[J]]]
// CHECK-DAG: %[[KJ:[^ ]*]] = tensor.extract %[[SK]][%[[ROW]], %[[STEP]], %[[J]]]
// CHECK: arith.addf %[[QJ]], %[[KJ]]
// CHECK: tensor.extract %[[SB]][%[[J]]]
// CHECK: math.tanh
// CHECK: arith.addf %[[ACC]]
// CHECK: tensor.extract %[[SL]][%[[ROW]]]
// CHECK: %[[PAST:[^ ]*]] = arith.cmpi sge
// CHECK: %[[MASKED:[^ ]*]] = arith.select %[[PAST]], %{{[^,]*}}, %[[E]]
// CHECK: return %[[MASKED]] : f32
// CHECK: func.func private @heed_attention_rows_0(memref<2x5x6xf32>, memref<2x2xf32>, memref<2x5x2xf32>, memref<2xf32>, memref<2xf32>, memref<1x2xf32>, memref<2x6xf32>, memref<2x5xf32>)
// CHECK-SAME: heed.attention_rows = {normalization = 0 : i64, score = @heed_attention_score_0}
func.func @additive(%q: tensor<2x2xf32>, %k: tensor<2x5x2xf32>, %m: tensor<2x5x6xf32>,
                    %len: tensor<2xf32>, %v: tensor<1x2xf32>, %bias: tensor<2xf32>)
    -> (tensor<2x6xf32>, tensor<2x5xf32>) {
  %c, %w = attn.attention query(%q : tensor<2x2xf32>)
      keys(%k : tensor<2x5x2xf32>) values(%m : tensor<2x5x6xf32>)
      lengths(%len : tensor<2xf32>) score {
  ^bb0(%qr: tensor<2xf32>, %kr: tensor<2xf32>):
    %s = attn.binary %qr, %kr {kind = #attn<binary add>}
        : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %sb = attn.binary %s, %bias {kind = #attn<binary add>}
        : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %h = attn.activate %sb {kind = #attn<activation tanh>} : tensor<2xf32>
    %e = attn.dense %h, %v : (tensor<2xf32>, tensor<1x2xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x6xf32>, tensor<2x5xf32>
  return %c, %w : tensor<2x6xf32>, tensor<2x5xf32>
}

// -----

// Seed 001's small network over concat(query, key), over a sequence of
// queries with the causal mask and smoothing. Its last step is a dense
// layer of one output over 3 hidden units, each an inner loop over the 8
// concatenated elements: worth sharing among threads, so the score is
// split. The term of hidden unit N is W2[0, N] times the unit, pulled from
// the inner loop, which picks the query's element below 4 and the key's
// above (the step's query is the block's query index); finish applies the
// outer layer's ReLU to the summed terms, then the causal mask. 2 lanes (a
// power of two up to the 3 terms).
// CHECK-LABEL: func.func @concat_network
// CHECK: call @heed_attention_rows_0
// CHECK-LABEL: func.func private @heed_attention_score_0_term
// CHECK-SAME: (%[[ROW:[^:]*]]: index, %[[QI:[^:]*]]: index, %[[STEP:[^:]*]]: index, %[[N:[^:]*]]: index, %[[SQ:[^:]*]]: tensor<2x3x4xf32>, %[[SK:[^:]*]]: tensor<2x5x4xf32>, %[[W1:[^:]*]]: tensor<3x8xf32>, %[[B1:[^:]*]]: tensor<3xf32>, %[[W2:[^:]*]]: tensor<1x3xf32>) -> f32
// CHECK: %[[V:[^ ]*]] = tensor.extract %[[W2]][%{{[^,]*}}, %[[N]]]
// CHECK: scf.for %[[J:[^ ]*]] = %{{[^ ]*}} to %c8
// CHECK: tensor.extract %[[W1]][%[[N]], %[[J]]]
// CHECK: %[[BELOW:[^ ]*]] = arith.cmpi ult, %[[J]], %c4
// CHECK: scf.if %[[BELOW]] -> (f32)
// CHECK: tensor.extract %[[SQ]][%[[ROW]], %[[QI]],
// CHECK: } else {
// CHECK: %[[KJ:[^ ]*]] = arith.subi %[[J]], %c4
// CHECK: tensor.extract %[[SK]][%[[ROW]], %[[STEP]], %[[KJ]]]
// CHECK: tensor.extract %[[B1]][%[[N]]]
// CHECK: %[[H:[^ ]*]] = math.tanh
// CHECK: %[[T:[^ ]*]] = arith.mulf %[[V]], %[[H]]
// CHECK-NOT: arith.cmpi sgt
// CHECK: return %[[T]]
// CHECK-LABEL: func.func private @heed_attention_score_0_finish
// CHECK-SAME: (%{{[^:]*}}: index, %[[FQ:[^:]*]]: index, %[[FSTEP:[^:]*]]: index, %[[TOTAL:[^:]*]]: f32,
// CHECK: %[[RELU:[^ ]*]] = arith.maximumf %[[TOTAL]]
// CHECK: %[[LATER:[^ ]*]] = arith.cmpi sgt
// CHECK: %[[E:[^ ]*]] = arith.select %[[LATER]], %{{[^,]*}}, %[[RELU]]
// CHECK: return %[[E]]
// CHECK: func.func private @heed_attention_rows_0
// CHECK-SAME: heed.attention_rows = {finish = @heed_attention_score_0_finish, lanes = 2 : i64, normalization = 1 : i64, term = @heed_attention_score_0_term, terms = 3 : i64}
func.func @concat_network(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>,
                          %w1: tensor<3x8xf32>, %b1: tensor<3xf32>,
                          %w2: tensor<1x3xf32>)
    -> (tensor<2x3x4xf32>, tensor<2x3x5xf32>) {
  %c, %w = attn.attention query(%q : tensor<2x3x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>)
      attributes {causal, normalization = #attn<normalization smoothing>} score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %x = attn.concat %qr, %kr {axis = 0 : i64}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
    %h = attn.dense %x, %w1, %b1 {activation = #attn<activation tanh>}
        : (tensor<8xf32>, tensor<3x8xf32>, tensor<3xf32>) -> tensor<3xf32>
    %e = attn.dense %h, %w2 {activation = #attn<activation relu>}
        : (tensor<3xf32>, tensor<1x3xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x3x4xf32>, tensor<2x3x5xf32>
  return %c, %w : tensor<2x3x4xf32>, tensor<2x3x5xf32>
}

// -----

// Left for the decomposition: a softmax inside the score (no form per
// element) and a constant that is not a splat (a host global in a kernel).
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-2: attn.attention
// CHECK-NOT: heed_attention_rows
func.func @left_alone(%q: tensor<2x4xf32>, %k: tensor<2x5x4xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %c1, %w1 = attn.attention query(%q : tensor<2x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>) score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %s = attn.activate %p {kind = #attn<activation softmax>} : tensor<4xf32>
    %e = attn.reduce %s {axis = 0 : i64, kind = #attn<reduce max>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x5xf32>
  %c2, %w2 = attn.attention query(%q : tensor<2x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>) score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %table = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
    %p = attn.binary %kr, %table {kind = #attn<binary mul>}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x5xf32>
  return %c1, %c2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Hard attention and Luong's local_p: the declaration says `hard`, and for
// local_p its window and which argument holds the positions (values,
// query, keys, lengths, then previous: 4). local_p's mask (|t - p| > D)
// is the score function's.
// CHECK-LABEL: func.func @hard_and_local
// CHECK: func.func private @heed_attention_score_0
// CHECK: func.func private @heed_attention_rows_0
// CHECK-SAME: heed.attention_rows = {hard, normalization = 0 : i64, score = @heed_attention_score_0}
// CHECK-LABEL: func.func private @heed_attention_score_1
// CHECK-SAME: %[[P:[^:]*]]: tensor<2xf32>) -> f32
// CHECK: tensor.extract %[[P]]
// CHECK: math.absf
// CHECK: arith.cmpf ugt
// CHECK: func.func private @heed_attention_rows_1(memref<2x5x4xf32>, memref<2x4xf32>, memref<2x5x4xf32>, memref<2xf32>, memref<2xf32>, memref<2x4xf32>, memref<2x5xf32>)
// CHECK-SAME: heed.attention_rows = {local_p = 2 : i64, normalization = 0 : i64, position = 4 : i64, score = @heed_attention_score_1}
func.func @hard_and_local(%q: tensor<2x4xf32>, %k: tensor<2x5x4xf32>,
                          %len: tensor<2xf32>, %p: tensor<2xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %c0, %w0 = attn.attention query(%q : tensor<2x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>)
      attributes {hard} score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %m = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %m {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x5xf32>
  %c1, %w1 = attn.attention query(%q : tensor<2x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>)
      lengths(%len : tensor<2xf32>) previous(%p : tensor<2xf32>)
      attributes {constraint = #attn<constraint local_p>, window = 2 : i64} score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %m = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %m {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x4xf32>, tensor<2x5xf32>
  return %c0, %c1 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Dot-product attention over 16 queries per row whose weights are used
// stays for the decomposition (batched tiled products); over 15 it is a
// kernel.
// CHECK-LABEL: func.func @dot_queries
// CHECK: attn.attention query(%{{[^ ]*}} : tensor<2x16x4xf32>)
// CHECK-NOT: attn.attention
// CHECK: call @heed_attention_rows_0
func.func @dot_queries(%q16: tensor<2x16x4xf32>, %q15: tensor<2x15x4xf32>,
                       %k: tensor<2x5x4xf32>)
    -> (tensor<2x16x5xf32>, tensor<2x15x5xf32>) {
  %c0, %w0 = attn.attention query(%q16 : tensor<2x16x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>) score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x16x4xf32>, tensor<2x16x5xf32>
  %c1, %w1 = attn.attention query(%q15 : tensor<2x15x4xf32>)
      keys(%k : tensor<2x5x4xf32>) values(%k : tensor<2x5x4xf32>) score {
  ^bb0(%qr: tensor<4xf32>, %kr: tensor<4xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<4xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x15x4xf32>, tensor<2x15x5xf32>
  return %w0, %w1 : tensor<2x16x5xf32>, tensor<2x15x5xf32>
}

// -----

// A maximum over 64 elements of tanh(q + k): the score's 257 operations
// split into 16 lanes of 4 terms (at least 16 operations each), combined by
// maximum; nothing to finish, and no mask.
// CHECK-LABEL: func.func private @heed_attention_score_0_term
// CHECK-SAME: (%[[ROW:[^:]*]]: index, %{{[^:]*}}: index, %[[STEP:[^:]*]]: index, %[[K:[^:]*]]: index, %[[SQ:[^:]*]]: tensor<3x64xf32>, %[[SK:[^:]*]]: tensor<3x7x64xf32>) -> f32
// CHECK-NOT: scf.for
// CHECK-DAG: tensor.extract %[[SQ]][%[[ROW]], %[[K]]]
// CHECK-DAG: tensor.extract %[[SK]][%[[ROW]], %[[STEP]], %[[K]]]
// CHECK: math.tanh
// CHECK-LABEL: func.func private @heed_attention_score_0_finish
// CHECK-SAME: (%{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %[[TOTAL:[^:]*]]: f32,
// CHECK-NOT: arith.select
// CHECK: return %[[TOTAL]]
// CHECK: heed.attention_rows = {finish = @heed_attention_score_0_finish, lanes = 16 : i64, maximum, normalization = 0 : i64, term = @heed_attention_score_0_term, terms = 64 : i64}
func.func @maximum_terms(%q: tensor<3x64xf32>, %k: tensor<3x7x64xf32>)
    -> (tensor<3x64xf32>, tensor<3x7xf32>) {
  %c, %w = attn.attention query(%q : tensor<3x64xf32>)
      keys(%k : tensor<3x7x64xf32>) values(%k : tensor<3x7x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %s = attn.binary %qr, %kr {kind = #attn<binary add>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %h = attn.activate %s {kind = #attn<activation tanh>} : tensor<64xf32>
    %e = attn.reduce %h {axis = 0 : i64, kind = #attn<reduce max>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<3x64xf32>, tensor<3x7xf32>
  return %c, %w : tensor<3x64xf32>, tensor<3x7xf32>
}
