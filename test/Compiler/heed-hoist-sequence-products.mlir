// RUN: heed-opt %s --split-input-file --heed-hoist-sequence-products --canonicalize | FileCheck %s

// A GRU layer's input product in its time loop: each step multiplies its
// slice of the sequence [3, 7, 32] by the input weights [32, 96] into the
// bias. One product over all 7 steps is made before the loop, into the
// bias repeated per step, with the step axis first (a new last loop dim:
// d3 reads the sequence's time axis and writes the result's first); the
// loop takes step %t's rows of it.
// CHECK-DAG: #[[MAPX:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// CHECK-DAG: #[[MAPW:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[MAPO:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
// CHECK-LABEL: func.func @gru_inputs
// CHECK-SAME: (%[[SEQ:[^:]*]]: tensor<3x7x32xf32>, %[[W:[^:]*]]: tensor<32x96xf32>, %[[BIAS:[^:]*]]: tensor<3x96xf32>
// CHECK: %[[REP:.*]] = linalg.generic {{.*}} ins(%[[BIAS]] : tensor<3x96xf32>) outs(%{{.*}} : tensor<7x3x96xf32>)
// CHECK: %[[ALL:.*]] = linalg.generic {indexing_maps = [#[[MAPX:.*]], #[[MAPW:.*]], #[[MAPO:.*]]], iterator_types = ["parallel", "reduction", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[SEQ]], %[[W]] : tensor<3x7x32xf32>, tensor<32x96xf32>) outs(%[[REP]] : tensor<7x3x96xf32>)
// CHECK: scf.for %[[T:[^ ]*]] =
// CHECK-NOT: linalg.generic
// CHECK: tensor.extract_slice %[[ALL]][%[[T]], 0, 0] [1, 3, 96] [1, 1, 1] : tensor<7x3x96xf32> to tensor<3x96xf32>
#x = affine_map<(b, k, n) -> (b, k)>
#w = affine_map<(b, k, n) -> (k, n)>
#o = affine_map<(b, k, n) -> (b, n)>
func.func @gru_inputs(%seq: tensor<3x7x32xf32>, %w: tensor<32x96xf32>, %bias: tensor<3x96xf32>,
                      %acc: tensor<3x96xf32>) -> tensor<3x96xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %r = scf.for %t = %c0 to %c7 step %c1 iter_args(%a = %acc) -> tensor<3x96xf32> {
    %x = tensor.extract_slice %seq[0, %t, 0] [3, 1, 32] [1, 1, 1]
        : tensor<3x7x32xf32> to tensor<3x32xf32>
    %g = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%x, %w : tensor<3x32xf32>, tensor<32x96xf32>) outs(%bias : tensor<3x96xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %m = arith.mulf %in, %in_0 : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<3x96xf32>
    %n = arith.addf %a, %g : tensor<3x96xf32>
    scf.yield %n : tensor<3x96xf32>
  }
  return %r : tensor<3x96xf32>
}

// -----

