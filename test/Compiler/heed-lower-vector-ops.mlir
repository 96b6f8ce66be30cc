// RUN: heed-opt %s --heed-lower-vector-ops | FileCheck %s

// Reducing the innermost dim: one horizontal reduction per row.
// CHECK-LABEL: func @rows
// CHECK-COUNT-2: vector.reduction <add>
// CHECK-NOT: vector.multi_reduction
func.func @rows(%v: vector<2x16xf32>, %acc: vector<2xf32>) -> vector<2xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [1] : vector<2x16xf32> to vector<2xf32>
  return %r : vector<2xf32>
}

// A row of several 16-lane vectors (a dot score over 48 features): its
// parts are added elementwise first, one horizontal reduction per row.
// CHECK-LABEL: func @long_rows
// CHECK: %[[A:.*]] = vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [16], strides = [1]} : vector<48xf32> to vector<16xf32>
// CHECK: %[[B:.*]] = vector.extract_strided_slice %{{.*}} {offsets = [16], sizes = [16], strides = [1]}
// CHECK: %[[AB:.*]] = arith.addf %[[A]], %[[B]] {{.*}} : vector<16xf32>
// CHECK: %[[C:.*]] = vector.extract_strided_slice %{{.*}} {offsets = [32], sizes = [16], strides = [1]}
// CHECK: %[[SUM:.*]] = arith.addf %[[AB]], %[[C]] {{.*}} : vector<16xf32>
// CHECK: vector.reduction <add>, %[[SUM]], %{{.*}} : vector<16xf32> into f32
// CHECK: vector.reduction <add>, %{{.*}}, %{{.*}} : vector<16xf32> into f32
// CHECK-NOT: vector.reduction
func.func @long_rows(%v: vector<2x48xf32>, %acc: vector<2xf32>) -> vector<2xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [1] : vector<2x48xf32> to vector<2xf32>
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

// A read broadcast along the innermost dim (x[k] of a matrix-vector
// product's tile): the narrow vector is read once and each element is
// splatted to a row, not transposed element by element.
// CHECK-LABEL: func @innermost_broadcast_read
// CHECK: %[[X:.*]] = vector.transfer_read {{.*}} : memref<4x128xf32>, vector<1x8xf32>
// CHECK-COUNT-8: vector.broadcast {{.*}} : f32 to vector<32xf32>
// CHECK-NOT: vector.transpose
// CHECK-NOT: f32 into vector<1x8x32xf32>
func.func @innermost_broadcast_read(%m: memref<4x128xf32>, %k: index) -> vector<1x8x32xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %v = vector.transfer_read %m[%c0, %k], %pad
         {in_bounds = [true, true, true],
          permutation_map = affine_map<(d0, d1) -> (d0, d1, 0)>}
         : memref<4x128xf32>, vector<1x8x32xf32>
  return %v : vector<1x8x32xf32>
}

// A 16 x 16 f32 block transpose (heed-vectorize-linalg's key transposes)
// becomes AVX-512-sized shuffles, not 256 element moves.
// CHECK-LABEL: func @block_transpose
// CHECK-NOT: vector.transpose
// CHECK: vector.shuffle {{.*}} : vector<16xf32>, vector<16xf32>
// CHECK-NOT: vector.extract {{.*}} : f32 from
func.func @block_transpose(%v: vector<16x16xf32>) -> vector<16x16xf32> {
  %t = vector.transpose %v, [1, 0] : vector<16x16xf32> to vector<16x16xf32>
  return %t : vector<16x16xf32>
}

// Other transposes keep the element-wise lowering.
// CHECK-LABEL: func @small_transpose
// CHECK-NOT: vector.shuffle
// CHECK: vector.extract {{.*}} : f32 from vector<4x12xf32>
func.func @small_transpose(%v: vector<4x12xf32>) -> vector<12x4xf32> {
  %t = vector.transpose %v, [1, 0] : vector<4x12xf32> to vector<12x4xf32>
  return %t : vector<12x4xf32>
}
