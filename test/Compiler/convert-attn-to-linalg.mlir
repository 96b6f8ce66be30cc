// RUN: heed-opt %s --convert-attn-to-linalg --split-input-file --verify-diagnostics | FileCheck %s
// RUN: heed-opt %s --convert-attn-to-linalg=direct-convolution --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=DIRECT

// CHECK-LABEL: func @dense_softmax
func.func @dense_softmax(%x: tensor<8x10xf32>, %w: tensor<16x10xf32>, %b: tensor<16xf32>) -> tensor<8x16xf32> {
  // Sixteen outputs: the axpy form. The bias is broadcast into the
  // accumulator, the weight read transposed ([in, out]), and the
  // contraction iterates (row, in, out) so `in` is reduced outside the
  // output features.
  // CHECK-DAG: %[[WT:.*]] = linalg.transpose ins(%{{.*}} : tensor<16x10xf32>) outs(%{{.*}} : tensor<10x16xf32>) permutation = [1, 0]
  // CHECK-DAG: %[[INIT:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<16xf32>)
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]{{.*}} ins(%{{.*}}, %[[WT]] : tensor<8x10xf32>, tensor<10x16xf32>) outs(%[[INIT]] : tensor<8x16xf32>)
  // CHECK: arith.mulf {{.*}} fastmath<reassoc,nsz,arcp,contract,afn>
  // softmax over the last axis: max, exp(x - max), sum, divide.
  // CHECK: arith.maximumf
  // CHECK: math.exp
  // CHECK: arith.addf
  // CHECK: arith.divf
  // CHECK-NOT: attn.
  %d = attn.dense %x, %w, %b {activation = #attn<activation softmax>} : (tensor<8x10xf32>, tensor<16x10xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  return %d : tensor<8x16xf32>
}

// -----

// CHECK-LABEL: func @dense_padded
func.func @dense_padded(%x: tensor<8x64xf32>, %w: tensor<10x64xf32>, %b: tensor<10xf32>) -> tensor<8x10xf32> {
  // Ten outputs are padded with zero weights to one 16-lane vector, then
  // sliced back after the activation.
  // CHECK: %[[WT:.*]] = linalg.transpose ins(%{{.*}} : tensor<10x64xf32>) outs(%{{.*}} : tensor<64x10xf32>)
  // CHECK: %[[WP:.*]] = tensor.insert_slice %[[WT]] into %{{.*}}[0, 0] [64, 10] [1, 1] : tensor<64x10xf32> into tensor<64x16xf32>
  // CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[WP]] : tensor<8x64xf32>, tensor<64x16xf32>) outs(%{{.*}} : tensor<8x16xf32>)
  // CHECK: math.tanh
  // CHECK: tensor.extract_slice %{{.*}}[0, 0] [8, 10] [1, 1] : tensor<8x16xf32> to tensor<8x10xf32>
  %d = attn.dense %x, %w, %b {activation = #attn<activation tanh>} : (tensor<8x64xf32>, tensor<10x64xf32>, tensor<10xf32>) -> tensor<8x10xf32>
  return %d : tensor<8x10xf32>
}

// -----

// CHECK-LABEL: func @dense_one_unit
func.func @dense_one_unit(%x: tensor<8x10xf32>, %w: tensor<1x10xf32>) -> tensor<8x1xf32> {
  // One output: the dot form, reducing over contiguous inputs, no transpose.
  // CHECK-NOT: linalg.transpose
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x10xf32>, tensor<1x10xf32>)
  %d = attn.dense %x, %w : (tensor<8x10xf32>, tensor<1x10xf32>) -> tensor<8x1xf32>
  return %d : tensor<8x1xf32>
}

// -----

// CHECK-LABEL: func @broadcast_mul
func.func @broadcast_mul(%a: tensor<2x30x1xf32>, %v: tensor<2x30x64xf32>) -> tensor<2x30x64xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[BCAST:.*]], #[[ID:.*]], #[[ID]]]
  %m = attn.binary %a, %v {kind = #attn<binary mul>} : (tensor<2x30x1xf32>, tensor<2x30x64xf32>) -> tensor<2x30x64xf32>
  return %m : tensor<2x30x64xf32>
}

// -----

