// RUN: heed-opt %s --split-input-file --heed-fuse-thread-local-loops | FileCheck %s

// A gate's loop (its unit dimension folded away), then the copy of its
// result into a concatenation: one loop where the copy was, the gate's
// body first, its index over the unit dimension the constant lower bound.
// An independent loop between them does not stop the gate moving down.
// CHECK-LABEL: func.func @gate_then_copy
// CHECK-SAME: (%[[X:[^:]*]]: memref<1x128xf32>, %[[CAT:[^:]*]]: memref<1x160xf32>, %[[Y:[^:]*]]: memref<32xf32>, %[[Z:[^:]*]]: memref<32xf32>)
// CHECK: %[[G:.*]] = memref.alloc() : memref<1x128xf32>
// CHECK: scf.parallel (%[[K:[^)]*]]) =
// CHECK: memref.store %{{[^,]*}}, %[[Z]][%[[K]]]
// CHECK: %[[VIEW:.*]] = memref.subview %[[CAT]][0, 0] [1, 128]
// CHECK: scf.parallel (%[[I:[^,]*]], %[[J:[^)]*]]) = (%c0{{[^,]*}}, %c0{{[^)]*}}) to (%c1{{[^,]*}}, %c128{{[^)]*}})
// CHECK-NEXT: %[[XV:.*]] = memref.load %[[X]][%c0{{[_0-9]*}}, %[[J]]]
// CHECK-NEXT: %[[T:.*]] = math.tanh %[[XV]]
// CHECK-NEXT: memref.store %[[T]], %[[G]][%c0{{[_0-9]*}}, %[[J]]]
// CHECK-NEXT: %[[GV:.*]] = memref.load %[[G]][%[[I]], %[[J]]]
// CHECK-NEXT: memref.store %[[GV]], %[[VIEW]][%[[I]], %[[J]]]
// CHECK-NOT: scf.parallel
func.func @gate_then_copy(%x: memref<1x128xf32>, %cat: memref<1x160xf32>,
                          %y: memref<32xf32>, %z: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c128 = arith.constant 128 : index
  %g = memref.alloc() : memref<1x128xf32>
  scf.parallel (%j) = (%c0) to (%c128) step (%c1) {
    %v = memref.load %x[%c0, %j] : memref<1x128xf32>
    %t = math.tanh %v : f32
    memref.store %t, %g[%c0, %j] : memref<1x128xf32>
    scf.reduce
  }
  scf.parallel (%k) = (%c0) to (%c32) step (%c1) {
    %v = memref.load %y[%k] : memref<32xf32>
    memref.store %v, %z[%k] : memref<32xf32>
    scf.reduce
  }
  %view = memref.subview %cat[0, 0] [1, 128] [1, 1]
      : memref<1x160xf32> to memref<1x128xf32, strided<[160, 1]>>
  memref.copy %g, %view
      : memref<1x128xf32> to memref<1x128xf32, strided<[160, 1]>>
  return
}

// -----

// A chain: a reduction per output (its accumulator stored at the
// iteration's element in an inner loop), a mask, a copy: one loop.
// CHECK-LABEL: func.func @chain
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: arith.select
// CHECK: memref.store
// CHECK-NOT: scf.parallel
func.func @chain(%w: memref<64x16xf32>, %x: memref<16xf32>,
                 %out: memref<64xf32>, %mask: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<64xf32>
  %masked = memref.alloc() : memref<64xf32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    scf.for %k = %c0 to %c16 step %c1 {
      %a = memref.load %acc[%i] : memref<64xf32>
      %wv = memref.load %w[%i, %k] : memref<64x16xf32>
      %xv = memref.load %x[%k] : memref<16xf32>
      %p = arith.mulf %wv, %xv : f32
      %s = arith.addf %a, %p : f32
      memref.store %s, %acc[%i] : memref<64xf32>
    }
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %a = memref.load %acc[%i] : memref<64xf32>
    %m = memref.load %mask[%i] : memref<64xf32>
    %on = arith.cmpf une, %m, %zero : f32
    %v = arith.select %on, %a, %zero : f32
    memref.store %v, %masked[%i] : memref<64xf32>
    scf.reduce
  }
  memref.copy %masked, %out : memref<64xf32> to memref<64xf32>
  return
}

// -----

