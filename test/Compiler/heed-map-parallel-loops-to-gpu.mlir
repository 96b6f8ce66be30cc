// RUN: heed-opt %s --pass-pipeline="builtin.module(func.func(heed-map-parallel-loops-to-gpu),cse)" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: not heed-opt %s --heed-map-parallel-loops-to-gpu=threads-per-block=100 2>&1 | FileCheck %s --check-prefix=THREADS

// A 3 x 100 nest: 300 iterations as 2 blocks of 256 threads; the innermost
// index is the linear index modulo 100 (neighbouring threads, neighbouring
// elements), the outer one the linear index divided by 100.
// CHECK-LABEL: func.func @two_dims
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C300:.*]] = arith.constant 300 : index
// CHECK-DAG: %[[C100:.*]] = arith.constant 100 : index
// CHECK: scf.parallel (%[[B:.*]], %[[T:.*]]) = (%{{.*}}, %{{.*}}) to (%[[C2]], %[[C256]])
// CHECK: %[[SCALED:.*]] = arith.muli %[[B]], %[[C256]]
// CHECK: %[[ID:.*]] = arith.addi %[[SCALED]], %[[T]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[C300]]
// CHECK: scf.if %[[IN]]
// CHECK: %[[J:.*]] = arith.remui %[[ID]], %[[C100]]
// CHECK: %[[I:.*]] = arith.divui %[[ID]], %[[C100]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}]
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK-SAME: #gpu.loop_dim_map<processor = thread_x
func.func @two_dims(%out: memref<3x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c100 = arith.constant 100 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c100) step (%c1, %c1) {
    memref.store %one, %out[%i, %j] : memref<3x100xf32>
    scf.reduce
  }
  return
}

// -----

// Fewer iterations than a block: one block of as many warps as they need.
// CHECK-LABEL: func.func @small
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%[[C1]], %[[C64]])
func.func @small(%out: memref<40xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c40) step (%c1) {
    memref.store %one, %out[%i] : memref<40xf32>
    scf.reduce
  }
  return
}

// -----

// A copy is a mapped loop of loads and stores.
// CHECK-LABEL: func.func @copy
// CHECK-NOT: memref.copy
// CHECK: scf.parallel
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<4x8xf32>
// CHECK: memref.store
// CHECK: thread_x
func.func @copy(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  return
}

// -----

