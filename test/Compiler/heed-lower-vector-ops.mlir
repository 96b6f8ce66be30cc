// RUN: heed-opt %s --heed-lower-vector-ops | FileCheck %s

// Reducing the innermost dim: one horizontal reduction per row.
// CHECK-LABEL: func @rows
// CHECK-COUNT-2: vector.reduction <add>
// CHECK-NOT: vector.multi_reduction
func.func @rows(%v: vector<2x16xf32>, %acc: vector<2xf32>) -> vector<2xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [1] : vector<2x16xf32> to vector<2xf32>
  return %r : vector<2xf32>
}

// Reducing an outer dim (the axpy form of a dense layer): rows are added
// elementwise, no horizontal reduction.
// CHECK-LABEL: func @axpy
// CHECK-NOT: vector.reduction
// CHECK-COUNT-3: arith.addf {{.*}} : vector<16xf32>
func.func @axpy(%v: vector<3x16xf32>, %acc: vector<16xf32>) -> vector<16xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [0] : vector<3x16xf32> to vector<16xf32>
  return %r : vector<16xf32>
}