// Not fused: the consumer reads the producer's result transposed (another
// iteration's element), reads another iteration's element of it, or
// writes what the producer reads (the producer's other iterations would
// see it).
// CHECK-LABEL: func.func @other_elements
// CHECK-COUNT-6: scf.parallel
func.func @other_elements(%x: memref<8x8xf32>, %y: memref<8x8xf32>,
                          %z: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc() : memref<8x8xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<8x8xf32>
    memref.store %v, %a[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %v = memref.load %a[%j, %i] : memref<8x8xf32>
    memref.store %v, %y[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  %b = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %z[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %n = arith.subi %c7, %i : index
    %v = memref.load %b[%n] : memref<8xf32>
    memref.store %v, %z[%i] : memref<8xf32>
    scf.reduce
  }
  %c = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %z[%c0] : memref<8xf32>
    memref.store %v, %c[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %c[%i] : memref<8xf32>
    memref.store %v, %z[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// Not fused: different iterations; a loop between that reads the
// producer's result; a call between (unknown effects); a mapped loop as
// producer (a tiled kernel).
// CHECK-LABEL: func.func @kept_apart
// CHECK-COUNT-9: scf.parallel
func.func private @opaque()
func.func @kept_apart(%x: memref<16xf32>, %y: memref<16xf32>,
                      %z: memref<16xf32>, %u: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %a = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %a[%i] : memref<16xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<16xf32>
    memref.store %v, %y[%i] : memref<16xf32>
    scf.reduce
  }
  %b = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %b[%i] : memref<16xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%c0] : memref<16xf32>
    memref.store %v, %z[%i] : memref<16xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %b[%i] : memref<16xf32>
    memref.store %v, %y[%i] : memref<16xf32>
    scf.reduce
  }
  %c = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %c[%i] : memref<16xf32>
    scf.reduce
  }
  func.call @opaque() : () -> ()
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %c[%i] : memref<16xf32>
    memref.store %v, %z[%i] : memref<16xf32>
    scf.reduce
  }
  %d = memref.alloc() : memref<16xf32>
  scf.parallel (%b0, %t) = (%c0, %c0) to (%c1, %c16) step (%c1, %c1) {
    %v = memref.load %x[%t] : memref<16xf32>
    memref.store %v, %d[%t] : memref<16xf32>
    scf.reduce
  } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>,
                #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
  scf.parallel (%b0, %t) = (%c0, %c0) to (%c1, %c16) step (%c1, %c1) {
    %v = memref.load %d[%t] : memref<16xf32>
    memref.store %v, %u[%t] : memref<16xf32>
    scf.reduce
  }
  return
}

// -----

// Buffers a decoder's loop carries: the mask reads one carried buffer and
// the copy writes another. Fused when no allocation flows into both (here
// each starts as a function argument and takes its own allocation each
// step); kept apart when the step yields one buffer for both.
// CHECK-LABEL: func.func @carried
// CHECK: scf.for
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: scf.yield
// CHECK: scf.for
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: scf.yield
func.func @carried(%m0: memref<4xf32>, %w0: memref<4xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %r:2 = scf.for %step = %c0 to %c4 step %c1 iter_args(%m = %m0, %w = %w0)
      -> (memref<4xf32>, memref<4xf32>) {
    %t = memref.alloc() : memref<4xf32>
    scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
      %v = memref.load %m[%i] : memref<4xf32>
      %x = memref.load %s[%i] : memref<4xf32>
      %on = arith.cmpf une, %v, %zero : f32
      %y = arith.select %on, %x, %zero : f32
      memref.store %y, %t[%i] : memref<4xf32>
      scf.reduce
    }
    memref.copy %t, %w : memref<4xf32> to memref<4xf32>
    %n = memref.alloc() : memref<4xf32>
    %n2 = memref.alloc() : memref<4xf32>
    scf.yield %n, %n2 : memref<4xf32>, memref<4xf32>
  }
  %q:2 = scf.for %step = %c0 to %c4 step %c1 iter_args(%m = %m0, %w = %w0)
      -> (memref<4xf32>, memref<4xf32>) {
    %t = memref.alloc() : memref<4xf32>
    scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
      %v = memref.load %m[%i] : memref<4xf32>
      %x = memref.load %s[%i] : memref<4xf32>
      %on = arith.cmpf une, %v, %zero : f32
      %y = arith.select %on, %x, %zero : f32
      memref.store %y, %t[%i] : memref<4xf32>
      scf.reduce
    }
    memref.copy %t, %w : memref<4xf32> to memref<4xf32>
    %n = memref.alloc() : memref<4xf32>
    scf.yield %n, %n : memref<4xf32>, memref<4xf32>
  }
  return
}

