// RUN: heed-opt %s --split-input-file --attn-simplify-zero-state-cells | FileCheck %s

// A GRU cell from a zero state: one dense layer over the input (the state
// weight is never read) and the gates as elementwise ops.
// CHECK-LABEL: func.func @gru_zero_state
// CHECK-NOT: attn.gru_cell
// CHECK: %[[I:.*]] = attn.dense %arg0, %arg1, %arg3 : (tensor<4x8xf32>, tensor<48x8xf32>, tensor<48xf32>) -> tensor<4x48xf32>
// CHECK-NOT: %arg2
// CHECK-DAG: %[[IR:.*]] = tensor.extract_slice %[[I]][0, 0] [4, 16] [1, 1]
// CHECK-DAG: %[[BR:.*]] = tensor.extract_slice %arg4[0] [16] [1]
// CHECK: %[[SR:.*]] = attn.binary %[[IR]], %[[BR]] {kind = #attn<binary add>}
// CHECK: %[[R:.*]] = attn.activate %[[SR]] {kind = #attn<activation sigmoid>}
// CHECK: %[[Z:.*]] = attn.activate %{{.*}} {kind = #attn<activation sigmoid>}
// CHECK: %[[BN:.*]] = tensor.extract_slice %arg4[32] [16] [1]
// CHECK: %[[RBN:.*]] = attn.binary %[[R]], %[[BN]] {kind = #attn<binary mul>}
// CHECK: %[[N:.*]] = attn.activate %{{.*}} {kind = #attn<activation tanh>}
// CHECK: %[[ZN:.*]] = attn.binary %[[Z]], %[[N]] {kind = #attn<binary mul>}
// CHECK: %[[H:.*]] = attn.binary %[[N]], %[[ZN]] {kind = #attn<binary sub>}
// CHECK: return %[[H]]
func.func @gru_zero_state(%x: tensor<4x8xf32>, %wi: tensor<48x8xf32>, %wh: tensor<48x16xf32>,
                          %bi: tensor<48xf32>, %bh: tensor<48xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant dense<0.0> : tensor<4x16xf32>
  %h = attn.gru_cell %x, %zero weights(%wi, %wh, %bi, %bh)
      : (tensor<4x8xf32>, tensor<4x16xf32>, tensor<48x8xf32>, tensor<48x16xf32>,
         tensor<48xf32>, tensor<48xf32>) -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}

// -----

// A state carried from step to step stays a cell.
// CHECK-LABEL: func.func @gru_carried_state
// CHECK: attn.gru_cell
func.func @gru_carried_state(%x: tensor<4x8xf32>, %h0: tensor<4x16xf32>,
                             %wi: tensor<48x8xf32>, %wh: tensor<48x16xf32>,
                             %bi: tensor<48xf32>, %bh: tensor<48xf32>) -> tensor<4x16xf32> {
  %h = attn.gru_cell %x, %h0 weights(%wi, %wh, %bi, %bh)
      : (tensor<4x8xf32>, tensor<4x16xf32>, tensor<48x8xf32>, tensor<48x16xf32>,
         tensor<48xf32>, tensor<48xf32>) -> tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}

// -----

// An LSTM cell from zero h and c: gates = dense(x) + b_hh; c' = σ(i) tanh(g)
// (no forget term), h' = σ(o) tanh(c').
// CHECK-LABEL: func.func @lstm_zero_state
// CHECK-NOT: attn.lstm_cell
// CHECK: %[[D:.*]] = attn.dense %arg0, %arg1, %arg3
// CHECK: %[[G:.*]] = attn.binary %[[D]], %arg4 {kind = #attn<binary add>}
// CHECK-NOT: extract_slice %[[G]][0, 16]
// CHECK: %[[C:.*]] = attn.binary %{{.*}}, %{{.*}} {kind = #attn<binary mul>}
// CHECK: %[[TC:.*]] = attn.activate %[[C]] {kind = #attn<activation tanh>}
// CHECK: %[[H:.*]] = attn.binary %{{.*}}, %[[TC]] {kind = #attn<binary mul>}
// CHECK: return %[[H]], %[[C]]
func.func @lstm_zero_state(%x: tensor<2x8xf32>, %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>,
                           %bi: tensor<64xf32>, %bh: tensor<64xf32>)
    -> (tensor<2x16xf32>, tensor<2x16xf32>) {
  %zero = arith.constant dense<0.0> : tensor<2x16xf32>
  %h, %c = attn.lstm_cell %x, %zero, %zero weights(%wi, %wh, %bi, %bh)
      : (tensor<2x8xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<64x8xf32>,
         tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>) -> (tensor<2x16xf32>, tensor<2x16xf32>)
  return %h, %c : tensor<2x16xf32>, tensor<2x16xf32>
}
