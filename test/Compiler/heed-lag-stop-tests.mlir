// RUN: heed-opt %s --split-input-file --heed-lag-stop-tests | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-lag-stop-tests=on-host=1 | FileCheck %s --check-prefix=HOST

// A stopping decoder: the count its test compares is loaded in the body
// and turned into "rows running" with pure arithmetic. The load becomes
// the runtime's read of the element's address, with a state made before
// the loop and ended after it.
// CHECK: func.func private @heed_gpu_stop_test_begin() -> index attributes {heed.stream_ordered}
// CHECK: func.func private @heed_gpu_stop_test_read(index, index) -> f32 attributes {heed.stream_ordered}
// CHECK: func.func private @heed_gpu_stop_test_end(index) attributes {heed.stream_ordered}
// CHECK-LABEL: func.func @decoder
// CHECK: %[[STATE:.*]] = call @heed_gpu_stop_test_begin()
// CHECK-NEXT: scf.while
// CHECK: } do {
// CHECK: %[[BASE:.*]], %[[OFFSET:.*]], %[[SIZES:.*]], %[[STRIDES:.*]] = memref.extract_strided_metadata %[[COUNTS:.*]] : memref<4xf32>
// CHECK: %[[ALIGNED:.*]] = memref.extract_aligned_pointer_as_index %[[COUNTS]]
// CHECK: %[[ADDRESS:.*]] = arith.addi %[[ALIGNED]]
// CHECK: %[[DONE:.*]] = func.call @heed_gpu_stop_test_read(%[[STATE]], %[[ADDRESS]]) : (index, index) -> f32
// CHECK-NEXT: arith.subf %{{.*}}, %[[DONE]]
// CHECK-NOT: memref.load
// CHECK: scf.yield
// CHECK: call @heed_gpu_stop_test_end(%[[STATE]])
// HOST-LABEL: func.func @decoder
// HOST: call @heed_cpu_stop_test_begin()
// HOST: func.call @heed_cpu_stop_test_read
// HOST: call @heed_cpu_stop_test_end
func.func @decoder(%counts: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  %batch = arith.constant 4.0 : f32
  %r:2 = scf.while (%step = %c0, %running = %batch) : (index, f32) -> (index, f32) {
    %more = arith.cmpi slt, %step, %c10 : index
    %some = arith.cmpf ogt, %running, %zero {heed.stop_test} : f32
    %go = arith.andi %more, %some : i1
    scf.condition(%go) %step, %running : index, f32
  } do {
  ^bb0(%s: index, %unused: f32):
    %done = memref.load %counts[%c2] : memref<4xf32>
    %left = arith.subf %batch, %done : f32
    %next = arith.addi %s, %c1 : index
    scf.yield %next, %left : index, f32
  }
  return
}

// -----

// Left alone: an unmarked test, and a marked one whose loaded value is
// also stored (a lagged value would change the store).
// CHECK-LABEL: func.func @unmarked
// CHECK-NOT: stop_test_read
// CHECK: memref.load
// CHECK-LABEL: func.func @used_elsewhere
// CHECK-NOT: stop_test_read
// CHECK: memref.load
func.func @unmarked(%counts: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  %batch = arith.constant 4.0 : f32
  %r = scf.while (%running = %batch) : (f32) -> f32 {
    %some = arith.cmpf ogt, %running, %zero : f32
    scf.condition(%some) %running : f32
  } do {
  ^bb0(%unused: f32):
    %done = memref.load %counts[] : memref<f32>
    %left = arith.subf %batch, %done : f32
    scf.yield %left : f32
  }
  return
}
func.func @used_elsewhere(%counts: memref<f32>, %log: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  %batch = arith.constant 4.0 : f32
  %r = scf.while (%running = %batch) : (f32) -> f32 {
    %some = arith.cmpf ogt, %running, %zero {heed.stop_test} : f32
    scf.condition(%some) %running : f32
  } do {
  ^bb0(%unused: f32):
    %done = memref.load %counts[] : memref<f32>
    memref.store %done, %log[] : memref<f32>
    %left = arith.subf %batch, %done : f32
    scf.yield %left : f32
  }
  return
}