// -----

// An LSTM step at batch 2: the gates [2, 128] (a product into them), then
// the cell over [2, 32] reading the four gates through subviews at 0, 32,
// 64 and 96 (two loops: the second reads the first's new cell state). The
// cells fuse as usual; the gates then run in the cell's iterations as a
// gather: per (b, j) the gates' body for units j, j + 32, j + 64, j + 96,
// then the cell's. One loop.
// CHECK-LABEL: func.func @lstm_gather
// CHECK-SAME: (%[[H:[^:]*]]: memref<2x32xf32>, %[[W:[^:]*]]: memref<32x128xf32>, %[[C:[^:]*]]: memref<2x32xf32>, %[[CN:[^:]*]]: memref<2x32xf32>, %[[HN:[^:]*]]: memref<2x32xf32>)
// CHECK: %[[G:.*]] = memref.alloc() : memref<2x128xf32>
// CHECK: scf.parallel (%[[B:[^,]*]], %[[J:[^)]*]]) = (%c0, %c0) to (%c2, %c32)
// CHECK-NOT: scf.parallel
// CHECK: memref.load %[[W]][%{{[^,]*}}, %[[J]]]
// CHECK: memref.store %{{.*}}, %[[G]][%[[B]], %[[J]]]
// CHECK: %[[J1:.*]] = arith.addi %[[J]], %c32
// CHECK: memref.store %{{.*}}, %[[G]][%[[B]], %[[J1]]]
// CHECK: %[[J2:.*]] = arith.addi %[[J]], %c64
// CHECK: memref.store %{{.*}}, %[[G]][%[[B]], %[[J2]]]
// CHECK: %[[J3:.*]] = arith.addi %[[J]], %c96
// CHECK: memref.store %{{.*}}, %[[G]][%[[B]], %[[J3]]]
// CHECK: memref.store %{{.*}}, %[[CN]][%[[B]], %[[J]]]
// CHECK: memref.store %{{.*}}, %[[HN]][%[[B]], %[[J]]]
// CHECK-NOT: scf.parallel
func.func @lstm_gather(%h: memref<2x32xf32>, %w: memref<32x128xf32>,
                       %c: memref<2x32xf32>, %cn: memref<2x32xf32>,
                       %hn: memref<2x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  %g = memref.alloc() : memref<2x128xf32>
  scf.parallel (%b, %n) = (%c0, %c0) to (%c2, %c128) step (%c1, %c1) {
    %sum = scf.for %k = %c0 to %c32 step %c1 iter_args(%acc = %zero) -> (f32) {
      %x = memref.load %h[%b, %k] : memref<2x32xf32>
      %y = memref.load %w[%k, %n] : memref<32x128xf32>
      %p = arith.mulf %x, %y : f32
      %a = arith.addf %acc, %p : f32
      scf.yield %a : f32
    }
    memref.store %sum, %g[%b, %n] : memref<2x128xf32>
    scf.reduce
  }
  %gi = memref.subview %g[0, 0] [2, 32] [1, 1] : memref<2x128xf32> to memref<2x32xf32, strided<[128, 1]>>
  %gf = memref.subview %g[0, 32] [2, 32] [1, 1] : memref<2x128xf32> to memref<2x32xf32, strided<[128, 1], offset: 32>>
  %gg = memref.subview %g[0, 64] [2, 32] [1, 1] : memref<2x128xf32> to memref<2x32xf32, strided<[128, 1], offset: 64>>
  %go = memref.subview %g[0, 96] [2, 32] [1, 1] : memref<2x128xf32> to memref<2x32xf32, strided<[128, 1], offset: 96>>
  scf.parallel (%b, %j) = (%c0, %c0) to (%c2, %c32) step (%c1, %c1) {
    %i = memref.load %gi[%b, %j] : memref<2x32xf32, strided<[128, 1]>>
    %f = memref.load %gf[%b, %j] : memref<2x32xf32, strided<[128, 1], offset: 32>>
    %u = memref.load %gg[%b, %j] : memref<2x32xf32, strided<[128, 1], offset: 64>>
    %cp = memref.load %c[%b, %j] : memref<2x32xf32>
    %fc = arith.mulf %f, %cp : f32
    %iu = arith.mulf %i, %u : f32
    %s = arith.addf %fc, %iu : f32
    memref.store %s, %cn[%b, %j] : memref<2x32xf32>
    scf.reduce
  }
  scf.parallel (%b, %j) = (%c0, %c0) to (%c2, %c32) step (%c1, %c1) {
    %o = memref.load %go[%b, %j] : memref<2x32xf32, strided<[128, 1], offset: 96>>
    %s = memref.load %cn[%b, %j] : memref<2x32xf32>
    %t = math.tanh %s : f32
    %r = arith.mulf %o, %t : f32
    memref.store %r, %hn[%b, %j] : memref<2x32xf32>
    scf.reduce
  }
  memref.dealloc %g : memref<2x128xf32>
  return
}

