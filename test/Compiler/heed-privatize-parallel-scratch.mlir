// RUN: heed-opt %s --heed-privatize-parallel-scratch | FileCheck %s

// A marked loop gets its own clone of the empty tensor it uses as scratch;
// the empty tensor it carries (its output) stays where it is.
// CHECK-LABEL: func.func @scratch
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<8x4xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]])
// CHECK-NEXT: %[[OWN:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: linalg.copy {{.*}} outs(%[[OWN]] : tensor<4xf32>)
func.func @scratch(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<4xf32>
  %init = tensor.empty() : tensor<8x4xf32>
  %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %init) -> (tensor<8x4xf32>) {
    %row = tensor.extract_slice %x[%i, 0] [1, 4] [1, 1] : tensor<8x4xf32> to tensor<4xf32>
    %t = linalg.copy ins(%row : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    %ins = tensor.insert_slice %t into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<8x4xf32>
    scf.yield %ins : tensor<8x4xf32>
  } loc(fused<"heed.parallel">[unknown])
  return %r : tensor<8x4xf32>
}

// Nested marked loops: the inner one clones the outer one's clone.
// CHECK-LABEL: func.func @nested
// CHECK: scf.for
// CHECK-NEXT: %[[OUTER:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: scf.for
// CHECK-NEXT: %[[INNER:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: linalg.copy {{.*}} outs(%[[INNER]] : tensor<4xf32>)
func.func @nested(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %e = tensor.empty() : tensor<4xf32>
  %init = tensor.empty() : tensor<8x4xf32>
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (tensor<8x4xf32>) {
    %r2 = scf.for %j = %c0 to %c2 step %c1 iter_args(%acc2 = %acc) -> (tensor<8x4xf32>) {
      %k = affine.apply affine_map<(d0, d1) -> (d0 * 2 + d1)>(%i, %j)
      %row = tensor.extract_slice %x[%k, 0] [1, 4] [1, 1] : tensor<8x4xf32> to tensor<4xf32>
      %t = linalg.copy ins(%row : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
      %ins = tensor.insert_slice %t into %acc2[%k, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<8x4xf32>
      scf.yield %ins : tensor<8x4xf32>
    } loc(fused<"heed.parallel">[unknown])
    scf.yield %r2 : tensor<8x4xf32>
  } loc(fused<"heed.parallel">[unknown])
  return %r : tensor<8x4xf32>
}

// An unmarked loop keeps sharing its scratch (it runs in order).
// CHECK-LABEL: func.func @sequential
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: scf.for
// CHECK-NOT: tensor.empty
// CHECK: linalg.copy {{.*}} outs(%[[E]] : tensor<4xf32>)
func.func @sequential(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<4xf32>
  %init = tensor.empty() : tensor<8x4xf32>
  %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %init) -> (tensor<8x4xf32>) {
    %row = tensor.extract_slice %x[%i, 0] [1, 4] [1, 1] : tensor<8x4xf32> to tensor<4xf32>
    %t = linalg.copy ins(%row : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    %ins = tensor.insert_slice %t into %acc[%i, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<8x4xf32>
    scf.yield %ins : tensor<8x4xf32>
  }
  return %r : tensor<8x4xf32>
}
