// RUN: heed-opt %s --heed-vectorize-linalg | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// A large elementwise op is cut into static tiles of at most 4 rows, each
// vectorized.
// CHECK-LABEL: func @elementwise
// CHECK: scf.for %{{.*}} = %c0 to %c1000 step %c4
// CHECK: vector.transfer_read {{.*}} : tensor<4x10xf32>, vector<4x10xf32>
// CHECK: math.tanh {{.*}} : vector<4x10xf32>
// CHECK: vector.transfer_write {{.*}} : vector<4x10xf32>, tensor<4x10xf32>
// CHECK-NOT: linalg.generic
func.func @elementwise(%x: tensor<1000x10xf32>) -> tensor<1000x10xf32> {
  %e = tensor.empty() : tensor<1000x10xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<1000x10xf32>) outs(%e : tensor<1000x10xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  } -> tensor<1000x10xf32>
  return %r : tensor<1000x10xf32>
}

// A reduction too long for registers is cut into whole-vector tiles whose
// loop carries the accumulator.
// CHECK-LABEL: func @long_reduction
// CHECK: scf.for %{{.*}} = %c0 to %c4096 step %c256 iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK: vector.transfer_read {{.*}} : tensor<256xf32>, vector<256xf32>
// CHECK: vector.multi_reduction <add>, %{{.*}}, %{{.*}} [0] : vector<256xf32> to f32
// CHECK-NOT: linalg.generic
func.func @long_reduction(%x: tensor<4096xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                       iterator_types = ["reduction"]}
      ins(%x : tensor<4096xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// A matrix-vector product with 1008 outputs (1000 padded to whole vectors):
// the outputs are cut into tiles of a power-of-two number of 16-lane
// vectors (1008 = 63 x 16: one vector), not 144 = 9 x 16, which LLVM
// legalizes through shuffles (12x slower at 512 x 1008).
// Weight rows are read in order: the input loop is outside the tile loop.
// CHECK-LABEL: func @matvec_outputs
// CHECK: scf.for %{{.*}} = %{{.*}} to %c512 step %c1
// CHECK: scf.for %{{.*}} = %{{.*}} to %c1008 step %c16
// CHECK: vector.transfer_read {{.*}} : tensor<1x16xf32>, vector<1x1x16xf32>
func.func @matvec_outputs(%x: tensor<1x512xf32>, %w: tensor<512x1008xf32>, %init: tensor<1x1008xf32>) -> tensor<1x1008xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                        affine_map<(d0, d1, d2) -> (d1, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d2)>],
                       iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<1x512xf32>, tensor<512x1008xf32>) outs(%init : tensor<1x1008xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x1008xf32>
  return %r : tensor<1x1008xf32>
}

// A GRU's 3 x 128 gates: 384 outputs within 256 elements would be 192 =
// 12 vectors; the tile is the power-of-two part, 128 (8 vectors).
// CHECK-LABEL: func @matvec_gates
// CHECK: scf.for %{{.*}} = %{{.*}} to %c384 step %c128
// CHECK: vector.transfer_read {{.*}} : tensor<1x128xf32>, vector<1x1x128xf32>
func.func @matvec_gates(%x: tensor<1x160xf32>, %w: tensor<160x384xf32>, %init: tensor<1x384xf32>) -> tensor<1x384xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                        affine_map<(d0, d1, d2) -> (d1, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d2)>],
                       iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : tensor<1x160xf32>, tensor<160x384xf32>) outs(%init : tensor<1x384xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x384xf32>
  return %r : tensor<1x384xf32>
}

// Weight preparation runs once per compilation: its copies stay loops.
// CHECK-LABEL: func @prepare
// CHECK-NOT: vector.
// CHECK: linalg.transpose
func.func @prepare(%w: tensor<16x16xf32>) -> tensor<16x16xf32>
    attributes {heed.weight_preparation} {
  %e = tensor.empty() : tensor<16x16xf32>
  %t = linalg.transpose ins(%w : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>)
         permutation = [1, 0]
  return %t : tensor<16x16xf32>
}

// A head split keeps the innermost dim: rows are copied by the scalar
// loops LLVM vectorizes, not by unrolled vector tiles.
// CHECK-LABEL: func @head_split
// CHECK-NOT: vector.
// CHECK: linalg.transpose
func.func @head_split(%x: tensor<1x16x8x64xf32>) -> tensor<1x8x16x64xf32> {
  %e = tensor.empty() : tensor<1x8x16x64xf32>
  %t = linalg.transpose ins(%x : tensor<1x16x8x64xf32>) outs(%e : tensor<1x8x16x64xf32>)
         permutation = [0, 2, 1, 3]
  return %t : tensor<1x8x16x64xf32>
}

// A transpose that moves the innermost dim goes by 16 x 16 blocks: 16
// rows read along the input's innermost dim, one vector.transpose, 16 rows
// written along the output's (keys of 4 heads transposed to [B, H, D, T]).
// CHECK-LABEL: func @key_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x32x4x64xf32>)
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %c2 step %c1
// CHECK: scf.for %[[H:.*]] = %{{.*}} to %c4 step %c1
// CHECK: scf.for %[[D:.*]] = %{{.*}} to %c64 step %c16
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %c32 step %c16
// CHECK: %[[IN:.*]] = tensor.extract_slice %[[X]][%[[B]], %[[T]], %[[H]], %[[D]]] [1, 16, 1, 16]
// CHECK: %[[SQUARE:.*]] = tensor.extract_slice %[[IN]][0, 0, 0, 0] [1, 16, 1, 16] [1, 1, 1, 1] : tensor<1x16x1x16xf32> to tensor<16x16xf32>
// CHECK: %[[ROWS:.*]] = vector.transfer_read %[[SQUARE]]{{.*}} : tensor<16x16xf32>, vector<16x16xf32>
// CHECK: vector.transpose %[[ROWS]], [1, 0] : vector<16x16xf32> to vector<16x16xf32>
// CHECK-NOT: linalg.transpose
func.func @key_transpose(%x: tensor<2x32x4x64xf32>) -> tensor<2x4x64x32xf32> {
  %e = tensor.empty() : tensor<2x4x64x32xf32>
  %t = linalg.transpose ins(%x : tensor<2x32x4x64xf32>) outs(%e : tensor<2x4x64x32xf32>)
         permutation = [0, 2, 3, 1]
  return %t : tensor<2x4x64x32xf32>
}

// Sizes that are not multiples of 16 are vectorized as any other op.
// CHECK-LABEL: func @small_transpose
// CHECK: vector.transfer_read
// CHECK-NOT: vector.transpose
func.func @small_transpose(%x: tensor<12x64xf32>) -> tensor<64x12xf32> {
  %e = tensor.empty() : tensor<64x12xf32>
  %t = linalg.transpose ins(%x : tensor<12x64xf32>) outs(%e : tensor<64x12xf32>)
         permutation = [1, 0]
  return %t : tensor<64x12xf32>
}
