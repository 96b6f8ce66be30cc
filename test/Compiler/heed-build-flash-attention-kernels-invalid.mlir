// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels --verify-diagnostics

// A context buffer whose shape is not [B, Tq, Dv].
// expected-error @+1 {{not a flash attention kernel's signature}}
func.func private @wrong_context(memref<2x5x16xf32>, memref<2x3x16xf32>, memref<2x3x8xf32>, memref<2x5x16xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.0 : f32}}

// -----

// Keys of another depth than the queries.
// expected-error @+1 {{not a flash attention kernel's signature}}
func.func private @wrong_depth(memref<2x5x16xf32>, memref<2x3x8xf32>, memref<2x3x8xf32>, memref<2x5x8xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.0 : f32}}

// -----

// No scale.
// expected-error @+1 {{not a flash attention kernel's signature}}
func.func private @no_scale(memref<2x5x16xf32>, memref<2x3x16xf32>, memref<2x3x8xf32>, memref<2x5x8xf32>) attributes {heed.flash_attention = {causal = false}}

// -----

// Keys and values rounded to bf16 have only the bf16 tensor-core kernel
// (this run's precision is f32).
// expected-error @+1 {{keys and values rounded to bf16 need the tensor-core kernel with precision=bf16}}
func.func private @rounded_keys(memref<2x5x16xf32>, memref<2x3x16xbf16>, memref<2x3x8xbf16>, memref<2x5x8xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.0 : f32}}

// -----

// Keys in bf16, values in f16.
// expected-error @+1 {{not a flash attention kernel's signature}}
func.func private @mixed_keys(memref<2x5x16xf32>, memref<2x3x16xbf16>, memref<2x3x8xf16>, memref<2x5x8xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.0 : f32}}
