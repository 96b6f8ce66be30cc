// RUN: heed-opt %s --heed-fuse-row-reductions --split-input-file | FileCheck %s

// A layer norm as linalg-fuse-elementwise-ops leaves it (the mean's input
// expanded by a unit dim): mean, centering, variance and scale become one
// loop nest over 4 rows (4 KiB of rows of 256) at a time, and nothing runs
// over the whole tensor.
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#rows3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#rows4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<8x128x256xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[OUT:.*]] = scf.for %[[B:.*]] = %{{.*}} to %c8 step %c1
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %c128 step %c4
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[X]][%[[B]], %[[T]], 0] [1, 4, 256]
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}}"reduction"]} ins(%[[ROWS]] : tensor<1x4x256xf32>) outs(%{{.*}} : tensor<1x4xf32>)
// CHECK: %[[CENTERED:.*]] = linalg.generic {{.*}} ins(%[[ROWS]], %[[MEAN]] : tensor<1x4x256xf32>, tensor<1x4xf32>)
// CHECK: %[[VAR:.*]] = linalg.generic {{.*}} ins(%[[CENTERED]] : tensor<1x4x256xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[CENTERED]], %[[VAR]] :
// CHECK: tensor.insert_slice
// CHECK: return %[[OUT]]
// CHECK-NOT: linalg.generic
func.func @layer_norm(%x: tensor<8x128x256xf32>) -> tensor<8x128x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x128x256xf32>
  %r0 = tensor.empty() : tensor<8x128xf32>
  %r = tensor.expand_shape %r0 [[0], [1, 2]] output_shape [8, 128, 1]
      : tensor<8x128xf32> into tensor<8x128x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%r : tensor<8x128x1xf32>) -> tensor<8x128x1xf32>
  %x4 = tensor.expand_shape %x [[0], [1, 2], [3]] output_shape [8, 128, 1, 256]
      : tensor<8x128x256xf32> into tensor<8x128x1x256xf32>
  %mean = linalg.generic {indexing_maps = [#id4, #rows4],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x4 : tensor<8x128x1x256xf32>) outs(%init : tensor<8x128x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<8x128x1xf32>
  %centered = linalg.generic {indexing_maps = [#id3, #rows3, #id3],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %mean : tensor<8x128x256xf32>, tensor<8x128x1xf32>)
      outs(%e : tensor<8x128x256xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    linalg.yield %d : f32
  } -> tensor<8x128x256xf32>
  %c4 = tensor.expand_shape %centered [[0], [1, 2], [3]] output_shape [8, 128, 1, 256]
      : tensor<8x128x256xf32> into tensor<8x128x1x256xf32>
  %var = linalg.generic {indexing_maps = [#id4, #rows4],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%c4 : tensor<8x128x1x256xf32>) outs(%init : tensor<8x128x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<8x128x1xf32>
  %y = linalg.generic {indexing_maps = [#id3, #rows3, #id3],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%centered, %var : tensor<8x128x256xf32>, tensor<8x128x1xf32>)
      outs(%e : tensor<8x128x256xf32>) {
  ^bb0(%a: f32, %v: f32, %o: f32):
    %q = arith.mulf %a, %v : f32
    linalg.yield %q : f32
  } -> tensor<8x128x256xf32>
  return %y : tensor<8x128x256xf32>
}

// -----

// A member whose result also leaves the chain is computed by a loop of its
// own, and read by the other loop, not recomputed there.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @two_sinks
// CHECK: %[[CENTERED:.*]] = scf.for
// CHECK: %[[Y:.*]] = scf.for
// CHECK: tensor.extract_slice %[[CENTERED]]
// CHECK-NOT: arith.subf
// CHECK: return %[[CENTERED]], %[[Y]]
func.func @two_sinks(%x: tensor<64x256xf32>, %mean: tensor<64xf32>)
    -> (tensor<64x256xf32>, tensor<64x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %r = tensor.empty() : tensor<64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%r : tensor<64xf32>) -> tensor<64xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<64x256xf32>) outs(%init : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  %centered = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<64x256xf32>, tensor<64xf32>) outs(%e : tensor<64x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<64x256xf32>
  %v = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%centered : tensor<64x256xf32>) outs(%init : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%centered, %v : tensor<64x256xf32>, tensor<64xf32>) outs(%e : tensor<64x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %q = arith.mulf %a, %b : f32
    linalg.yield %q : f32
  } -> tensor<64x256xf32>
  return %centered, %y : tensor<64x256xf32>, tensor<64x256xf32>
}

// -----

// A reduction over the outer axis (a softmax over time of [T, D]) would be
// recomputed for every tile of rows: left alone. So is a chain that fits
// one tile (8 rows of 64: 2 KiB).
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @column_reduction
// CHECK-NOT: scf.for
func.func @column_reduction(%x: tensor<128x256xf32>) -> tensor<128x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x256xf32>
  %r = tensor.empty() : tensor<256xf32>
  %init = linalg.fill ins(%zero : f32) outs(%r : tensor<256xf32>) -> tensor<256xf32>
  %s = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<128x256xf32>) outs(%init : tensor<256xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<256xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<128x256xf32>, tensor<256xf32>) outs(%e : tensor<128x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %q = arith.divf %a, %b : f32
    linalg.yield %q : f32
  } -> tensor<128x256xf32>
  return %y : tensor<128x256xf32>
}

// CHECK-LABEL: func @one_tile
// CHECK-NOT: scf.for
func.func @one_tile(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x64xf32>
  %r = tensor.empty() : tensor<8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%r : tensor<8xf32>) -> tensor<8xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x64xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<8x64xf32>, tensor<8xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %q = arith.divf %a, %b : f32
    linalg.yield %q : f32
  } -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
