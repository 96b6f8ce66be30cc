// RUN: heed-opt %s --split-input-file --attn-hoist-nested-invariant-ops | FileCheck %s

// A key projection in each branch of a decoder step (whole batch or chunks
// of running rows) reads the memory and weights alone: both move in front
// of the loop, with the op computed from the first. Work on the loop's
// values stays, and so does invariant work directly in the body (LICM's).
// CHECK-LABEL: func.func @branches
// CHECK-SAME: (%[[MEM:[^:]*]]: tensor<4x3x2xf32>, %[[W:[^:]*]]: tensor<2x2xf32>
// CHECK: %[[K1:.*]] = attn.dense %[[MEM]], %[[W]]
// CHECK: %[[T:.*]] = attn.activate %[[K1]]
// CHECK: %[[K2:.*]] = attn.dense %[[MEM]], %[[W]]
// CHECK: scf.while
// CHECK: } do {
// CHECK: attn.activate %[[W]]
// CHECK: scf.if
// CHECK: attn.binary %[[T]], %{{.*}}
// CHECK: } else {
// CHECK: attn.binary %[[K2]], %{{.*}}
func.func @branches(%mem: tensor<4x3x2xf32>, %w: tensor<2x2xf32>,
                    %h: tensor<4x3x2xf32>, %go: i1, %few: i1) -> tensor<4x3x2xf32> {
  %r = scf.while (%s = %h) : (tensor<4x3x2xf32>) -> tensor<4x3x2xf32> {
    scf.condition(%go) %s : tensor<4x3x2xf32>
  } do {
  ^bb0(%s: tensor<4x3x2xf32>):
    %direct = attn.activate %w {kind = #attn<activation tanh>} : tensor<2x2xf32>
    %n = scf.if %few -> (tensor<4x3x2xf32>) {
      %k = attn.dense %mem, %w : (tensor<4x3x2xf32>, tensor<2x2xf32>) -> tensor<4x3x2xf32>
      %t = attn.activate %k {kind = #attn<activation tanh>} : tensor<4x3x2xf32>
      %y = attn.binary %t, %s {kind = #attn<binary add>} : (tensor<4x3x2xf32>, tensor<4x3x2xf32>) -> tensor<4x3x2xf32>
      scf.yield %y : tensor<4x3x2xf32>
    } else {
      %k = attn.dense %mem, %w : (tensor<4x3x2xf32>, tensor<2x2xf32>) -> tensor<4x3x2xf32>
      %y = attn.binary %k, %s {kind = #attn<binary mul>} : (tensor<4x3x2xf32>, tensor<4x3x2xf32>) -> tensor<4x3x2xf32>
      scf.yield %y : tensor<4x3x2xf32>
    }
    scf.yield %n : tensor<4x3x2xf32>
  }
  return %r : tensor<4x3x2xf32>
}

// -----

// Inside a branch of an inner loop of an outer loop: out of the inner loop
// into the outer loop's body, where LICM takes it further.
// CHECK-LABEL: func.func @nested_loops
// CHECK: scf.for
// CHECK-NEXT: attn.activate
// CHECK-NEXT: scf.for
// CHECK-NOT: attn.activate
// CHECK: attn.binary
func.func @nested_loops(%w: tensor<8xf32>, %x: tensor<8xf32>, %few: i1) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %x) -> (tensor<8xf32>) {
    %b = scf.for %j = %c0 to %c4 step %c1 iter_args(%acc = %a) -> (tensor<8xf32>) {
      %y = scf.if %few -> (tensor<8xf32>) {
        %t = attn.activate %w {kind = #attn<activation tanh>} : tensor<8xf32>
        %s = attn.binary %t, %acc {kind = #attn<binary add>} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
        scf.yield %s : tensor<8xf32>
      } else {
        scf.yield %acc : tensor<8xf32>
      }
      scf.yield %y : tensor<8xf32>
    }
    scf.yield %b : tensor<8xf32>
  }
  return %r : tensor<8xf32>
}