// -----

// No gather: the cell reads three of the four parts (the fourth's units
// would not run), and a cell whose parts are 48 apart (not the cell's 32).
// CHECK-LABEL: func.func @not_a_gather
// CHECK-COUNT-3: scf.parallel
func.func @not_a_gather(%w: memref<128xf32>, %o: memref<32xf32>, %o2: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c128 = arith.constant 128 : index
  %g = memref.alloc() : memref<128xf32>
  scf.parallel (%n) = (%c0) to (%c128) step (%c1) {
    %x = memref.load %w[%n] : memref<128xf32>
    memref.store %x, %g[%n] : memref<128xf32>
    scf.reduce
  }
  %g0 = memref.subview %g[0] [32] [1] : memref<128xf32> to memref<32xf32, strided<[1]>>
  %g1 = memref.subview %g[32] [32] [1] : memref<128xf32> to memref<32xf32, strided<[1], offset: 32>>
  %g2 = memref.subview %g[64] [32] [1] : memref<128xf32> to memref<32xf32, strided<[1], offset: 64>>
  %g48 = memref.subview %g[48] [32] [1] : memref<128xf32> to memref<32xf32, strided<[1], offset: 48>>
  scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
    %a = memref.load %g0[%j] : memref<32xf32, strided<[1]>>
    %b = memref.load %g1[%j] : memref<32xf32, strided<[1], offset: 32>>
    %c = memref.load %g2[%j] : memref<32xf32, strided<[1], offset: 64>>
    %s = arith.addf %a, %b : f32
    %t = arith.addf %s, %c : f32
    memref.store %t, %o[%j] : memref<32xf32>
    scf.reduce
  }
  scf.parallel (%j) = (%c0) to (%c32) step (%c1) {
    %a = memref.load %g0[%j] : memref<32xf32, strided<[1]>>
    %b = memref.load %g48[%j] : memref<32xf32, strided<[1], offset: 48>>
    %s = arith.addf %a, %b : f32
    memref.store %s, %o2[%j] : memref<32xf32>
    scf.reduce
  }
  memref.dealloc %g : memref<128xf32>
  return
}

// -----

