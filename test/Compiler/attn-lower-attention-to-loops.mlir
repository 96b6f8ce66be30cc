// RUN: heed-opt %S/Inputs/bahdanau_attention.mlir --attn-lower-attention-to-loops | FileCheck %s
// RUN: heed-opt %S/Inputs/bahdanau_attention.mlir --heed-attn-to-linalg --heed-linalg-to-llvm="raise=false" --mlir-print-ir-after=one-shot-bufferize 2>&1 >/dev/null | FileCheck %s --check-prefix=BUF

// CHECK-LABEL: func @attention
// The weight is split by columns once, outside the loops.
// CHECK-DAG: %[[WQ:.*]] = tensor.extract_slice %{{.*}}[0, 0] [10, 64] [1, 1] : tensor<10x128xf32> to tensor<10x64xf32>
// CHECK-DAG: %[[WK:.*]] = tensor.extract_slice %{{.*}}[0, 64] [10, 64] [1, 1] : tensor<10x128xf32> to tensor<10x64xf32>
// CHECK: scf.for %[[B:[[:alnum:]_]+]] =
// The row's keys; the key half is projected for all steps of the row at
// once ([T, 10]), before the row's queries.
// CHECK: %[[KEYS:.*]] = tensor.extract_slice %{{.*}}[%[[B]], 0, 0] [1, 30, 64] [1, 1, 1] : tensor<2x30x64xf32> to tensor<30x64xf32>
// CHECK: %[[KPROJ:.*]] = attn.dense %[[KEYS]], %[[WK]] : (tensor<30x64xf32>, tensor<10x64xf32>) -> tensor<30x10xf32>
// The row's query; the query half of the first dense layer is computed once
// per batch row.
// CHECK: %[[QROW:.*]] = tensor.extract_slice %{{.*}}[%[[B]], 0] [1, 64] [1, 1] : tensor<2x64xf32> to tensor<64xf32>
// CHECK: %[[PARTIAL:.*]] = attn.dense %[[QROW]], %[[WQ]], %{{.*}} : (tensor<64xf32>, tensor<10x64xf32>, tensor<10xf32>) -> tensor<10xf32>
// The rest of the score runs on [T, ·] rows, the query part broadcast.
// CHECK: %[[H:.*]] = attn.binary %[[PARTIAL]], %[[KPROJ]] {kind = #attn<binary add>} : (tensor<10xf32>, tensor<30x10xf32>) -> tensor<30x10xf32>
// CHECK: attn.activate %[[H]] {kind = #attn<activation tanh>} : tensor<30x10xf32>
// CHECK: attn.dense {{.*}} -> tensor<30x1xf32>
// CHECK: %[[E:.*]] = attn.squeeze {{.*}} -> tensor<30xf32>
// Softmax over the row of energies.
// CHECK: attn.reduce %[[E]] {axis = 0 : i64, keepdim = true, kind = #attn<reduce max>}
// CHECK: attn.activate %{{.*}} {kind = #attn<activation exp>} : tensor<30xf32>
// The context accumulates in a vector value, one step at a time.
// CHECK: scf.for
// CHECK: vector.fma
// CHECK-NOT: attn.attention
// CHECK-NOT: attn.concat

// No buffer of the big intermediates ([B, T, n_s + 2 n_a], [B, T, 10]) exists.
// BUF-LABEL: IR Dump After OneShotBufferizePass
// BUF-NOT: memref<2x30x128xf32>
// BUF-NOT: memref<2x30x10xf32>
// BUF-NOT: memref<2x30x1xf32>
// BUF: return

// Local-p with hard selection in the row loop nest: the window mask per
// step, the Gaussian on the row's weights around the row's position, then
// a search for the first maximum whose value row is the context.
// RUN: heed-opt %S/Inputs/local_hard_attention.mlir --attn-lower-attention-to-loops | FileCheck %s --check-prefix=LOCAL
// LOCAL-LABEL: func.func @local_hard
// LOCAL: math.absf
// LOCAL: %[[P:.*]] = tensor.extract %arg2[%{{.*}}] : tensor<3xf32>
// LOCAL: %[[POS:.*]] = tensor.from_elements %[[P]] : tensor<1xf32>
// LOCAL: attn.binary %{{.*}}, %[[POS]] {kind = #attn<binary sub>}
// LOCAL: %[[BEST:.*]]:2 = scf.for {{.*}} -> (f32, index)
// LOCAL: arith.cmpf ogt
// LOCAL: vector.transfer_read %arg1[%{{.*}}, %[[BEST]]#1, %{{.*}}]