// At batch 1 the step's slice [1, 1, 32] -> [1, 32] drops one of two unit
// axes (its type cannot say which): the time axis is the one the slice does
// not take whole, so the sequence is still read at the step on axis 1.
// CHECK-DAG: #[[MAPX1:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// CHECK-DAG: #[[MAPO1:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
// CHECK-LABEL: func.func @batch_one
// CHECK: %[[ALL:.*]] = linalg.generic {indexing_maps = [#[[MAPX1]], #{{[^,]*}}, #[[MAPO1]]]
// CHECK-SAME: outs(%{{.*}} : tensor<7x1x96xf32>)
// CHECK: scf.for %[[T:[^ ]*]] =
// CHECK-NOT: linalg.generic
// CHECK: tensor.extract_slice %[[ALL]][%[[T]], 0, 0] [1, 1, 96]
#x1 = affine_map<(b, k, n) -> (b, k)>
#w1 = affine_map<(b, k, n) -> (k, n)>
#o1 = affine_map<(b, k, n) -> (b, n)>
func.func @batch_one(%seq: tensor<1x7x32xf32>, %w: tensor<32x96xf32>, %bias: tensor<1x96xf32>,
                     %acc: tensor<1x96xf32>) -> tensor<1x96xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %r = scf.for %t = %c0 to %c7 step %c1 iter_args(%a = %acc) -> tensor<1x96xf32> {
    %x = tensor.extract_slice %seq[0, %t, 0] [1, 1, 32] [1, 1, 1]
        : tensor<1x7x32xf32> to tensor<1x32xf32>
    %g = linalg.generic {indexing_maps = [#x1, #w1, #o1], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%x, %w : tensor<1x32xf32>, tensor<32x96xf32>) outs(%bias : tensor<1x96xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %m = arith.mulf %in, %in_0 : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<1x96xf32>
    %n = arith.addf %a, %g : tensor<1x96xf32>
    scf.yield %n : tensor<1x96xf32>
  }
  return %r : tensor<1x96xf32>
}

// -----

// Left in the loop: the step's input is the loop's own state (a decoder
// feeding back its output), and a slice that is not a whole step (half the
// batch rows).
// CHECK-LABEL: func.func @not_a_sequence
// CHECK: scf.for
// CHECK-COUNT-2: linalg.generic
#x2 = affine_map<(b, k, n) -> (b, k)>
#w2 = affine_map<(b, k, n) -> (k, n)>
#o2 = affine_map<(b, k, n) -> (b, n)>
func.func @not_a_sequence(%seq: tensor<4x7x32xf32>, %w: tensor<32x32xf32>, %bias: tensor<4x32xf32>,
                          %h0: tensor<4x32xf32>, %b2: tensor<2x32xf32>) -> (tensor<4x32xf32>, tensor<2x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %r:2 = scf.for %t = %c0 to %c7 step %c1 iter_args(%h = %h0, %q = %b2) -> (tensor<4x32xf32>, tensor<2x32xf32>) {
    %g = linalg.generic {indexing_maps = [#x2, #w2, #o2], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%h, %w : tensor<4x32xf32>, tensor<32x32xf32>) outs(%bias : tensor<4x32xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %m = arith.mulf %in, %in_0 : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<4x32xf32>
    %x = tensor.extract_slice %seq[0, %t, 0] [2, 1, 32] [1, 1, 1]
        : tensor<4x7x32xf32> to tensor<2x32xf32>
    %p = linalg.generic {indexing_maps = [#x2, #w2, #o2], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%x, %w : tensor<2x32xf32>, tensor<32x32xf32>) outs(%b2 : tensor<2x32xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %m = arith.mulf %in, %in_0 : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<2x32xf32>
    scf.yield %g, %p : tensor<4x32xf32>, tensor<2x32xf32>
  }
  return %r#0, %r#1 : tensor<4x32xf32>, tensor<2x32xf32>
}

// -----

// An LSTM cell's product over [step's input (37), state (32)] times its
// stacked weights [69, 128]: split along the reduction into the input's
// rows of the weight (sliced before the loop) into the bias, then the
// state's rows into that; the input's product is then hoisted over all 30
// steps and the loop keeps the state's, accumulating into its step's rows.
// CHECK-LABEL: func.func @lstm_concat
// CHECK-SAME: (%[[SEQ:[^:]*]]: tensor<4x30x37xf32>, %[[W:[^:]*]]: tensor<69x128xf32>, %[[BIAS:[^:]*]]: tensor<4x128xf32>
// CHECK-DAG: %[[WX:.*]] = tensor.extract_slice %[[W]][0, 0] [37, 128] [1, 1]
// CHECK-DAG: %[[WH:.*]] = tensor.extract_slice %[[W]][37, 0] [32, 128] [1, 1]
// CHECK: %[[ALL:.*]] = linalg.generic {{.*}} ins(%[[SEQ]], %[[WX]] : tensor<4x30x37xf32>, tensor<37x128xf32>) outs(%{{.*}} : tensor<30x4x128xf32>)
// CHECK: scf.for %[[T:[^ ]*]] = {{.*}} iter_args(%[[H:[^ ]*]] =
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[ALL]][%[[T]], 0, 0] [1, 4, 128]
// CHECK: linalg.generic {{.*}} ins(%[[H]], %[[WH]] : tensor<4x32xf32>, tensor<32x128xf32>) outs(%[[ROWS]] : tensor<4x128xf32>)
// CHECK-NOT: linalg.generic
#xk3 = affine_map<(b, k, n) -> (b, k)>
#kn3 = affine_map<(b, k, n) -> (k, n)>
#bn3 = affine_map<(b, k, n) -> (b, n)>
func.func @lstm_concat(%seq: tensor<4x30x37xf32>, %w: tensor<69x128xf32>, %bias: tensor<4x128xf32>,
                       %h0: tensor<4x32xf32>, %base: tensor<4x69xf32>) -> tensor<4x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c30 = arith.constant 30 : index
  %r = scf.for %t = %c0 to %c30 step %c1 iter_args(%h = %h0) -> tensor<4x32xf32> {
    %x = tensor.extract_slice %seq[0, %t, 0] [4, 1, 37] [1, 1, 1]
        : tensor<4x30x37xf32> to tensor<4x37xf32>
    %a = tensor.insert_slice %x into %base[0, 0] [4, 37] [1, 1] : tensor<4x37xf32> into tensor<4x69xf32>
    %xh = tensor.insert_slice %h into %a[0, 37] [4, 32] [1, 1] : tensor<4x32xf32> into tensor<4x69xf32>
    %g = linalg.generic {indexing_maps = [#xk3, #kn3, #bn3], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%xh, %w : tensor<4x69xf32>, tensor<69x128xf32>) outs(%bias : tensor<4x128xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %m = arith.mulf %in, %in_0 : f32
      %s = arith.addf %out, %m : f32
      linalg.yield %s : f32
    } -> tensor<4x128xf32>
    %n = tensor.extract_slice %g[0, 0] [4, 32] [1, 1] : tensor<4x128xf32> to tensor<4x32xf32>
    scf.yield %n : tensor<4x32xf32>
  }
  return %r : tensor<4x32xf32>
}
