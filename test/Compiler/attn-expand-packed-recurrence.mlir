// RUN: heed-opt %s --split-input-file --verify-diagnostics --attn-expand-packed-recurrence | FileCheck %s
// RUN: heed-opt %s --split-input-file --verify-diagnostics --attn-expand-packed-recurrence=all-layers=1 | FileCheck %s --check-prefix=ALL

// A backward GRU with lengths: one loop from the last step down; a row keeps
// its state (the initial zeros) until its last valid step and writes zeros
// past its length.
// CHECK-LABEL: func.func @gru_reverse
// CHECK-NOT: attn.gru %
// CHECK-DAG: %[[STEPS:.*]] = arith.constant dense<{{\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]]> : tensor<1x5xf32>
// CHECK-DAG: %[[LEN:.*]] = tensor.expand_shape %arg1 {{\[\[}}0, 1]] output_shape [3, 1]
// CHECK: %[[MASK:.*]] = attn.binary %[[STEPS]], %[[LEN]] {kind = #attn<binary lt>} : (tensor<1x5xf32>, tensor<3x1xf32>) -> tensor<3x5xf32>
// CHECK-DAG: %[[H0:.*]] = arith.constant dense<0.000000e+00> : tensor<3x16xf32>
// CHECK-DAG: %[[LAST:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[Y0:.*]] = arith.constant dense<0.000000e+00> : tensor<3x5x16xf32>
// CHECK: %[[LOOP:.*]]:2 = scf.for %[[IV:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[H:.*]] = %[[H0]], %[[Y:.*]] = %[[Y0]])
// CHECK:   %[[T:.*]] = arith.subi %[[LAST]], %[[IV]] : index
// CHECK:   %[[XT:.*]] = tensor.extract_slice %arg0[0, %[[T]], 0] [3, 1, 8] [1, 1, 1] : tensor<3x5x8xf32> to tensor<3x8xf32>
// CHECK:   %[[MT:.*]] = tensor.extract_slice %[[MASK]][0, %[[T]]] [3, 1]
// CHECK:   %[[VALID:.*]] = tensor.expand_shape %[[MT]]
// CHECK:   %[[CELL:.*]] = attn.gru_cell %[[XT]], %[[H]] weights(%arg2, %arg3, %arg4, %arg5)
// CHECK:   %[[KEPT:.*]] = attn.select %[[VALID]], %[[CELL]], %[[H]]
// CHECK:   %[[OUT:.*]] = attn.select %[[VALID]], %[[CELL]], %{{.*}} : (tensor<3x1xf32>, tensor<3x16xf32>, tensor<1xf32>)
// CHECK:   %[[YT:.*]] = tensor.insert_slice %[[OUT]] into %[[Y]][0, %[[T]], 0] [3, 1, 16]
// CHECK:   scf.yield %[[KEPT]], %[[YT]]
// CHECK: %[[HN:.*]] = tensor.expand_shape %[[LOOP]]#0 {{\[\[}}0, 1], [2]] output_shape [1, 3, 16]
// CHECK: return %[[LOOP]]#1, %[[HN]]
func.func @gru_reverse(%x: tensor<3x5x8xf32>, %len: tensor<3xf32>, %wi: tensor<48x8xf32>,
                       %wh: tensor<48x16xf32>, %bi: tensor<48xf32>, %bh: tensor<48xf32>)
    -> (tensor<3x5x16xf32>, tensor<1x3x16xf32>) {
  %y, %h = attn.gru %x lengths(%len) weights(%wi, %wh, %bi, %bh)
      {direction = #attn<direction reverse>, hidden_size = 16 : i64}
      : (tensor<3x5x8xf32>, tensor<3xf32>, tensor<48x8xf32>, tensor<48x16xf32>,
         tensor<48xf32>, tensor<48xf32>) -> (tensor<3x5x16xf32>, tensor<1x3x16xf32>)
  return %y, %h : tensor<3x5x16xf32>, tensor<1x3x16xf32>
}

// -----

// A bidirectional LSTM with initial states: each direction's loop starts
// from its row of h0/c0 and uses its four weights; the sequences are
// concatenated, the final states stacked forward first.
// CHECK-LABEL: func.func @lstm_bidirectional
// CHECK-DAG: %[[HF:.*]] = tensor.extract_slice %arg2[0, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<2x2x4xf32> to tensor<2x4xf32>
// CHECK-DAG: %[[CF:.*]] = tensor.extract_slice %arg3[0, 0, 0] [1, 2, 4] [1, 1, 1] : tensor<2x2x4xf32> to tensor<2x4xf32>
// CHECK: %[[FWD:.*]]:3 = scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %[[HF]], %{{.*}} = %[[CF]], %{{.*}} = %{{.*}})
// CHECK-NOT: arith.subi
// CHECK:   tensor.extract_slice %arg0[0, %[[I]], 0]
// CHECK:   attn.lstm_cell {{.*}} weights(%arg4, %arg5, %arg6, %arg7)
// CHECK-DAG: %[[HB:.*]] = tensor.extract_slice %arg2[1, 0, 0] [1, 2, 4] [1, 1, 1]
// CHECK-DAG: %[[CB:.*]] = tensor.extract_slice %arg3[1, 0, 0] [1, 2, 4] [1, 1, 1]
// CHECK: %[[BWD:.*]]:3 = scf.for {{.*}} iter_args(%{{.*}} = %[[HB]], %{{.*}} = %[[CB]], %{{.*}} = %{{.*}})
// CHECK:   arith.subi
// CHECK:   attn.lstm_cell {{.*}} weights(%arg8, %arg9, %arg10, %arg11)
// CHECK: %[[Y:.*]] = attn.concat %[[FWD]]#2, %[[BWD]]#2 {axis = 2 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x8xf32>
// CHECK: %[[H1:.*]] = tensor.expand_shape %[[FWD]]#0
// CHECK: %[[H2:.*]] = tensor.expand_shape %[[BWD]]#0
// CHECK: %[[H:.*]] = attn.concat %[[H1]], %[[H2]] {axis = 0 : i64}
// CHECK: %[[C1:.*]] = tensor.expand_shape %[[FWD]]#1
// CHECK: %[[C2:.*]] = tensor.expand_shape %[[BWD]]#1
// CHECK: %[[C:.*]] = attn.concat %[[C1]], %[[C2]] {axis = 0 : i64}
// CHECK: return %[[Y]], %[[H]], %[[C]]
func.func @lstm_bidirectional(%x: tensor<2x3x5xf32>, %len: tensor<2xf32>,
    %h0: tensor<2x2x4xf32>, %c0: tensor<2x2x4xf32>,
    %wi: tensor<16x5xf32>, %wh: tensor<16x4xf32>, %bi: tensor<16xf32>, %bh: tensor<16xf32>,
    %wir: tensor<16x5xf32>, %whr: tensor<16x4xf32>, %bir: tensor<16xf32>, %bhr: tensor<16xf32>)
    -> (tensor<2x3x8xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>) {
  %y, %h, %c = attn.lstm %x lengths(%len) init(%h0, %c0)
      weights(%wi, %wh, %bi, %bh, %wir, %whr, %bir, %bhr)
      {direction = #attn<direction bidirectional_concat>, hidden_size = 4 : i64}
      : (tensor<2x3x5xf32>, tensor<2xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>,
         tensor<16x5xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>,
         tensor<16x5xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>)
      -> (tensor<2x3x8xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
  return %y, %h, %c : tensor<2x3x8xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>
}

// -----

// merge=sum adds the directions; a layer without lengths is left to the
// whole-sequence primitive.
// CHECK-LABEL: func.func @gru_sum_and_unmasked
// CHECK: %[[F:.*]]:2 = scf.for
// CHECK: %[[B:.*]]:2 = scf.for
// CHECK: attn.binary %[[F]]#1, %[[B]]#1 {kind = #attn<binary add>}
// CHECK: attn.gru %arg0 weights
// With all-layers (the GPU target), the layer without lengths becomes a
// loop of cells too, with no masks.
// ALL-LABEL: func.func @gru_sum_and_unmasked
// ALL: attn.binary %{{.*}}#1, %{{.*}}#1 {kind = #attn<binary add>}
// ALL: scf.for
// ALL-NOT: attn.select
// ALL: attn.gru_cell
// ALL-NOT: attn.select
// ALL: scf.yield
// ALL-NOT: attn.gru %
// ALL: return
func.func @gru_sum_and_unmasked(%x: tensor<2x3x5xf32>, %len: tensor<2xf32>,
    %wi: tensor<12x5xf32>, %wh: tensor<12x4xf32>, %bi: tensor<12xf32>, %bh: tensor<12xf32>)
    -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %y, %h = attn.gru %x lengths(%len) weights(%wi, %wh, %bi, %bh, %wi, %wh, %bi, %bh)
      {direction = #attn<direction bidirectional_sum>, hidden_size = 4 : i64}
      : (tensor<2x3x5xf32>, tensor<2xf32>, tensor<12x5xf32>, tensor<12x4xf32>,
         tensor<12xf32>, tensor<12xf32>, tensor<12x5xf32>, tensor<12x4xf32>,
         tensor<12xf32>, tensor<12xf32>) -> (tensor<2x3x4xf32>, tensor<2x2x4xf32>)
  %z, %g = attn.gru %x weights(%wi, %wh, %bi, %bh)
      {direction = #attn<direction forward>, hidden_size = 4 : i64}
      : (tensor<2x3x5xf32>, tensor<12x5xf32>, tensor<12x4xf32>, tensor<12xf32>,
         tensor<12xf32>) -> (tensor<2x3x4xf32>, tensor<1x2x4xf32>)
  return %y, %z : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// attn.gru_cell is linear-before-reset: the other GRU has no masked cell.
func.func @gru_reset_before(%x: tensor<2x3x5xf32>, %len: tensor<2xf32>,
    %wi: tensor<12x5xf32>, %wh: tensor<12x4xf32>, %bi: tensor<12xf32>, %bh: tensor<12xf32>)
    -> tensor<2x3x4xf32> {
  // expected-error @+1 {{a GRU run as a loop of cells (lengths, or the GPU target) needs linear_before_reset}}
  %y, %h = attn.gru %x lengths(%len) weights(%wi, %wh, %bi, %bh)
      {direction = #attn<direction forward>, hidden_size = 4 : i64, linear_before_reset = false}
      : (tensor<2x3x5xf32>, tensor<2xf32>, tensor<12x5xf32>, tensor<12x4xf32>,
         tensor<12xf32>, tensor<12xf32>) -> (tensor<2x3x4xf32>, tensor<1x2x4xf32>)
  return %y : tensor<2x3x4xf32>
}
