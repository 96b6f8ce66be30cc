// RUN: heed-opt %s --split-input-file --verify-diagnostics

func.func @dense_wrong_in(%x: tensor<4x100xf32>, %w: tensor<10x128xf32>) {
  // expected-error@+2 {{attn.dense weight [10, 128] does not take inputs of size 100}}
  // expected-error@+1 {{failed to infer returned types}}
  %d = attn.dense %x, %w : (tensor<4x100xf32>, tensor<10x128xf32>) -> tensor<4x10xf32>
  return
}

// -----

func.func @bad_select(%c: tensor<3xf32>, %a: tensor<4x5xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+2 {{attn.select cannot broadcast [3], [4, 5] and [4, 5]}}
  // expected-error@+1 {{failed to infer returned types}}
  %m = attn.select %c, %a, %b
      : (tensor<3xf32>, tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
  return
}

// -----

func.func @dense_wrong_result(%x: tensor<4x128xf32>, %w: tensor<10x128xf32>) {
  // expected-error@+2 {{inferred type(s) 'tensor<4x10xf32>' are incompatible with return type(s) of operation 'tensor<4x11xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %d = attn.dense %x, %w : (tensor<4x128xf32>, tensor<10x128xf32>) -> tensor<4x11xf32>
  return
}

// -----

func.func @bad_broadcast(%a: tensor<4x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+2 {{attn.binary cannot broadcast [4, 3] with [4, 5]}}
  // expected-error@+1 {{failed to infer returned types}}
  %m = attn.binary %a, %b {kind = #attn<binary add>}
      : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x5xf32>
  return
}

// -----

func.func @softmax_axis(%a: tensor<4x3xf32>) {
  // expected-error@+1 {{attn.softmax axis 2 out of range for rank 2}}
  %m = attn.softmax %a {axis = 2 : i64} : tensor<4x3xf32>
  return
}

// -----

func.func @concat_mismatch(%a: tensor<4x3xf32>, %b: tensor<5x3xf32>) {
  // expected-error@+2 {{attn.concat inputs [4, 3] and [5, 3] differ on axis 0}}
  // expected-error@+1 {{failed to infer returned types}}
  %c = attn.concat %a, %b {axis = 1 : i64}
      : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @squeeze_not_one(%a: tensor<4x3xf32>) {
  // expected-error@+2 {{attn.squeeze axis 1 has size 3, not 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %c = attn.squeeze %a {axis = 1 : i64} : (tensor<4x3xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @permute_bad(%a: tensor<4x3xf32>) {
  // expected-error@+2 {{attn.permute perm is not a permutation}}
  // expected-error@+1 {{failed to infer returned types}}
  %c = attn.permute %a {perm = array<i64: 0, 0>} : (tensor<4x3xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<4x64xf32>, %k: tensor<5x30x64xf32>) {
  // expected-error@+2 {{attn.attention batch sizes differ}}
  // expected-error@+1 {{failed to infer returned types}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<5x30x64xf32>)
      values(%k : tensor<5x30x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_row_type(%q: tensor<4x64xf32>, %k: tensor<4x30x32xf32>) {
  // expected-error@+1 {{score region's row of key tensor #0 must be 'tensor<32xf32>', got 'tensor<64xf32>'}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<4x30x32xf32>)
      values(%k : tensor<4x30x32xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x32xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_score_shape(%q: tensor<4x64xf32>, %k: tensor<4x30x64xf32>) {
  // expected-error@+1 {{score region must yield a one-element tensor, got 'tensor<64xf32>'}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<4x30x64xf32>)
      values(%k : tensor<4x30x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    attn.yield %qr : tensor<64xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_window_too_large(%q: tensor<4x64xf32>, %k: tensor<4x30x64xf32>,
                                      %p: tensor<4xf32>) {
  // expected-error@+1 {{constraint window of 31 steps is larger than the memory (30 steps)}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<4x30x64xf32>)
      values(%k : tensor<4x30x64xf32>) previous(%p : tensor<4xf32>)
      attributes {constraint = #attn<constraint window>, window = 31 : i64} score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_constraint_needs_previous(%q: tensor<4x64xf32>, %k: tensor<4x30x64xf32>) {
  // expected-error@+1 {{a window/monotonic/local constraint and the positions operand go together}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<4x30x64xf32>)
      values(%k : tensor<4x30x64xf32>)
      attributes {constraint = #attn<constraint monotonic>, window = 4 : i64} score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_local_p_half_width(%q: tensor<4x64xf32>, %k: tensor<4x30x64xf32>,
                                        %p: tensor<4xf32>) {
  // expected-error@+1 {{local attention's half-width must be at least 1, got 0}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<4x30x64xf32>)
      values(%k : tensor<4x30x64xf32>) previous(%p : tensor<4xf32>)
      attributes {constraint = #attn<constraint local_p>, window = 0 : i64} score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_causal_one_query(%q: tensor<4x64xf32>, %k: tensor<4x30x64xf32>) {
  // expected-error@+1 {{a causal mask needs a sequence of queries [B, Tq, Dq]}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<4x30x64xf32>)
      values(%k : tensor<4x30x64xf32>) attributes {causal} score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_lengths_shape(%q: tensor<4x64xf32>, %k: tensor<4x30x64xf32>,
                                   %len: tensor<4x30xf32>) {
  // expected-error@+2 {{attn.attention lengths and previous positions must be [B] = [4], got [4, 30]}}
  // expected-error@+1 {{failed to infer returned types}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>) keys(%k : tensor<4x30x64xf32>)
      values(%k : tensor<4x30x64xf32>) lengths(%len : tensor<4x30xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @attention_feature_rows(%q: tensor<4x64xf32>, %k: tensor<4x30x64xf32>,
                                  %f: tensor<4x30x32xf32>) {
  // expected-error@+1 {{score region takes the query row and one row per key tensor (3 arguments), got 2}}
  %c, %w = attn.attention query(%q : tensor<4x64xf32>)
      keys(%k, %f : tensor<4x30x64xf32>, tensor<4x30x32xf32>)
      values(%k : tensor<4x30x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %e = attn.reduce %qr {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<4x64xf32>, tensor<4x30xf32>
  return
}

// -----

func.func @lstm_gate_count(%x: tensor<2x30x37xf32>, %wi: tensor<96x37xf32>,
                           %wh: tensor<128x32xf32>, %b: tensor<128xf32>) {
  // expected-error@+2 {{attn.lstm weight_ih must be [128, 37] (4 gates x hidden 32), got [96, 37]}}
  // expected-error@+1 {{failed to infer returned types}}
  %y, %h, %c = attn.lstm %x weights(%wi, %wh, %b, %b)
      {direction = #attn<direction forward>, hidden_size = 32 : i64}
      : (tensor<2x30x37xf32>, tensor<96x37xf32>, tensor<128x32xf32>,
         tensor<128xf32>, tensor<128xf32>)
      -> (tensor<2x30x32xf32>, tensor<1x2x32xf32>, tensor<1x2x32xf32>)
  return
}

// -----

func.func @lstm_lengths_shape(%x: tensor<2x30x37xf32>, %len: tensor<2x30xf32>,
                              %wi: tensor<128x37xf32>, %wh: tensor<128x32xf32>,
                              %b: tensor<128xf32>) {
  // expected-error@+2 {{attn.lstm lengths must be [2] (one per batch row), got [2, 30]}}
  // expected-error@+1 {{failed to infer returned types}}
  %y, %h, %c = attn.lstm %x lengths(%len) weights(%wi, %wh, %b, %b)
      {direction = #attn<direction forward>, hidden_size = 32 : i64}
      : (tensor<2x30x37xf32>, tensor<2x30xf32>, tensor<128x37xf32>,
         tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>)
      -> (tensor<2x30x32xf32>, tensor<1x2x32xf32>, tensor<1x2x32xf32>)
  return
}

// -----

func.func @bilstm_missing_reverse(%x: tensor<2x30x37xf32>, %wi: tensor<128x37xf32>,
                                  %wh: tensor<128x32xf32>, %b: tensor<128xf32>) {
  // expected-error@+2 {{attn.lstm expects 8 weights (weight_ih, weight_hh, bias_ih, bias_hh per direction), got 4}}
  // expected-error@+1 {{failed to infer returned types}}
  %y, %h, %c = attn.lstm %x weights(%wi, %wh, %b, %b)
      {direction = #attn<direction bidirectional_concat>, hidden_size = 32 : i64}
      : (tensor<2x30x37xf32>, tensor<128x37xf32>, tensor<128x32xf32>,
         tensor<128xf32>, tensor<128xf32>)
      -> (tensor<2x30x64xf32>, tensor<2x2x32xf32>, tensor<2x2x32xf32>)
  return
}

// -----

func.func @cell_state_shape(%x: tensor<4x8xf32>, %h: tensor<4x16xf32>, %c: tensor<4x8xf32>,
                            %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>, %b: tensor<64xf32>) {
  // expected-error@+2 {{attn.lstm_cell states must have one shape, got [4, 16] and [4, 8]}}
  // expected-error@+1 {{failed to infer returned types}}
  %h1, %c1 = attn.lstm_cell %x, %h, %c weights(%wi, %wh, %b, %b)
      : (tensor<4x8xf32>, tensor<4x16xf32>, tensor<4x8xf32>, tensor<64x8xf32>,
         tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<4x16xf32>, tensor<4x16xf32>)
  return
}

// -----

func.func @gather_rows_rank(%x: tensor<32x16xf32>, %rows: tensor<2x4xf32>) {
  // expected-error@+2 {{attn.gather_rows rows must be [C], got [2, 4]}}
  // expected-error@+1 {{failed to infer returned types}}
  %y = attn.gather_rows %x, %rows : (tensor<32x16xf32>, tensor<2x4xf32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @topk_too_many(%x: tensor<4x3xf32>) {
  // expected-error@+2 {{attn.topk takes k = 4 of a last axis of 3}}
  // expected-error@+1 {{failed to infer returned types}}
  %v, %i = attn.topk %x {k = 4 : i64} : (tensor<4x3xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>)
  return
}

// -----

func.func @topk_none(%x: tensor<4x3xf32>) {
  // expected-error@+1 {{attribute 'k' failed to satisfy constraint}}
  %v, %i = attn.topk %x {k = 0 : i64} : (tensor<4x3xf32>) -> (tensor<4x0xf32>, tensor<4x0xf32>)
  return
}