// A dense layer over zeros (a GRU cell run from a zero state) is its bias:
// no product and no transposed weight.
// CHECK-LABEL: func @dense_of_zeros
// CHECK-NOT: linalg.transpose
// CHECK-NOT: "reduction"
// CHECK: return
func.func @dense_of_zeros(%w: tensor<48x32xf32>, %b: tensor<48xf32>) -> tensor<2x48xf32> {
  %zero = arith.constant dense<0.0> : tensor<2x32xf32>
  %d = attn.dense %zero, %w, %b : (tensor<2x32xf32>, tensor<48x32xf32>, tensor<48xf32>) -> tensor<2x48xf32>
  return %d : tensor<2x48xf32>
}

// -----

// Comparisons give 1.0 or 0.0.
// CHECK-LABEL: func @compare_eq
func.func @compare_eq(%ids: tensor<4xf32>, %end: tensor<1xf32>) -> tensor<4xf32> {
  // CHECK: linalg.generic
  // CHECK: ^bb0(%[[ID:.*]]: f32, %[[END:.*]]: f32, %{{.*}}: f32):
  // CHECK: %[[HOLDS:.*]] = arith.cmpf oeq, %[[ID]], %[[END]]
  // CHECK: arith.select %[[HOLDS]], %{{.*}}, %{{.*}} : f32
  %e = attn.binary %ids, %end {kind = #attn<binary eq>} : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xf32>
  return %e : tensor<4xf32>
}

// -----

// A [4, 1] row mask broadcast over [4, 128] rows: a where the mask is set.
// CHECK-LABEL: func @select_rows
func.func @select_rows(%done: tensor<4x1xf32>, %old: tensor<4x128xf32>, %new: tensor<4x128xf32>) -> tensor<4x128xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[MASK:.*]], #[[ID:.*]], #[[ID]], #[[ID]]]
  // CHECK: ^bb0(%[[M:.*]]: f32, %[[OLD:.*]]: f32, %[[NEW:.*]]: f32, %{{.*}}: f32):
  // CHECK: %[[SET:.*]] = arith.cmpf une, %[[M]], %{{.*}} : f32
  // CHECK: arith.select %[[SET]], %[[OLD]], %[[NEW]] : f32
  %h = attn.select %done, %old, %new : (tensor<4x1xf32>, tensor<4x128xf32>, tensor<4x128xf32>) -> tensor<4x128xf32>
  return %h : tensor<4x128xf32>
}

// -----