// A softmax over rows of 11 at batch 8: the row maximum (a loop over the
// rows, the row's reduction inside), the exponentials (over rows and
// columns), the row sum, the division. Each reads what the one before it
// wrote in its own row only: one loop over the rows, each iteration its
// row's columns in order (scf.for) where a loop had them in parallel.
// CHECK-LABEL: func.func @softmax_rows
// CHECK-SAME: (%[[X:[^:]*]]: memref<8x11xf32>, %[[Y:[^:]*]]: memref<8x11xf32>)
// CHECK: %[[M:.*]] = memref.alloc() : memref<8xf32>
// CHECK: %[[E:.*]] = memref.alloc() : memref<8x11xf32>
// CHECK: %[[S:.*]] = memref.alloc() : memref<8xf32>
// CHECK: scf.parallel (%[[B:[^)]*]]) = (%c0{{[^)]*}}) to (%c8{{[^)]*}})
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: memref.store %{{[^,]*}}, %[[M]][%[[B]]]
// CHECK: scf.for %[[J:[^ ]*]] =
// CHECK: memref.load %[[M]][%[[B]]]
// CHECK: memref.store %{{[^,]*}}, %[[E]][%[[B]], %[[J]]]
// CHECK: scf.for %[[K:[^ ]*]] =
// CHECK: memref.load %[[E]][%[[B]], %[[K]]]
// CHECK: memref.store %{{[^,]*}}, %[[S]][%[[B]]]
// CHECK: scf.for %[[L:[^ ]*]] =
// CHECK: memref.load %[[S]][%[[B]]]
// CHECK: memref.store %{{[^,]*}}, %[[Y]][%[[B]], %[[L]]]
// CHECK-NOT: scf.parallel
func.func @softmax_rows(%x: memref<8x11xf32>, %y: memref<8x11xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c11 = arith.constant 11 : index
  %m = memref.alloc() : memref<8xf32>
  scf.parallel (%b) = (%c0) to (%c8) step (%c1) {
    scf.for %j = %c0 to %c11 step %c1 {
      %v = memref.load %x[%b, %j] : memref<8x11xf32>
      %a = memref.load %m[%b] : memref<8xf32>
      %r = arith.maximumf %v, %a : f32
      memref.store %r, %m[%b] : memref<8xf32>
    }
    scf.reduce
  }
  %e = memref.alloc() : memref<8x11xf32>
  scf.parallel (%b, %j) = (%c0, %c0) to (%c8, %c11) step (%c1, %c1) {
    %v = memref.load %x[%b, %j] : memref<8x11xf32>
    %a = memref.load %m[%b] : memref<8xf32>
    %d = arith.subf %v, %a : f32
    %r = math.exp %d : f32
    memref.store %r, %e[%b, %j] : memref<8x11xf32>
    scf.reduce
  }
  %s = memref.alloc() : memref<8xf32>
  scf.parallel (%b) = (%c0) to (%c8) step (%c1) {
    scf.for %j = %c0 to %c11 step %c1 {
      %v = memref.load %e[%b, %j] : memref<8x11xf32>
      %a = memref.load %s[%b] : memref<8xf32>
      %r = arith.addf %v, %a : f32
      memref.store %r, %s[%b] : memref<8xf32>
    }
    scf.reduce
  }
  scf.parallel (%b, %j) = (%c0, %c0) to (%c8, %c11) step (%c1, %c1) {
    %v = memref.load %e[%b, %j] : memref<8x11xf32>
    %a = memref.load %s[%b] : memref<8xf32>
    %r = arith.divf %v, %a : f32
    memref.store %r, %y[%b, %j] : memref<8x11xf32>
    scf.reduce
  }
  return
}

// -----

// Not fused by rows: a row of 64 (more than 32 columns a thread would run
// in order); a consumer that reads the row statistic by its column (another
// iteration's); a consumer whose rows are its second dimension (not the
// first, as the producer's).
// CHECK-LABEL: func.func @not_by_rows
// CHECK-COUNT-6: scf.parallel
func.func @not_by_rows(%x: memref<8x64xf32>, %y: memref<8x64xf32>,
                       %z: memref<8x8xf32>, %u: memref<11x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c11 = arith.constant 11 : index
  %c64 = arith.constant 64 : index
  %m = memref.alloc() : memref<8xf32>
  scf.parallel (%b) = (%c0) to (%c8) step (%c1) {
    scf.for %j = %c0 to %c64 step %c1 {
      %v = memref.load %x[%b, %j] : memref<8x64xf32>
      %a = memref.load %m[%b] : memref<8xf32>
      %r = arith.maximumf %v, %a : f32
      memref.store %r, %m[%b] : memref<8xf32>
    }
    scf.reduce
  }
  scf.parallel (%b, %j) = (%c0, %c0) to (%c8, %c64) step (%c1, %c1) {
    %v = memref.load %x[%b, %j] : memref<8x64xf32>
    %a = memref.load %m[%b] : memref<8xf32>
    %d = arith.subf %v, %a : f32
    memref.store %d, %y[%b, %j] : memref<8x64xf32>
    scf.reduce
  }
  %n = memref.alloc() : memref<8xf32>
  scf.parallel (%b) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%b, %c0] : memref<8x64xf32>
    memref.store %v, %n[%b] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%b, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %a = memref.load %n[%j] : memref<8xf32>
    memref.store %a, %z[%b, %j] : memref<8x8xf32>
    scf.reduce
  }
  %o = memref.alloc() : memref<8xf32>
  scf.parallel (%b) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%b, %c1] : memref<8x64xf32>
    memref.store %v, %o[%b] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%j, %b) = (%c0, %c0) to (%c11, %c8) step (%c1, %c1) {
    %a = memref.load %o[%b] : memref<8xf32>
    memref.store %a, %u[%j, %b] : memref<11x8xf32>
    scf.reduce
  }
  return
}
