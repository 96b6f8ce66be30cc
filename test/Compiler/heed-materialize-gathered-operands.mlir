// RUN: heed-opt %s --heed-materialize-gathered-operands --split-input-file | FileCheck %s

// An embedding lookup fused into the input product over all steps (the NMT
// encoder's): the looked-up rows go into a tensor of their own, [B, T, E]
// (parallel dims, then the reduction dim), and the product reads them: a
// plain contraction with a multiply and an add.
// CHECK-LABEL: func.func @embedding_product
// CHECK-SAME: (%[[TOKENS:.*]]: tensor<4x16xf32>, %[[TABLE:.*]]: tensor<100x8xf32>, %[[W:.*]]: tensor<8x12xf32>, %[[INIT:.*]]: tensor<16x4x12xf32>)
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<4x16x8xf32>
// CHECK: %[[ROWS:.*]] = linalg.generic {indexing_maps = [#[[TOK:.*]], #[[ID:.*]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[TOKENS]] : tensor<4x16xf32>) outs(%[[EMPTY]] : tensor<4x16x8xf32>)
// CHECK: %[[K:.*]] = linalg.index 2 : index
// CHECK: tensor.extract %[[TABLE]][%{{.*}}, %[[K]]]
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[A:.*]], #[[B:.*]], #[[OUT:.*]]], iterator_types = ["parallel", "reduction", "parallel", "parallel"]} ins(%[[ROWS]], %[[W]] : tensor<4x16x8xf32>, tensor<8x12xf32>) outs(%[[INIT]] : tensor<16x4x12xf32>)
// CHECK-NEXT: ^bb0(%[[IN_A:.*]]: f32, %[[IN_B:.*]]: f32, %[[OUT_ARG:.*]]: f32):
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[IN_A]], %[[IN_B]]
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[OUT_ARG]], %[[M]]
// CHECK-NEXT: linalg.yield %[[S]]
// CHECK: return %[[P]]
#tokens = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
#out = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
func.func @embedding_product(%tokens: tensor<4x16xf32>, %table: tensor<100x8xf32>,
                             %w: tensor<8x12xf32>, %init: tensor<16x4x12xf32>) -> tensor<16x4x12xf32> {
  %c0 = arith.constant 0 : i64
  %c100 = arith.constant 100 : i64
  %zero = arith.constant 0.0 : f32
  %p = linalg.generic {indexing_maps = [#tokens, #w, #out],
                       iterator_types = ["parallel", "reduction", "parallel", "parallel"]}
      ins(%tokens, %w : tensor<4x16xf32>, tensor<8x12xf32>) outs(%init : tensor<16x4x12xf32>) {
  ^bb0(%tok: f32, %wv: f32, %acc: f32):
    %k = linalg.index 1 : index
    %i = arith.fptosi %tok : f32 to i64
    %lo = arith.cmpi sge, %i, %c0 : i64
    %hi = arith.cmpi slt, %i, %c100 : i64
    %ok = arith.andi %lo, %hi : i1
    %row = arith.select %ok, %i, %c0 : i64
    %r = arith.index_cast %row : i64 to index
    %e = tensor.extract %table[%r, %k] : tensor<100x8xf32>
    %v = arith.select %ok, %e, %zero : f32
    %m = arith.mulf %v, %wv : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<16x4x12xf32>
  return %p : tensor<16x4x12xf32>
}

// -----

// No gather in the factor (a select on an input): left alone.
// CHECK-LABEL: func.func @no_gather
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-NOT: linalg.generic
#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#o = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @no_gather(%x: tensor<4x8xf32>, %w: tensor<8x12xf32>, %init: tensor<4x12xf32>) -> tensor<4x12xf32> {
  %zero = arith.constant 0.0 : f32
  %p = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<8x12xf32>) outs(%init : tensor<4x12xf32>) {
  ^bb0(%xv: f32, %wv: f32, %acc: f32):
    %pos = arith.cmpf ogt, %xv, %zero : f32
    %v = arith.select %pos, %xv, %zero : f32
    %m = arith.mulf %v, %wv : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x12xf32>
  return %p : tensor<4x12xf32>
}

// -----

// A gathered factor that does not run over the reduction (a per-row scale
// looked up by the row's id): no matrix operand to make; left alone.
// CHECK-LABEL: func.func @gather_not_over_reduction
// CHECK: linalg.generic
// CHECK: tensor.extract
// CHECK-NOT: linalg.generic
#a2 = affine_map<(d0, d1, d2) -> (d0)>
#b2 = affine_map<(d0, d1, d2) -> (d1, d2)>
#o2 = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @gather_not_over_reduction(%ids: tensor<4xindex>, %scales: tensor<10xf32>, %w: tensor<8x12xf32>,
                                     %init: tensor<4x12xf32>) -> tensor<4x12xf32> {
  %p = linalg.generic {indexing_maps = [#a2, #b2, #o2], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%ids, %w : tensor<4xindex>, tensor<8x12xf32>) outs(%init : tensor<4x12xf32>) {
  ^bb0(%id: index, %wv: f32, %acc: f32):
    %v = tensor.extract %scales[%id] : tensor<10xf32>
    %m = arith.mulf %v, %wv : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x12xf32>
  return %p : tensor<4x12xf32>
}

// -----

// The looked-up rows would be larger than the result (2 rows of 1000
// against 2 x 3 outputs): left alone.
// CHECK-LABEL: func.func @larger_than_the_result
// CHECK: linalg.generic
// CHECK: tensor.extract
// CHECK-NOT: linalg.generic
#a3 = affine_map<(d0, d1, d2) -> (d0)>
#b3 = affine_map<(d0, d1, d2) -> (d1, d2)>
#o3 = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @larger_than_the_result(%ids: tensor<2xindex>, %table: tensor<5x1000xf32>, %w: tensor<1000x3xf32>,
                                  %init: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %p = linalg.generic {indexing_maps = [#a3, #b3, #o3], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%ids, %w : tensor<2xindex>, tensor<1000x3xf32>) outs(%init : tensor<2x3xf32>) {
  ^bb0(%id: index, %wv: f32, %acc: f32):
    %k = linalg.index 1 : index
    %v = tensor.extract %table[%id, %k] : tensor<5x1000xf32>
    %m = arith.mulf %v, %wv : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  return %p : tensor<2x3xf32>
}

// -----

// The other factor is computed too (not an input as it is): the product
// would still be no contraction; left alone.
// CHECK-LABEL: func.func @other_factor_computed
// CHECK: linalg.generic
// CHECK: tensor.extract
// CHECK-NOT: linalg.generic
#a4 = affine_map<(d0, d1, d2) -> (d0)>
#b4 = affine_map<(d0, d1, d2) -> (d1, d2)>
#o4 = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @other_factor_computed(%ids: tensor<4xindex>, %table: tensor<5x8xf32>, %w: tensor<8x12xf32>,
                                 %init: tensor<4x12xf32>) -> tensor<4x12xf32> {
  %two = arith.constant 2.0 : f32
  %p = linalg.generic {indexing_maps = [#a4, #b4, #o4], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%ids, %w : tensor<4xindex>, tensor<8x12xf32>) outs(%init : tensor<4x12xf32>) {
  ^bb0(%id: index, %wv: f32, %acc: f32):
    %k = linalg.index 1 : index
    %v = tensor.extract %table[%id, %k] : tensor<5x8xf32>
    %w2 = arith.mulf %wv, %two : f32
    %m = arith.mulf %v, %w2 : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x12xf32>
  return %p : tensor<4x12xf32>
}

// -----

// A factor indexed by the loop alone (a small convolution's window, read
// directly on purpose): no lookup, nothing to materialize.
// CHECK-LABEL: func.func @window_product
// CHECK-NOT: tensor.empty
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: tensor.extract
func.func @window_product(%x: tensor<20xf32>, %w: tensor<4x8xf32>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %p = linalg.generic {indexing_maps = [affine_map<(t, o, k) -> (k, o)>, affine_map<(t, o, k) -> (t, o)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w : tensor<4x8xf32>) outs(%init : tensor<16x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = linalg.index 0 : index
    %k = linalg.index 2 : index
    %s = arith.addi %t, %k : index
    %e = tensor.extract %x[%s] : tensor<20xf32>
    %m = arith.mulf %e, %in : f32
    %a = arith.addf %out, %m : f32
    linalg.yield %a : f32
  } -> tensor<16x8xf32>
  return %p : tensor<16x8xf32>
}