// CHECK-LABEL: func @concat_permute_squeeze
func.func @concat_permute_squeeze(%a: tensor<2x3x1xf32>, %b: tensor<2x3x1xf32>) -> tensor<2x3xf32> {
  // CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0] [2, 3, 1]
  // CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 1] [2, 3, 1]
  %c = attn.concat %a, %b {axis = 2 : i64} : (tensor<2x3x1xf32>, tensor<2x3x1xf32>) -> tensor<2x3x2xf32>
  // CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1]
  %p = attn.permute %c {perm = array<i64: 0, 2, 1>} : (tensor<2x3x2xf32>) -> tensor<2x2x3xf32>
  // CHECK: linalg.generic {{.*}}"reduction"
  %r = attn.reduce %p {axis = 1 : i64, kind = #attn<reduce mean>, keepdim = true} : (tensor<2x2x3xf32>) -> tensor<2x1x3xf32>
  // CHECK: tensor.collapse_shape
  %s = attn.squeeze %r {axis = 1 : i64} : (tensor<2x1x3xf32>) -> tensor<2x3xf32>
  return %s : tensor<2x3xf32>
}

// -----

func.func @dynamic(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  // expected-error@+1 {{convert-attn-to-linalg needs static shapes}}
  %y = attn.activate %x {kind = #attn<activation tanh>} : tensor<?x10xf32>
  return %y : tensor<?x10xf32>
}

// -----

// A Conv1D with few input channels: the windows unfolded by a
// tensor.generate (a gather, kept apart from the product) that reads step
// t + k - 15 of x where it is inside x and yields zero elsewhere (no padded
// copy of x), then one dense product over K·C with the weight permuted to
// [O, K, C].
// CHECK-LABEL: func @conv_unfolded
// CHECK-SAME: (%[[X:.*]]: tensor<1x200x1xf32>
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[COLS:.*]] = tensor.generate
// CHECK-NEXT: ^bb0(%[[B:.*]]: index, %[[T:.*]]: index, %[[K:.*]]: index, %[[C:.*]]: index):
// CHECK: %[[TK:.*]] = arith.addi %{{.*}}, %[[K]] : index
// CHECK: %[[LEFT:.*]] = arith.constant 15 : index
// CHECK: %[[STEP:.*]] = arith.subi %[[TK]], %[[LEFT]] : index
// CHECK: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK: %[[GE:.*]] = arith.cmpi sge, %[[STEP]], %[[ZERO]] : index
// CHECK: %[[STEPS:.*]] = arith.constant 200 : index
// CHECK: %[[LT:.*]] = arith.cmpi slt, %[[STEP]], %[[STEPS]] : index
// CHECK: %[[IN:.*]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK: %[[SAFE:.*]] = arith.select %[[IN]], %[[STEP]], %{{.*}} : index
// CHECK: %[[V:.*]] = tensor.extract %[[X]][%[[B]], %[[SAFE]], %[[C]]]
// CHECK: %[[Y:.*]] = arith.select %[[IN]], %[[V]], %{{.*}} : f32
// CHECK: tensor.yield %[[Y]]
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[COLS]] {{\[}}[0], [1], [2, 3]] : tensor<1x200x31x1xf32> into tensor<1x200x31xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]{{.*}} ins(%[[FLAT]], %{{.*}} : tensor<1x200x31xf32>, tensor<31x32xf32>)
// With direct-convolution (the GPU targets), 31 terms a window: one
// product over (b, t, o, r) whose body reads x at t + r - 15 itself, zero
// outside; the weight as [K·C, O].
// DIRECT-LABEL: func @conv_unfolded
// DIRECT-SAME: (%[[X:.*]]: tensor<1x200x1xf32>
// DIRECT-NOT: tensor.generate
// DIRECT: %[[W:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<31x1x32xf32> into tensor<31x32xf32>
// DIRECT: linalg.generic {indexing_maps = [#[[WMAP:.*]], #[[OMAP:.*]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[W]] : tensor<31x32xf32>) outs(%{{.*}} : tensor<1x200x32xf32>)
// DIRECT: %[[R:.*]] = linalg.index 3 : index
// DIRECT: %[[T:.*]] = linalg.index 1 : index
// DIRECT: %[[TK:.*]] = arith.addi %{{.*}}, %[[R]] : index
// DIRECT: %[[STEP:.*]] = arith.subi %[[TK]], %{{.*}} : index
// DIRECT: %[[IN:.*]] = arith.andi
// DIRECT: %[[SAFE:.*]] = arith.select %[[IN]], %[[STEP]], %{{.*}} : index
// DIRECT: tensor.extract %[[X]][%{{.*}}, %[[SAFE]], %{{.*}}]
func.func @conv_unfolded(%x: tensor<1x200x1xf32>, %w: tensor<32x1x31xf32>, %b: tensor<32xf32>) -> tensor<1x200x32xf32> {
  %y = attn.conv1d %x, %w, %b {stride = 1 : i64, pad_left = 15 : i64, pad_right = 15 : i64}
      : (tensor<1x200x1xf32>, tensor<32x1x31xf32>, tensor<32xf32>) -> tensor<1x200x32xf32>
  return %y : tensor<1x200x32xf32>
}

// -----

// attn.gather_rows: one copy of a whole row per picked row number, the
// number clamped into [0, N).
// CHECK-LABEL: func @gather_rows
// CHECK-SAME: (%[[X:.*]]: tensor<8x10x4xf32>, %[[ROWS:.*]]: tensor<3xf32>)
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<3x10x4xf32>)
// CHECK: %[[F:.*]] = tensor.extract %[[ROWS]][%[[J]]]
// CHECK: %[[ID:.*]] = arith.fptosi %[[F]]
// CHECK: %[[LO:.*]] = arith.maxsi %[[ID]]
// CHECK: %[[HI:.*]] = arith.minsi %[[LO]]
// CHECK: %[[ROW:.*]] = arith.index_cast %[[HI]]
// CHECK: %[[PIECE:.*]] = tensor.extract_slice %[[X]][%[[ROW]], 0, 0] [1, 10, 4] [1, 1, 1]
// CHECK: tensor.insert_slice %[[PIECE]] into %[[ACC]][%[[J]], 0, 0] [1, 10, 4] [1, 1, 1]
func.func @gather_rows(%x: tensor<8x10x4xf32>, %rows: tensor<3xf32>) -> tensor<3x10x4xf32> {
  %y = attn.gather_rows %x, %rows : (tensor<8x10x4xf32>, tensor<3xf32>) -> tensor<3x10x4xf32>
  return %y : tensor<3x10x4xf32>
}

// -----

