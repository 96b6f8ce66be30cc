// RUN: heed-opt %s --heed-linalg-reductions-innermost | FileCheck %s

// The axpy form of a dense layer, (b, k, n): the reduction moves last and
// the indexing maps follow it.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @axpy
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
func.func @axpy(%x: memref<2x32xf32>, %w: memref<32x384xf32>, %y: memref<2x384xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, k, n) -> (b, k)>,
                       affine_map<(b, k, n) -> (k, n)>,
                       affine_map<(b, k, n) -> (b, n)>],
      iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<2x32xf32>, memref<32x384xf32>) outs(%y : memref<2x384xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// Already in order: untouched.
// CHECK-LABEL: func.func @rows
// CHECK: iterator_types = ["parallel", "reduction"]
func.func @rows(%x: memref<2x32xf32>, %y: memref<2xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, k) -> (b, k)>, affine_map<(b, k) -> (b)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x32xf32>) outs(%y : memref<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return
}
