// RUN: heed-opt %s --attn-raise-attention --canonicalize | FileCheck %s

// Seed 000's one_step_attention as the frontend emits it.
// CHECK-LABEL: func @one_step_attention
// CHECK-SAME: (%[[A:.*]]: tensor<2x30x64xf32>, %[[S:.*]]: tensor<2x64xf32>
func.func @one_step_attention(%a: tensor<2x30x64xf32>, %s: tensor<2x64xf32>,
    %w1: tensor<10x128xf32>, %b1: tensor<10xf32>, %w2: tensor<1x10xf32>,
    %b2: tensor<1xf32>) -> (tensor<2x64xf32>, tensor<2x30xf32>) {
  // CHECK: %[[CTX:.*]], %[[W:.*]] = attn.attention query(%[[S]] : tensor<2x64xf32>) keys(%[[A]] : tensor<2x30x64xf32>) values(%[[A]] : tensor<2x30x64xf32>) score {
  // CHECK-NEXT: ^bb0(%[[Q:.*]]: tensor<64xf32>, %[[K:.*]]: tensor<64xf32>):
  // CHECK-NEXT: %[[C:.*]] = attn.concat %[[Q]], %[[K]] {axis = 0 : i64}
  // CHECK-NEXT: %[[H:.*]] = attn.dense %[[C]], {{.*}} {activation = #attn<activation tanh>}
  // CHECK-SAME: -> tensor<10xf32>
  // CHECK-NEXT: %[[E:.*]] = attn.dense %[[H]], {{.*}} {activation = #attn<activation relu>}
  // CHECK-NEXT: attn.yield %[[E]] : tensor<1xf32>
  // The whole-tensor repeat/concat/dense chain is gone.
  // CHECK-NOT: tensor<2x30x128xf32>
  // CHECK-NOT: tensor<2x30x10xf32>
  // CHECK: return %[[CTX]]
  %r = attn.repeat %s {axis = 1 : i64, count = 30 : i64} : (tensor<2x64xf32>) -> tensor<2x30x64xf32>
  %c = attn.concat %r, %a {axis = 2 : i64} : (tensor<2x30x64xf32>, tensor<2x30x64xf32>) -> tensor<2x30x128xf32>
  %e = attn.dense %c, %w1, %b1 {activation = #attn<activation tanh>} : (tensor<2x30x128xf32>, tensor<10x128xf32>, tensor<10xf32>) -> tensor<2x30x10xf32>
  %en = attn.dense %e, %w2, %b2 {activation = #attn<activation relu>} : (tensor<2x30x10xf32>, tensor<1x10xf32>, tensor<1xf32>) -> tensor<2x30x1xf32>
  %al = attn.softmax %en {axis = 1 : i64} : tensor<2x30x1xf32>
  %m = attn.binary %al, %a {kind = #attn<binary mul>} : (tensor<2x30x1xf32>, tensor<2x30x64xf32>) -> tensor<2x30x64xf32>
  %ctx = attn.reduce %m {axis = 1 : i64, kind = #attn<reduce sum>} : (tensor<2x30x64xf32>) -> tensor<2x64xf32>
  %w = attn.squeeze %al {axis = 2 : i64} : (tensor<2x30x1xf32>) -> tensor<2x30xf32>
  return %ctx, %w : tensor<2x64xf32>, tensor<2x30xf32>
}

// A softmax over the feature axis is not attention over time: untouched.
// CHECK-LABEL: func @not_over_time
// CHECK-NOT: attn.attention
func.func @not_over_time(%a: tensor<2x30x64xf32>, %s: tensor<2x64xf32>,
    %w2: tensor<1x64xf32>) -> tensor<2x64xf32> {
  %r = attn.repeat %s {axis = 1 : i64, count = 30 : i64} : (tensor<2x64xf32>) -> tensor<2x30x64xf32>
  %x = attn.binary %r, %a {kind = #attn<binary mul>} : (tensor<2x30x64xf32>, tensor<2x30x64xf32>) -> tensor<2x30x64xf32>
  %en = attn.dense %x, %w2 : (tensor<2x30x64xf32>, tensor<1x64xf32>) -> tensor<2x30x1xf32>
  %al = attn.softmax %en {axis = 2 : i64} : tensor<2x30x1xf32>
  %m = attn.binary %al, %a {kind = #attn<binary mul>} : (tensor<2x30x1xf32>, tensor<2x30x64xf32>) -> tensor<2x30x64xf32>
  %ctx = attn.reduce %m {axis = 1 : i64, kind = #attn<reduce sum>} : (tensor<2x30x64xf32>) -> tensor<2x64xf32>
  return %ctx : tensor<2x64xf32>
}

// Keys that are themselves a softmax over time (modelgen seed 702): the
// matcher takes the softmax into the score chain, which has no row form.
// The subgraph stays as it is; before, the pass failed with no message.
// CHECK-LABEL: func @keys_from_softmax_over_time
// CHECK-NOT: attn.attention
// CHECK: attn.softmax %{{.*}} {axis = 1 : i64} : tensor<3x2x5xf32>
// CHECK: attn.reduce
func.func @keys_from_softmax_over_time(%h: tensor<3x2x5xf32>, %q: tensor<3x5xf32>,
    %v: tensor<3x2x4xf32>, %w1: tensor<5x10xf32>, %b1: tensor<5xf32>,
    %w2: tensor<1x5xf32>, %b2: tensor<1xf32>) -> tensor<3x4xf32> {
  %k = attn.softmax %h {axis = 1 : i64} : tensor<3x2x5xf32>
  %r = attn.repeat %q {axis = 1 : i64, count = 2 : i64} : (tensor<3x5xf32>) -> tensor<3x2x5xf32>
  %c = attn.concat %r, %k {axis = 2 : i64} : (tensor<3x2x5xf32>, tensor<3x2x5xf32>) -> tensor<3x2x10xf32>
  %e = attn.dense %c, %w1, %b1 {activation = #attn<activation tanh>} : (tensor<3x2x10xf32>, tensor<5x10xf32>, tensor<5xf32>) -> tensor<3x2x5xf32>
  %en = attn.dense %e, %w2, %b2 : (tensor<3x2x5xf32>, tensor<1x5xf32>, tensor<1xf32>) -> tensor<3x2x1xf32>
  %al = attn.softmax %en {axis = 1 : i64} : tensor<3x2x1xf32>
  %m = attn.binary %al, %v {kind = #attn<binary mul>} : (tensor<3x2x1xf32>, tensor<3x2x4xf32>) -> tensor<3x2x4xf32>
  %ctx = attn.reduce %m {axis = 1 : i64, kind = #attn<reduce sum>} : (tensor<3x2x4xf32>) -> tensor<3x4xf32>
  return %ctx : tensor<3x4xf32>
}

// A key computed with a constant that spans the steps (avg_pool1d's [T, 1]
// divisors, here a window of 1) has no row form: nothing is raised (it
// used to be cloned into the score region as it was, [T, F] in a row of
// [F], and crashed the concat's shape inference).
// CHECK-LABEL: func.func @step_constant
// CHECK-NOT: attn.attention
// CHECK: attn.softmax
func.func @step_constant(%x: tensor<2x3x2xf32>, %q: tensor<2x6xf32>,
                         %w1: tensor<2x8xf32>, %b1: tensor<2xf32>,
                         %w2: tensor<1x2xf32>, %b2: tensor<1xf32>) -> tensor<2x2xf32> {
  %cst = arith.constant dense<1.000000e+00> : tensor<3x1xf32>
  %0 = attn.binary %x, %cst {kind = #attn<binary mul>} : (tensor<2x3x2xf32>, tensor<3x1xf32>) -> tensor<2x3x2xf32>
  %1 = attn.repeat %q {axis = 1 : i64, count = 3 : i64} : (tensor<2x6xf32>) -> tensor<2x3x6xf32>
  %2 = attn.concat %1, %0 {axis = 2 : i64} : (tensor<2x3x6xf32>, tensor<2x3x2xf32>) -> tensor<2x3x8xf32>
  %3 = attn.dense %2, %w1, %b1 {activation = #attn<activation tanh>} : (tensor<2x3x8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
  %4 = attn.dense %3, %w2, %b2 : (tensor<2x3x2xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<2x3x1xf32>
  %5 = attn.softmax %4 {axis = 1 : i64} : tensor<2x3x1xf32>
  %6 = attn.binary %5, %x {kind = #attn<binary mul>} : (tensor<2x3x1xf32>, tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  %7 = attn.reduce %6 {axis = 1 : i64, kind = #attn<reduce sum>} : (tensor<2x3x2xf32>) -> tensor<2x2xf32>
  return %7 : tensor<2x2xf32>
}