// A parallel loop nested in a mapped one runs in sequence in its thread.
// CHECK-LABEL: func.func @nested
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: scf.for
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @nested(%out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %one, %out[%i, %j] : memref<4x8xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

func.func @dynamic(%out: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  // expected-error @+1 {{the GPU target needs parallel loops with constant bounds}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %one, %out[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// THREADS: threads-per-block must be a multiple of 32 from 32 to 1024, not 100

// -----

func.func @reduction(%in: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{the GPU target cannot map a parallel loop with reductions}}
  %sum = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %x = memref.load %in[%i] : memref<8xf32>
    scf.reduce(%x : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}

// -----

// A reduction to one value (linalg with no parallel dim: an argmax over 40
// logits at batch 1) is an scf.for outside any parallel loop: it becomes
// one thread's work, so the host neither runs it nor waits to read its
// inputs. A loop over index or i1 buffers (the deallocation helper's) stays
// on the host.
// CHECK-LABEL: func.func @argmax
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c1, %c32)
// CHECK: scf.for %{{.*}} = %c0 to %c40
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x
func.func @argmax(%logits: memref<1x40xf32>, %best: memref<1xf32>, %at: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  scf.for %i = %c0 to %c40 step %c1 {
    %x = memref.load %logits[%c0, %i] : memref<1x40xf32>
    %m = memref.load %best[%c0] : memref<1xf32>
    %gt = arith.cmpf ogt, %x, %m : f32
    %v = arith.select %gt, %x, %m : f32
    memref.store %v, %best[%c0] : memref<1xf32>
  }
  return
}
// CHECK-LABEL: func.func @host_pointers
// CHECK-NOT: scf.parallel
func.func @host_pointers(%flags: memref<?xi1>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %false = arith.constant false
  scf.for %i = %c0 to %n step %c1 {
    memref.store %false, %flags[%i] : memref<?xi1>
  }
  return
}

// -----

// Elementwise work on single-element buffers (a decoder step at batch 1,
// its loops folded away) is host loads, arithmetic and stores: the stores
// and what they are computed from run on one thread. A load whose value
// the host needs (the loop count below) stays on the host, and so does
// what it is computed from; a view used both inside and outside is made
// in both places. A copy of one element runs on one thread too.
// CHECK-LABEL: func.func @bookkeeping
// CHECK-SAME: (%[[LENGTHS:[^:]*]]: memref<1xf32>
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c1, %c32)
// CHECK: %[[INNER:.*]] = memref.expand_shape %[[LENGTHS]]
// CHECK: memref.load %[[INNER]]
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[LENGTHS]]
// CHECK: } {mapping
// CHECK-NEXT: %[[VIEW:.*]] = memref.expand_shape %[[LENGTHS]]
// CHECK-NEXT: %[[N:.*]] = memref.load %{{.*}}[%c0] : memref<1xf32>
// CHECK-NEXT: arith.fptosi %[[N]]
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c1, %c32)
// CHECK: memref.load %{{.*}}[] : memref<f32>
// CHECK-NEXT: memref.store %{{.*}}[] : memref<f32>
// CHECK: } {mapping
// CHECK: return %[[VIEW]]
func.func @bookkeeping(%lengths: memref<1xf32>, %finished: memref<1xf32>,
                       %count: memref<1xf32>, %from: memref<f32>,
                       %to: memref<f32>) -> (memref<1x1xf32>, i64) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %view = memref.expand_shape %lengths [[0, 1]] output_shape [1, 1] : memref<1xf32> into memref<1x1xf32>
  %l = memref.load %view[%c0, %c0] : memref<1x1xf32>
  %f = memref.load %finished[%c0] : memref<1xf32>
  %left = arith.subf %one, %f : f32
  %sum = arith.addf %l, %left : f32
  memref.store %sum, %lengths[%c0] : memref<1xf32>
  %n = memref.load %count[%c0] : memref<1xf32>
  %i = arith.fptosi %n : f32 to i64
  memref.copy %from, %to : memref<f32> to memref<f32>
  return %view, %i : memref<1x1xf32>, i64
}

// -----

// A value used outside and inside, computed from another that only the
// moved work uses: both are computed in both places (the outer one keeps
// what it is computed from).
// CHECK-LABEL: func.func @shared_chain
// CHECK: scf.parallel
// CHECK: %[[Y1:.*]] = arith.addf
// CHECK: %[[X1:.*]] = arith.mulf %[[Y1]]
// CHECK: memref.store %[[X1]]
// CHECK: } {mapping
// CHECK: %[[Y2:.*]] = arith.addf
// CHECK: %[[X2:.*]] = arith.mulf %[[Y2]]
// CHECK: return %[[X2]]
func.func @shared_chain(%out: memref<1xf32>, %a: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %y = arith.addf %a, %a : f32
  %x = arith.mulf %y, %a : f32
  memref.store %x, %out[%c0] : memref<1xf32>
  return %x : f32
}

// -----

// Neighbouring loops that run once become one launch whatever they share
// (one thread runs the bodies in order); a call between two keeps them
// apart.
// CHECK-LABEL: func.func @run_once
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[A:.*]][%c0]
// CHECK: %[[X:.*]] = memref.load %[[A]][
// CHECK: memref.store %[[X]]
// CHECK: } {mapping
// CHECK-NEXT: call @host
// CHECK-NEXT: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @run_once(%a: memref<1xf32>, %b: memref<1xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %v, %a[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    %x = memref.load %a[%i] : memref<1xf32>
    memref.store %x, %b[%i] : memref<1xf32>
    scf.reduce
  }
  func.call @host() : () -> ()
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %v, %b[%i] : memref<1xf32>
    scf.reduce
  }
  return
}
func.func private @host()
