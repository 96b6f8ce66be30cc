// RUN: heed-opt %s --attn-lower-attention-to-loops --canonicalize | FileCheck %s

// Scaled dot-product attention over 128 queries and 128 keys: tiles of 4
// queries x 64 keys with an online softmax (4 score vectors per row: 8
// rows would not fit the registers); after the lowering no tensor of
// 128 x 128 elements exists (the unused weights placeholder folds away).
// CHECK-LABEL: func.func @scaled_dot
// CHECK-NOT: tensor<2x128x128xf32>
// CHECK: attn.permute
// CHECK: scf.for
// CHECK: scf.for {{.*}} step %c4
// CHECK: scf.for {{.*}} step %c64
// CHECK: vector.fma
// CHECK: math.exp
// CHECK-NOT: tensor<2x128x128xf32>
func.func @scaled_dot(%q: tensor<2x128x64xf32>, %k: tensor<2x128x64xf32>,
                      %v: tensor<2x128x64xf32>) -> tensor<2x128x64xf32> {
  %c, %w = attn.attention query(%q : tensor<2x128x64xf32>)
      keys(%k : tensor<2x128x64xf32>) values(%v : tensor<2x128x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    %s = arith.constant dense<0.125> : tensor<1xf32>
    %y = attn.binary %e, %s {kind = #attn<binary mul>}
        : (tensor<1xf32>, tensor<1xf32>) -> tensor<1xf32>
    attn.yield %y : tensor<1xf32>
  } : tensor<2x128x64xf32>, tensor<2x128x128xf32>
  return %c : tensor<2x128x64xf32>
}

// 3 queries over 70 keys: one-row tiles and blocks of 64 keys; the second
// block runs past the keys: it reads zeros there (not in bounds), masks
// those scores to -inf, and its value loop stops at the last key.
// CHECK-LABEL: func.func @partial_tiles
// CHECK-NOT: tensor<2x3x70xf32>
// CHECK: scf.for {{.*}} step %c1
// CHECK: scf.for %[[J0:.*]] = %c0 to %{{.*}} step %c64
// CHECK: vector.transfer_read {{.*}} : tensor<2x64x70xf32>, vector<16xf32>{{$}}
// CHECK: arith.cmpi sge
// CHECK: arith.select
// CHECK: %[[REST:.*]] = arith.subi %c70, %[[J0]]
// CHECK: %[[END:.*]] = arith.minsi %[[REST]], %c64
// CHECK: scf.for %{{.*}} = %c0 to %[[END]] step %c1
func.func @partial_tiles(%q: tensor<2x3x64xf32>, %k: tensor<2x70x64xf32>,
                         %v: tensor<2x70x64xf32>) -> tensor<2x3x64xf32> {
  %c, %w = attn.attention query(%q : tensor<2x3x64xf32>)
      keys(%k : tensor<2x70x64xf32>) values(%v : tensor<2x70x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x3x64xf32>, tensor<2x3x70xf32>
  return %c : tensor<2x3x64xf32>
}

// 16 queries over 16 keys (one block): one score vector per row, so 8
// query rows share each loaded key and value vector: 8 score accumulators
// over the depth loop.
// CHECK-LABEL: func.func @short_keys
// CHECK: scf.for {{.*}} step %c8
// CHECK: %{{.*}}:8 = scf.for {{.*}} to %c64 step %c1
func.func @short_keys(%q: tensor<2x16x64xf32>, %k: tensor<2x16x64xf32>,
                      %v: tensor<2x16x64xf32>) -> tensor<2x16x64xf32> {
  %c, %w = attn.attention query(%q : tensor<2x16x64xf32>)
      keys(%k : tensor<2x16x64xf32>) values(%v : tensor<2x16x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x16x64xf32>, tensor<2x16x16xf32>
  return %c : tensor<2x16x64xf32>
}

// Heads split from [B, T, H·D] projections (a multi-head layer): the loops
// read the queries and values in place (row b·H + h at [b, t, h·D + d]),
// the keys are transposed from the unsplit tensor in one copy, and the
// context rows are written straight into the merged [B, T, H·Dv] tensor
// that the heads' merge made; the split and merge copies are dead.
// CHECK-LABEL: func.func @heads_in_place
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x128xf32>
// CHECK: %[[K4:.*]] = tensor.expand_shape %[[X]] {{.*}} into tensor<2x16x2x64xf32>
// CHECK: %[[KT:.*]] = attn.permute %[[K4]] {perm = array<i64: 0, 2, 3, 1>}
// CHECK: tensor.collapse_shape %[[KT]] {{.*}} into tensor<4x64x16xf32>
// CHECK-NOT: perm = array<i64: 0, 2, 1, 3>
// CHECK: scf.for %[[BI:.*]] = %c0 to %c4
// CHECK: arith.divui %[[BI]], %c2
// CHECK: tensor.extract %[[X]][
// CHECK: vector.transfer_read %[[X]][
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<2x16x128xf32>
// CHECK-NOT: attn.permute
// CHECK: return %{{.*}} : tensor<2x16x128xf32>
func.func @heads_in_place(%x: tensor<2x16x128xf32>) -> tensor<2x16x128xf32> {
  %e = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [2, 16, 2, 64]
      : tensor<2x16x128xf32> into tensor<2x16x2x64xf32>
  %p = attn.permute %e {perm = array<i64: 0, 2, 1, 3>}
      : (tensor<2x16x2x64xf32>) -> tensor<2x2x16x64xf32>
  %h = tensor.collapse_shape %p [[0, 1], [2], [3]]
      : tensor<2x2x16x64xf32> into tensor<4x16x64xf32>
  %c, %w = attn.attention query(%h : tensor<4x16x64xf32>)
      keys(%h : tensor<4x16x64xf32>) values(%h : tensor<4x16x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %m = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %s = attn.reduce %m {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %s : tensor<1xf32>
  } : tensor<4x16x64xf32>, tensor<4x16x16xf32>
  %ce = tensor.expand_shape %c [[0, 1], [2], [3]] output_shape [2, 2, 16, 64]
      : tensor<4x16x64xf32> into tensor<2x2x16x64xf32>
  %cp = attn.permute %ce {perm = array<i64: 0, 2, 1, 3>}
      : (tensor<2x2x16x64xf32>) -> tensor<2x16x2x64xf32>
  %y = tensor.collapse_shape %cp [[0], [1], [2, 3]]
      : tensor<2x16x2x64xf32> into tensor<2x16x128xf32>
  return %y : tensor<2x16x128xf32>
}

// 1024 keys: Kᵀ by blocks of 64 keys, [B, T/64, D, 64], so that a block's
// depth rows are one contiguous run (as [B, D, T] they lie 4 KB apart and
// share a few L1 sets); the depth loop reads block j0/64 at offsets 0-48.
// Query tiles of 4 go in pairs that take each key block in turn: the query
// loop steps by 8 and the key loop carries both tiles' m, l and O (2 × (4 +
// 4 + 4 · 4) values); the second tile reads query rows i0 + 4 to i0 + 7.
// CHECK-LABEL: func.func @blocked_keys
// CHECK: %[[K5:.*]] = tensor.expand_shape %{{.*}} into tensor<2x16x64x1x64xf32>
// CHECK: %[[KT:.*]] = attn.permute %[[K5]] {perm = array<i64: 0, 3, 1, 4, 2>}
// CHECK: %[[KB:.*]] = tensor.collapse_shape %[[KT]] {{.*}} into tensor<2x16x64x64xf32>
// CHECK: scf.for %[[I0:.*]] = %c0 to %c16 step %c8
// CHECK: %{{.*}}:48 = scf.for %[[J0:.*]] = %c0 to %{{.*}} step %c64
// CHECK: %[[BLOCK:.*]] = arith.divui %[[J0]], %c64
// CHECK: scf.for %[[D:.*]] = %c0 to %c64 step %c1
// CHECK: vector.transfer_read %[[KB]][%{{.*}}, %[[BLOCK]], %[[D]], %c0]
// CHECK: vector.transfer_read %[[KB]][%{{.*}}, %[[BLOCK]], %[[D]], %c48]
// CHECK: scf.for %[[D2:.*]] = %c0 to %c64 step %c1
// CHECK: vector.transfer_read %[[KB]][%{{.*}}, %[[BLOCK]], %[[D2]], %c0]
// CHECK: arith.addi %[[I0]], %c7
func.func @blocked_keys(%q: tensor<2x16x64xf32>, %k: tensor<2x1024x64xf32>,
                        %v: tensor<2x1024x64xf32>) -> tensor<2x16x64xf32> {
  %c, %w = attn.attention query(%q : tensor<2x16x64xf32>)
      keys(%k : tensor<2x1024x64xf32>) values(%v : tensor<2x1024x64xf32>) score {
  ^bb0(%qr: tensor<64xf32>, %kr: tensor<64xf32>):
    %p = attn.binary %qr, %kr {kind = #attn<binary mul>}
        : (tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    %e = attn.reduce %p {axis = 0 : i64, kind = #attn<reduce sum>, keepdim = true}
        : (tensor<64xf32>) -> tensor<1xf32>
    attn.yield %e : tensor<1xf32>
  } : tensor<2x16x64xf32>, tensor<2x16x1024xf32>
  return %c : tensor<2x16x64xf32>
}
