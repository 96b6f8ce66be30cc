// RUN: heed-opt %s --split-input-file --heed-build-attention-row-kernels --verify-diagnostics

// The attribute names no function.
// expected-error @+1 {{attention-rows kernel without a score function or normalization}}
func.func private @no_score(memref<2x5x6xf32>, memref<2x8xf32>, memref<2x6xf32>, memref<2x5xf32>) attributes {heed.attention_rows = {normalization = 0 : i64, score = @missing}}

// -----

func.func private @score(%b: index, %q: index, %t: index, %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
// A normalization attn.attention does not have.
// expected-error @+1 {{attention-rows kernel without a score function or normalization}}
func.func private @bad_normalization(memref<2x5x6xf32>, memref<2x8xf32>, memref<2x6xf32>, memref<2x5xf32>) attributes {heed.attention_rows = {normalization = 7 : i64, score = @score}}

// -----

func.func private @score(%b: index, %q: index, %t: index, %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
// The kernel passes the score function another query buffer.
// expected-error @+1 {{not an attention-rows kernel for its score}}
func.func private @other_query(memref<2x5x6xf32>, memref<2x9xf32>, memref<2x6xf32>, memref<2x5xf32>) attributes {heed.attention_rows = {normalization = 0 : i64, score = @score}}

// -----

func.func private @score(%b: index, %q: index, %t: index, %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
// Weights over 4 steps for values of 5.
// expected-error @+1 {{attention-rows kernel's buffers disagree}}
func.func private @wrong_steps(memref<2x5x6xf32>, memref<2x8xf32>, memref<2x6xf32>, memref<2x4xf32>) attributes {heed.attention_rows = {normalization = 0 : i64, score = @score}}

// -----

func.func private @score(%b: index, %q: index, %t: index, %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
// A context of rank 3 beside weights of rank 2.
// expected-error @+1 {{not an attention-rows kernel's buffers}}
func.func private @mixed_ranks(memref<2x5x6xf32>, memref<2x8xf32>, memref<2x1x6xf32>, memref<2x5xf32>) attributes {heed.attention_rows = {normalization = 0 : i64, score = @score}}

// -----

func.func private @score(%b: index, %q: index, %t: index, %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
// local_p's positions would be the query ([2, 8], not [2]).
// expected-error @+1 {{attention-rows kernel's positions are not a [2] argument}}
func.func private @bad_positions(memref<2x5x6xf32>, memref<2x8xf32>, memref<2x6xf32>, memref<2x5xf32>) attributes {heed.attention_rows = {local_p = 2 : i64, normalization = 0 : i64, position = 1 : i64, score = @score}}

// -----

func.func private @score(%b: index, %q: index, %t: index, %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
// A window of 0.
// expected-error @+1 {{attention-rows kernel's local_p window is not positive}}
func.func private @zero_window(memref<2x5x6xf32>, memref<2x8xf32>, memref<2x6xf32>, memref<2x5xf32>) attributes {heed.attention_rows = {local_p = 0 : i64, normalization = 0 : i64, position = 1 : i64, score = @score}}

// -----

// A split score whose lanes are not a power of two, and one whose finish
// function does not take the total as an f32.
func.func private @term(%b: index, %q: index, %t: index, %k: index,
                        %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0.0 : f32
  return %c0 : f32
}
func.func private @finish(%b: index, %q: index, %t: index, %total: f32,
                          %query: memref<2x8xf32>) -> f32 {
  return %total : f32
}
// expected-error @+1 {{not an attention-rows kernel for its split score}}
func.func private @heed_attention_rows_0(memref<2x5x6xf32>, memref<2x8xf32>,
    memref<2x6xf32>, memref<2x5xf32>)
    attributes {heed.attention_rows = {normalization = 0 : i64, term = @term, finish = @finish, terms = 8 : i64, lanes = 3 : i64}}

// -----

func.func private @term(%b: index, %q: index, %t: index, %k: index,
                        %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0.0 : f32
  return %c0 : f32
}
func.func private @finish(%b: index, %q: index, %t: index, %total: index,
                          %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0.0 : f32
  return %c0 : f32
}
// expected-error @+1 {{not an attention-rows kernel for its split score}}
func.func private @heed_attention_rows_0(memref<2x5x6xf32>, memref<2x8xf32>,
    memref<2x6xf32>, memref<2x5xf32>)
    attributes {heed.attention_rows = {normalization = 0 : i64, term = @term, finish = @finish, terms = 8 : i64, lanes = 4 : i64}}
