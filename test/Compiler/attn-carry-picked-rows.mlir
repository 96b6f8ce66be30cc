// RUN: heed-opt %s --split-input-file --attn-carry-picked-rows | FileCheck %s

// A stopping loop's step on chunks of 2 of its running rows (`%order`):
// the memory from before the loop is picked in the whole order once per
// change of the order and carried; each chunk slices the copy. The state,
// computed in the loop, is still picked per chunk.
// CHECK-LABEL: func.func @chunks
// CHECK-SAME: (%[[MEM:[^:]*]]: tensor<4x3x2xf32>
// CHECK: %[[NONE:.*]] = arith.constant dense<-1.000000e+00> : tensor<4xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<4x3x2xf32>
// CHECK: scf.while (%{{.*}} = %{{.*}}, %{{.*}} = %[[NONE]], %{{.*}} = %[[EMPTY]])
// CHECK: scf.condition(%{{.*}}) %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x2xf32>, tensor<4xf32>, tensor<4x3x2xf32>
// CHECK: ^bb0(%{{[^:]*}}: tensor<4x2xf32>, %[[PREV:[^:]*]]: tensor<4xf32>, %[[COPY:[^:]*]]: tensor<4x3x2xf32>):
// CHECK: %[[ORDER:.*]] = attn.activate
// CHECK: %[[SAME:.*]] = scf.for {{.*}} -> (i1)
// CHECK: tensor.extract %[[ORDER]]
// CHECK: tensor.extract %[[PREV]]
// CHECK: %[[PICKED:.*]] = scf.if %[[SAME]] -> (tensor<4x3x2xf32>)
// CHECK: scf.yield %[[COPY]]
// CHECK: } else {
// CHECK: attn.gather_rows %[[MEM]], %[[ORDER]] : (tensor<4x3x2xf32>, tensor<4xf32>) -> tensor<4x3x2xf32>
// CHECK: scf.for %[[C:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK: %[[START:.*]] = arith.muli %[[C]]
// CHECK: tensor.extract_slice %[[PICKED]][%[[START]], 0, 0] [2, 3, 2] [1, 1, 1] : tensor<4x3x2xf32> to tensor<2x3x2xf32>
// CHECK: attn.gather_rows %[[ACC]], %{{.*}} : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
// CHECK: scf.yield %{{.*}}, %[[ORDER]], %[[PICKED]] : tensor<4x2xf32>, tensor<4xf32>, tensor<4x3x2xf32>
func.func @chunks(%mem: tensor<4x3x2xf32>, %order0: tensor<4xf32>,
                  %h: tensor<4x2xf32>, %go: i1) -> tensor<4x2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %r = scf.while (%s = %h) : (tensor<4x2xf32>) -> tensor<4x2xf32> {
    scf.condition(%go) %s : tensor<4x2xf32>
  } do {
  ^bb0(%s: tensor<4x2xf32>):
    %order = attn.activate %order0 {kind = #attn<activation relu>} : tensor<4xf32>
    %n = scf.for %c = %c0 to %c2 step %c1 iter_args(%acc = %s) -> (tensor<4x2xf32>) {
      %start = arith.muli %c, %c2 : index
      %rows = tensor.extract_slice %order[%start] [2] [1] : tensor<4xf32> to tensor<2xf32>
      %m = attn.gather_rows %mem, %rows : (tensor<4x3x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
      %st = attn.gather_rows %acc, %rows : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
      %sum = attn.reduce %m {axis = 1 : i64, kind = #attn<reduce sum>, keepdim = false} : (tensor<2x3x2xf32>) -> tensor<2x2xf32>
      %new = attn.binary %sum, %st {kind = #attn<binary add>} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
      %next = tensor.insert_slice %new into %acc[%start, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<4x2xf32>
      scf.yield %next : tensor<4x2xf32>
    }
    scf.yield %n : tensor<4x2xf32>
  }
  return %r : tensor<4x2xf32>
}

// -----

// Rows picked at an offset that is not a chunk's start (or by rows not
// sliced from the step's order): unchanged.
// CHECK-LABEL: func.func @not_chunks
// CHECK: scf.while (%{{[^ ]*}} = %{{[^ ]*}}) : (tensor<4x2xf32>) -> tensor<4x2xf32>
// CHECK: attn.gather_rows %{{.*}}, %{{.*}} : (tensor<4x3x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
// CHECK: attn.gather_rows %{{.*}}, %{{.*}} : (tensor<4x3x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
func.func @not_chunks(%mem: tensor<4x3x2xf32>, %order0: tensor<4xf32>, %rows0: tensor<2xf32>,
                      %h: tensor<4x2xf32>, %go: i1) -> tensor<4x2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %r = scf.while (%s = %h) : (tensor<4x2xf32>) -> tensor<4x2xf32> {
    scf.condition(%go) %s : tensor<4x2xf32>
  } do {
  ^bb0(%s: tensor<4x2xf32>):
    %order = attn.activate %order0 {kind = #attn<activation relu>} : tensor<4xf32>
    %n = scf.for %c = %c0 to %c2 step %c1 iter_args(%acc = %s) -> (tensor<4x2xf32>) {
      %start = arith.muli %c, %c3 : index
      %rows = tensor.extract_slice %order[%start] [2] [1] : tensor<4xf32> to tensor<2xf32>
      %m = attn.gather_rows %mem, %rows : (tensor<4x3x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
      %m2 = attn.gather_rows %mem, %rows0 : (tensor<4x3x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
      %both = attn.binary %m, %m2 {kind = #attn<binary add>} : (tensor<2x3x2xf32>, tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
      %sum = attn.reduce %both {axis = 1 : i64, kind = #attn<reduce sum>, keepdim = false} : (tensor<2x3x2xf32>) -> tensor<2x2xf32>
      %next = tensor.insert_slice %sum into %acc[%start, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<4x2xf32>
      scf.yield %next : tensor<4x2xf32>
    }
    scf.yield %n : tensor<4x2xf32>
  }
  return %r : tensor<4x2xf32>
}
