// RUN: heed-opt %S/Inputs/bahdanau_attention.mlir --attn-decompose-attention | FileCheck %s

// The reference lowering rebuilds the whole-tensor computation. A
// concatenation needs the query repeated over all T steps.
// CHECK-LABEL: func @attention
// CHECK: %[[R:.*]] = attn.repeat %arg1 {axis = 1 : i64, count = 30 : i64} : (tensor<2x64xf32>) -> tensor<2x30x64xf32>
// CHECK: %[[C:.*]] = attn.concat %[[R]], %{{.*}} {axis = 2 : i64} : {{.*}} -> tensor<2x30x128xf32>
// CHECK: attn.dense %[[C]], {{.*}} -> tensor<2x30x10xf32>
// CHECK: %[[W:.*]] = attn.softmax %{{.*}} {axis = 1 : i64} : tensor<2x30xf32>
// CHECK: %[[CTX:.*]] = attn.reduce %{{.*}} {axis = 1 : i64, kind = #attn<reduce sum>}
// CHECK: return %[[CTX]], %[[W]]
// CHECK-NOT: attn.attention

// Work on captured weights alone (the transpose of `q @ W_q`) is the same
// for every row: cloned unchanged, not lifted to [B, T]. Work on the query
// alone runs once per row ([B, 1, ·]); a score of the query alone is
// repeated over T at the end.
// RUN: heed-opt %S/Inputs/weight_work_in_score.mlir --attn-decompose-attention | FileCheck %s --check-prefix=WEIGHT
// WEIGHT-LABEL: func @weight_work
// WEIGHT: %[[T:.*]] = attn.permute %{{.*}} {perm = array<i64: 1, 0>} : (tensor<32x10xf32>) -> tensor<10x32xf32>
// WEIGHT: attn.dense %{{.*}}, %[[T]] : (tensor<2x1x32xf32>, tensor<10x32xf32>) -> tensor<2x1x10xf32>
// WEIGHT: %[[E:.*]] = attn.reduce {{.*}} -> tensor<2x1x1xf32>
// WEIGHT: %[[E1:.*]] = attn.squeeze %[[E]] {axis = 1 : i64}
// WEIGHT: attn.repeat %[[E1]] {axis = 1 : i64, count = 30 : i64} : (tensor<2x1xf32>) -> tensor<2x30x1xf32>
// WEIGHT-NOT: attn.attention

// Over a sequence of queries the query rows are [B, Tq, 1, ·] and the key
// rows [B, 1, T, ·]: each side's dense layer runs once per row, and they
// meet in attn.binary's broadcast. A concatenation repeats both sides.
// RUN: heed-opt %S/Inputs/broadcast_score_attention.mlir --attn-decompose-attention | FileCheck %s --check-prefix=SEQ
// SEQ-LABEL: func.func @additive_sequence
// SEQ: %[[Q:.*]] = attn.repeat %arg0 {axis = 2 : i64, count = 1 : i64} : (tensor<2x3x6xf32>) -> tensor<2x3x1x6xf32>
// SEQ: %[[K:.*]] = attn.repeat %arg1 {axis = 1 : i64, count = 1 : i64} : (tensor<2x10x8xf32>) -> tensor<2x1x10x8xf32>
// SEQ: %[[WQ:.*]] = attn.dense %[[Q]], %arg2 : {{.*}} -> tensor<2x3x1x4xf32>
// SEQ: %[[UK:.*]] = attn.dense %[[K]], %arg3 : {{.*}} -> tensor<2x1x10x4xf32>
// SEQ: attn.binary %[[WQ]], %[[UK]] {kind = #attn<binary add>} : (tensor<2x3x1x4xf32>, tensor<2x1x10x4xf32>) -> tensor<2x3x10x4xf32>
// SEQ: attn.softmax %{{.*}} {axis = 2 : i64} : tensor<2x3x10xf32>
// SEQ-LABEL: func.func @concat_sequence
// SEQ: %[[T:.*]] = attn.activate %{{.*}} : tensor<2x3x1x6xf32>
// SEQ: %[[T2:.*]] = attn.squeeze %[[T]] {axis = 2 : i64}
// SEQ: %[[TR:.*]] = attn.repeat %[[T2]] {axis = 2 : i64, count = 10 : i64} : (tensor<2x3x6xf32>) -> tensor<2x3x10x6xf32>
// SEQ: %[[KR:.*]] = attn.repeat %arg1 {axis = 1 : i64, count = 3 : i64} : (tensor<2x10x8xf32>) -> tensor<2x3x10x8xf32>
// SEQ: attn.concat %[[TR]], %[[KR]] {axis = 3 : i64} : {{.*}} -> tensor<2x3x10x14xf32>

// Luong local-p with hard selection: steps farther than D from the position
// are masked (-inf), the weights are multiplied by the Gaussian around it,
// and the context is the value at the weights' first maximum (a one-hot
// select and a sum, zero where nothing is attended).
// RUN: heed-opt %S/Inputs/local_hard_attention.mlir --attn-decompose-attention | FileCheck %s --check-prefix=LOCAL
// LOCAL-LABEL: func.func @local_hard
// LOCAL: %[[DIST:.*]] = math.absf
// LOCAL: arith.cmpf ugt, %[[DIST]]
// LOCAL: attn.binary {{.*}}kind = #attn<binary div>
// LOCAL: %[[GAUSS:.*]] = attn.activate %{{.*}} {kind = #attn<activation exp>} : tensor<3x10xf32>
// LOCAL: %[[W:.*]] = attn.binary %{{.*}}, %[[GAUSS]] {kind = #attn<binary mul>}
// LOCAL: %[[FIRST:.*]] = attn.argmax %[[W]]
// LOCAL: %[[ONEHOT:.*]] = attn.binary %{{.*}}, %{{.*}} {kind = #attn<binary eq>}
// LOCAL: %[[HOTROW:.*]] = attn.binary %[[ONEHOT]], %{{.*}} {kind = #attn<binary mul>}
// LOCAL: %[[HOT:.*]] = attn.repeat %[[HOTROW]]
// LOCAL: %[[PICKED:.*]] = attn.select %[[HOT]], %arg1
// LOCAL: %[[CTX:.*]] = attn.reduce %[[PICKED]] {axis = 1 : i64, kind = #attn<reduce sum>}
// LOCAL: return %[[CTX]], %[[W]]
