// RUN: heed-opt %s --heed-lower-parallel-dispatch | FileCheck %s

// The dispatch stores (lower bound, step, arguments) in a context on its
// stack and hands the runtime its iteration count, the entry and the
// context; the entry calls the body for lower + k * step, k in
// [begin, end).
// CHECK-LABEL: llvm.func internal @m__parallel0__dispatch(
// CHECK-SAME: %[[COUNT:.*]]: i64, %[[LOWER:.*]]: i64, %[[STEP:.*]]: i64, %[[P:.*]]: !llvm.ptr, %[[F:.*]]: f32)
// CHECK: %[[CTX:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(i64, i64, ptr, f32)>
// CHECK: %[[AT0:.*]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK: llvm.store %[[LOWER]], %[[AT0]]
// CHECK: %[[AT1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: llvm.store %[[STEP]], %[[AT1]]
// CHECK: llvm.store %[[P]]
// CHECK: llvm.store %[[F]]
// CHECK: %[[ENTRY:.*]] = llvm.mlir.addressof @m__parallel0__dispatch__entry
// CHECK: llvm.call @heed_parallel_for(%[[COUNT]], %[[ENTRY]], %[[CTX]])
// CHECK-LABEL: llvm.func internal @m__parallel0__dispatch__entry(
// CHECK-SAME: %[[C:.*]]: !llvm.ptr, %[[BEGIN:.*]]: i64, %[[END:.*]]: i64)
// CHECK: %[[L:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: %[[S:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: llvm.br ^[[HEAD:.*]](%[[BEGIN]] : i64)
// CHECK: ^[[HEAD]](%[[K:.*]]: i64):
// CHECK: %[[MORE:.*]] = llvm.icmp "slt" %[[K]], %[[END]]
// CHECK: llvm.cond_br %[[MORE]]
// CHECK: %[[KS:.*]] = llvm.mul %[[K]], %[[S]]
// CHECK: %[[I:.*]] = llvm.add %[[L]], %[[KS]]
// CHECK: llvm.call @m__parallel0(%[[I]],
// CHECK: llvm.func @heed_parallel_for(i64, !llvm.ptr, !llvm.ptr)
llvm.func @m__parallel0(%i: i64, %p: !llvm.ptr, %f: f32) {
  llvm.return
}
llvm.func @m__parallel0__dispatch(i64, i64, i64, !llvm.ptr, f32) attributes {heed.parallel_body = @m__parallel0}
