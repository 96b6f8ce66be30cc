// RUN: heed-opt %S/Inputs/bahdanau_attention.mlir --attn-decompose-attention | FileCheck %s

// The reference lowering rebuilds the whole-tensor computation.
// CHECK-LABEL: func @attention
// CHECK: %[[R:.*]] = attn.repeat %{{.*}} {axis = 1 : i64, count = 30 : i64} : (tensor<2x64xf32>) -> tensor<2x30x64xf32>
// CHECK: %[[C:.*]] = attn.concat %[[R]], %{{.*}} {axis = 2 : i64} : {{.*}} -> tensor<2x30x128xf32>
// CHECK: attn.dense %[[C]], {{.*}} -> tensor<2x30x10xf32>
// CHECK: %[[W:.*]] = attn.softmax %{{.*}} {axis = 1 : i64} : tensor<2x30xf32>
// CHECK: %[[CTX:.*]] = attn.reduce %{{.*}} {axis = 1 : i64, kind = #attn<reduce sum>}
// CHECK: return %[[CTX]], %[[W]]
// CHECK-NOT: attn.attention

// Work on captured weights alone (the transpose of `q @ W_q`) is the same
// for every row: cloned unchanged, not lifted to [B, T].
// RUN: heed-opt %S/Inputs/weight_work_in_score.mlir --attn-decompose-attention | FileCheck %s --check-prefix=WEIGHT
// WEIGHT-LABEL: func @weight_work
// WEIGHT: %[[T:.*]] = attn.permute %{{.*}} {perm = array<i64: 1, 0>} : (tensor<32x10xf32>) -> tensor<10x32xf32>
// WEIGHT: attn.dense %{{.*}}, %[[T]] : (tensor<2x30x32xf32>, tensor<10x32xf32>) -> tensor<2x30x10xf32>
// WEIGHT-NOT: attn.attention

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