// attn.topk: one pass over each row into k value and k index slots (a
// reduction over the last axis), the slots empty at first (-inf, index
// -1), then joined into [..., k].
// CHECK-LABEL: func @topk
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x128xf32>)
// CHECK: %[[TOP:.*]]:6 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[X]] : tensor<2x5x128xf32>)
// CHECK-SAME: outs({{.*}} : tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[V0:.*]]: f32, %[[V1:.*]]: f32, %[[V2:.*]]: f32, %[[I0:.*]]: f32, %[[I1:.*]]: f32, %[[I2:.*]]: f32):
// The last slot decides whether the element enters at all.
// CHECK: arith.cmpf ogt, %[[IN]], %[[V2]]
// CHECK: %[[SLOTS:.*]]:6 = scf.if
// CHECK: %[[NEW_V0:.*]] = arith.select %[[B0:.*]], %[[IN]], %[[V0]]
// CHECK-NEXT: %[[NEW_I0:.*]] = arith.select %[[B0]], %{{.*}}, %[[I0]]
// CHECK-NEXT: %[[DOWN_V:.*]] = arith.select %[[B0]], %[[V0]], %[[IN]]
// CHECK: arith.cmpf ogt, %[[DOWN_V]], %[[V1]]
// CHECK: scf.yield %[[NEW_V0]], %{{.*}}, %{{.*}}, %[[NEW_I0]], %{{.*}}, %{{.*}}
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[V0]], %[[V1]], %[[V2]], %[[I0]], %[[I1]], %[[I2]]
// CHECK: linalg.yield %[[SLOTS]]#0, %[[SLOTS]]#1, %[[SLOTS]]#2, %[[SLOTS]]#3, %[[SLOTS]]#4, %[[SLOTS]]#5
// CHECK: %[[VALUES:.*]] = tensor.insert_slice %[[TOP]]#0 into %{{.*}}[0, 0, 0] [2, 5, 1]
// CHECK: tensor.insert_slice %[[TOP]]#1 into %[[VALUES]][0, 0, 1] [2, 5, 1]
// CHECK: tensor.insert_slice %[[TOP]]#3 into %{{.*}}[0, 0, 0] [2, 5, 1]
func.func @topk(%x: tensor<2x5x128xf32>) -> (tensor<2x5x3xf32>, tensor<2x5x3xf32>) {
  %v, %i = attn.topk %x {k = 3 : i64} : (tensor<2x5x128xf32>) -> (tensor<2x5x3xf32>, tensor<2x5x3xf32>)
  return %v, %i : tensor<2x5x3xf32>, tensor<2x5x3xf32>
}


// -----

// attn.repeat copies its input along the new axis; one copy is only a unit
// axis: a reshape, no copy.
// CHECK-LABEL: func @repeat_copies
// CHECK-SAME: (%[[X:.*]]: tensor<3x10xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<3x10xf32>) outs(%{{.*}} : tensor<3x4x10xf32>)
func.func @repeat_copies(%x: tensor<3x10xf32>) -> tensor<3x4x10xf32> {
  %r = attn.repeat %x {axis = 1 : i64, count = 4 : i64} : (tensor<3x10xf32>) -> tensor<3x4x10xf32>
  return %r : tensor<3x4x10xf32>
}

// CHECK-LABEL: func @repeat_once_last_axis
// CHECK-SAME: (%[[X:.*]]: tensor<3x10xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[R:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [3, 10, 1] : tensor<3x10xf32> into tensor<3x10x1xf32>
// CHECK: return %[[R]]
func.func @repeat_once_last_axis(%x: tensor<3x10xf32>) -> tensor<3x10x1xf32> {
  %r = attn.repeat %x {axis = 2 : i64, count = 1 : i64} : (tensor<3x10xf32>) -> tensor<3x10x1xf32>
  return %r : tensor<3x10x1xf32>
}

// CHECK-LABEL: func @repeat_once_first_axis
// CHECK-SAME: (%[[X:.*]]: tensor<3x10xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[R:.*]] = tensor.expand_shape %[[X]] {{\[}}[0, 1], [2]] output_shape [1, 3, 10] : tensor<3x10xf32> into tensor<1x3x10xf32>
// CHECK: return %[[R]]
func.func @repeat_once_first_axis(%x: tensor<3x10xf32>) -> tensor<1x3x10xf32> {
  %r = attn.repeat %x {axis = 0 : i64, count = 1 : i64} : (tensor<3x10xf32>) -> tensor<1x3x10xf32>
  return %r : tensor<1x3x10xf32>
}
