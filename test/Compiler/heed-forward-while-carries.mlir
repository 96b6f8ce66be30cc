// RUN: heed-opt %s --split-input-file --heed-forward-while-carries | FileCheck %s

// A decoder's state, copied at the start of every step (as one-shot
// bufferization does, from a cast to a fully dynamic layout) though the
// step only reads it and yields a buffer it allocated itself: the before
// region hands its argument on, and the copy and the cast go.
// CHECK-LABEL: func.func @forwarded
// CHECK: scf.while (%[[S:.*]] = %{{.*}})
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.cast
// CHECK: scf.condition(%{{.*}}) %[[S]] : memref<4xf32>
// CHECK: } do {
// CHECK: memref.alloc
// CHECK: linalg.generic
func.func @forwarded(%init: memref<4xf32>, %go: i1) -> memref<4xf32> {
  %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
    %cast = memref.cast %s : memref<4xf32> to memref<4xf32, strided<[?], offset: ?>>
    %copy = memref.alloc() : memref<4xf32>
    memref.copy %cast, %copy : memref<4xf32, strided<[?], offset: ?>> to memref<4xf32>
    scf.condition(%go) %copy : memref<4xf32>
  } do {
  ^bb0(%s: memref<4xf32>):
    %next = memref.alloc() : memref<4xf32>
    linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                    iterator_types = ["parallel"]}
        ins(%s : memref<4xf32>) outs(%next : memref<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %t = arith.addf %in, %in : f32
      linalg.yield %t : f32
    }
    scf.yield %next : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// -----

// The step yields a view of a buffer it allocated (a beam's scores, [B, 1]
// collapsed): as fresh as the buffer.
// CHECK-LABEL: func.func @forwarded_view
// CHECK: scf.while (%[[S:.*]] = %{{.*}})
// CHECK-NOT: memref.copy
// CHECK: scf.condition(%{{.*}}) %[[S]] : memref<4xf32>
func.func @forwarded_view(%init: memref<4xf32>, %go: i1) -> memref<4xf32> {
  %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
    %copy = memref.alloc() : memref<4xf32>
    memref.copy %s, %copy : memref<4xf32> to memref<4xf32>
    scf.condition(%go) %copy : memref<4xf32>
  } do {
  ^bb0(%s: memref<4xf32>):
    %next = memref.alloc() : memref<4x1xf32>
    %in = memref.expand_shape %s [[0, 1]] output_shape [4, 1] : memref<4xf32> into memref<4x1xf32>
    memref.copy %in, %next : memref<4x1xf32> to memref<4x1xf32>
    %flat = memref.collapse_shape %next [[0, 1]] : memref<4x1xf32> into memref<4xf32>
    scf.yield %flat : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// -----

// The step writes what it receives (in place): it needs the copy.
// CHECK-LABEL: func.func @step_writes_it
// CHECK: memref.copy
// CHECK: scf.condition(%{{.*}}) %[[COPY:.*]] : memref<4xf32>
func.func @step_writes_it(%init: memref<4xf32>, %go: i1, %a: f32) -> memref<4xf32> {
  %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
    %copy = memref.alloc() : memref<4xf32>
    memref.copy %s, %copy : memref<4xf32> to memref<4xf32>
    scf.condition(%go) %copy : memref<4xf32>
  } do {
  ^bb0(%s: memref<4xf32>):
    %view = memref.subview %s[1] [2] [1] : memref<4xf32> to memref<2xf32, strided<[1], offset: 1>>
    linalg.fill ins(%a : f32) outs(%view : memref<2xf32, strided<[1], offset: 1>>)
    %next = memref.alloc() : memref<4xf32>
    memref.copy %s, %next : memref<4xf32> to memref<4xf32>
    scf.yield %next : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// -----

// The step computes its state into one buffer allocated before the loop,
// every step: the next step would overwrite what it receives.
// CHECK-LABEL: func.func @same_buffer_every_step
// CHECK: memref.copy
// CHECK: scf.condition
func.func @same_buffer_every_step(%init: memref<4xf32>, %go: i1) -> memref<4xf32> {
  %state = memref.alloc() : memref<4xf32>
  %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
    %copy = memref.alloc() : memref<4xf32>
    memref.copy %s, %copy : memref<4xf32> to memref<4xf32>
    scf.condition(%go) %copy : memref<4xf32>
  } do {
  ^bb0(%s: memref<4xf32>):
    memref.copy %s, %state : memref<4xf32> to memref<4xf32>
    scf.yield %state : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// -----

// The loop writes its initial buffer: the first step would read it changed.
// CHECK-LABEL: func.func @loop_writes_init
// CHECK: memref.copy %[[S:.*]], %[[COPY:.*]] :
// CHECK: scf.condition(%{{.*}}) %[[COPY]]
func.func @loop_writes_init(%init: memref<4xf32>, %go: i1, %a: f32) -> memref<4xf32> {
  %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
    %copy = memref.alloc() : memref<4xf32>
    memref.copy %s, %copy : memref<4xf32> to memref<4xf32>
    scf.condition(%go) %copy : memref<4xf32>
  } do {
  ^bb0(%s: memref<4xf32>):
    %next = memref.alloc() : memref<4xf32>
    memref.copy %s, %next : memref<4xf32> to memref<4xf32>
    linalg.fill ins(%a : f32) outs(%init : memref<4xf32>)
    scf.yield %next : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// -----

// A call may write what it is given.
// CHECK-LABEL: func.func @step_calls_with_it
// CHECK: memref.copy
// CHECK: scf.condition
func.func private @kernel(memref<4xf32>)
func.func @step_calls_with_it(%init: memref<4xf32>, %go: i1) -> memref<4xf32> {
  %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
    %copy = memref.alloc() : memref<4xf32>
    memref.copy %s, %copy : memref<4xf32> to memref<4xf32>
    scf.condition(%go) %copy : memref<4xf32>
  } do {
  ^bb0(%s: memref<4xf32>):
    func.call @kernel(%s) : (memref<4xf32>) -> ()
    %next = memref.alloc() : memref<4xf32>
    memref.copy %s, %next : memref<4xf32> to memref<4xf32>
    scf.yield %next : memref<4xf32>
  }
  return %r : memref<4xf32>
}
