// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu=prefetch=false --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu --canonicalize --cse | FileCheck %s --check-prefix=PIPE
// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu --heed-launches-to-host-loops --canonicalize --cse | FileCheck %s --check-prefix=HOST

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// [100 × 64] · [64 × 80]: blocks over (2 N tiles, 2 M tiles), 256 threads
// of 4 × 4 outputs, K in steps of 16 through two padded shared tiles; a is
// read K fastest across threads (its rows run along K), b N fastest; loads
// past M, N or K are clamped and replaced by zero; the accumulators are
// four vector<4xf32> (registers) across the barriers; out += them inside
// 100 × 80 only.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: memref<100x64xf32>, %[[B:.*]]: memref<64x80xf32>, %[[C:.*]]: memref<100x80xf32>)
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch blocks(%[[BX:.*]], %[[BY:.*]], %{{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c2, %{{.*}} = %c1) threads(%[[T:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%[[AS:.*]] : memref<16x68xf32, #gpu.address_space<workgroup>>, %[[BS:.*]] : memref<16x68xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %[[K0:.*]] = %c0 to %c64 step %c16 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: scf.for %[[E:.*]] = %[[T]] to %c1024 step %c256
// CHECK-NEXT: %[[KK:.*]] = arith.remui %[[E]], %c16
// CHECK-NEXT: %[[MM:.*]] = arith.divui %[[E]], %c16
// CHECK: %[[MC:.*]] = arith.minui %{{.*}}, %c99
// CHECK: %[[KC:.*]] = arith.minui %{{.*}}, %c63
// CHECK: memref.load %[[A]][%[[MC]], %[[KC]]]
// CHECK: arith.select
// CHECK: memref.store %{{.*}}, %[[AS]][%[[KK]], %[[MM]]]
// CHECK: scf.for %[[F:.*]] = %[[T]] to %c1024 step %c256
// CHECK-NEXT: %[[KK2:.*]] = arith.divui %[[F]], %c64
// CHECK-NEXT: %[[NN:.*]] = arith.remui %[[F]], %c64
// CHECK: memref.store %{{.*}}, %[[BS]][%[[KK2]], %[[NN]]]
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %c0 to %c16 step %c1
// CHECK-COUNT-4: vector.fma
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
// CHECK: arith.cmpi ult, %{{.*}}, %c100
// CHECK: arith.cmpi ult, %{{.*}}, %c80
// CHECK: scf.if
// CHECK: memref.load %[[C]]
// CHECK: memref.store %{{.*}}, %[[C]]

// With prefetch (the default), the same copies software-pipelined: each
// thread's 4 elements of each tile read before the loop and carried in it
// after the accumulators, stored at the start of a step, the next step's
// read right after its first barrier, before the outer products.
// PIPE-LABEL: func.func @matmul
// PIPE-SAME: (%[[A:.*]]: memref<100x64xf32>, %[[B:.*]]: memref<64x80xf32>, %{{.*}}: memref<100x80xf32>)
// PIPE: workgroup(%[[AS:.*]] : memref<16x68xf32, #gpu.address_space<workgroup>>, %[[BS:.*]] : memref<16x68xf32, #gpu.address_space<workgroup>>)
// PIPE-COUNT-4: memref.load %[[A]]
// PIPE-COUNT-4: memref.load %[[B]]
// PIPE: scf.for %[[K0:.*]] = %c0 to %c64 step %c16 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32, f32, f32, f32, f32)
// PIPE-NOT: memref.load
// PIPE-COUNT-4: memref.store %{{.*}}, %[[AS]]
// PIPE-NOT: memref.load
// PIPE-COUNT-4: memref.store %{{.*}}, %[[BS]]
// PIPE-NEXT: gpu.barrier
// PIPE-NEXT: arith.addi %[[K0]], %c16
// PIPE-NOT: vector.fma
// PIPE-COUNT-8: memref.load
// PIPE: vector.fma
// PIPE: gpu.barrier
// PIPE-NEXT: scf.yield

// On the host (heed-launches-to-host-loops): loops over the 2 × 2 blocks
// (the one-trip batch loop folds) and 256 threads; each accumulator row a
// vector of 4 per thread in an array; no gpu op.
// HOST-LABEL: func.func @matmul
// HOST-NOT: gpu.
// HOST: memref.alloca() {alignment = 16 : i64} : memref<16x68xf32>
// HOST: memref.alloca() : memref<256xvector<4xf32>>
// HOST: scf.for %[[BY:.*]] = %c0 to %c2 step %c1
// HOST-NEXT: scf.for %[[BX:.*]] = %c0 to %c2 step %c1
// HOST-NEXT: arith.muli %[[BY]], %c64
// HOST-NEXT: arith.muli %[[BX]], %c64
// HOST-NEXT: scf.for %{{.*}} = %c0 to %c256 step %c1
// HOST-NOT: gpu.
// HOST-NOT: linalg.generic
func.func @matmul(%a: memref<100x64xf32>, %b: memref<64x80xf32>, %c: memref<100x80xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<100x64xf32>, memref<64x80xf32>) outs(%c : memref<100x80xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A multi-head projection: [3, 7, 512] · [512, 8, 64] → [3, 7, 8, 64]. M
// is (3, 7) = 21 rows, N is (8, 64) = 512 columns: 8 N tiles, 1 M tile;
// a row index splits into (b, t) and a column into (h, d) where operands
// are read.
// CHECK-LABEL: func.func @heads
// HOST-LABEL: func.func @heads
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %c8, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK: scf.for %{{.*}} = %c0 to %c512 step %c16
// CHECK: arith.remui %{{.*}}, %c7
// CHECK-NEXT: arith.divui %{{.*}}, %c7
#x = affine_map<(b, t, k, h, d) -> (b, t, k)>
#w = affine_map<(b, t, k, h, d) -> (k, h, d)>
#y = affine_map<(b, t, k, h, d) -> (b, t, h, d)>
func.func @heads(%x: memref<3x7x512xf32>, %w: memref<512x8x64xf32>, %y: memref<3x7x8x64xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel"]}
      ins(%x, %w : memref<3x7x512xf32>, memref<512x8x64xf32>) outs(%y : memref<3x7x8x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %p = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Batched products (attention scores over 24 heads) go to grid z.
// CHECK-LABEL: func.func @batched
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c24)
#q = affine_map<(b, i, j, d) -> (b, i, d)>
#k = affine_map<(b, i, j, d) -> (b, j, d)>
#s = affine_map<(b, i, j, d) -> (b, i, j)>
func.func @batched(%q: memref<24x20x64xf32>, %k: memref<24x30x64xf32>, %s: memref<24x20x30xf32>) {
  linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<24x20x64xf32>, memref<24x30x64xf32>) outs(%s : memref<24x20x30xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %p = arith.mulf %in, %in_0 : f32
    %r = arith.addf %p, %out : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Left alone: 3 rows (a decoder step's product: one thread per output
// does better than a 64-row tile), and a body that is not multiply-add.
// CHECK-LABEL: func.func @small_and_other
// CHECK-NOT: gpu.launch
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: gpu.launch
#a2 = affine_map<(m, n, k) -> (m, k)>
#b2 = affine_map<(m, n, k) -> (k, n)>
#c2 = affine_map<(m, n, k) -> (m, n)>
func.func @small_and_other(%a: memref<3x64xf32>, %b: memref<64x80xf32>, %c: memref<3x80xf32>,
                           %a2: memref<100x64xf32>, %c2: memref<100x80xf32>) {
  linalg.generic {indexing_maps = [#a2, #b2, #c2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<3x64xf32>, memref<64x80xf32>) outs(%c : memref<3x80xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a2, #b2, #c2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a2, %b : memref<100x64xf32>, memref<64x80xf32>) outs(%c2 : memref<100x80xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %d = arith.subf %x, %y : f32
    %s = arith.addf %acc, %d : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A product in a loop (a decoder step's): on the host its stack arrays are
// made once at the function's entry, not per iteration (scf.for lowered to
// branches frees nothing per iteration: 1375 steps of a GRU overflowed the
// stack): the two tiles, and the arrays of what threads carry over a
// barrier (the 4 accumulators, the 8 fetched elements).
// CHECK-LABEL: func.func @in_a_loop
// CHECK: scf.for
// CHECK-NEXT: gpu.launch
// HOST-LABEL: func.func @in_a_loop
// HOST-COUNT-2: memref.alloca() {alignment = 16 : i64} : memref<16x68xf32>
// HOST: memref.alloca() : memref<256xvector<4xf32>>
// HOST: scf.for %{{.*}} = %c0 to %c1375
// HOST-NOT: memref.alloca
// HOST: return
#a3 = affine_map<(m, n, k) -> (m, k)>
#b3 = affine_map<(m, n, k) -> (k, n)>
#c3 = affine_map<(m, n, k) -> (m, n)>
func.func @in_a_loop(%a: memref<16x64xf32>, %b: memref<64x96xf32>, %c: memref<16x96xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1375 = arith.constant 1375 : index
  scf.for %t = %c0 to %c1375 step %c1 {
    linalg.generic {indexing_maps = [#a3, #b3, #c3], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<16x64xf32>, memref<64x96xf32>) outs(%c : memref<16x96xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}

// -----

// A dense layer: its bias, broadcast per row, copied into the product's
// output right before it. The kernel reads the init from the copy's source
// and the copy goes.
// CHECK-LABEL: func.func @bias_init
// CHECK-SAME: (%[[A:[^:]*]]: memref<100x64xf32>, %[[B:[^:]*]]: memref<64x80xf32>, %[[BIAS:[^:]*]]: memref<100x80xf32>, %[[C:[^:]*]]: memref<100x80xf32>)
// CHECK-NOT: memref.copy
// CHECK: gpu.launch
// CHECK: %[[INIT:.*]] = memref.load %[[BIAS]]
// CHECK: arith.addf %[[INIT]]
// CHECK: memref.store %{{.*}}, %[[C]]
// CHECK-NOT: memref.copy
#a4 = affine_map<(m, n, k) -> (m, k)>
#b4 = affine_map<(m, n, k) -> (k, n)>
#c4 = affine_map<(m, n, k) -> (m, n)>
func.func @bias_init(%a: memref<100x64xf32>, %b: memref<64x80xf32>, %bias: memref<100x80xf32>,
                     %c: memref<100x80xf32>) {
  memref.copy %bias, %c : memref<100x80xf32> to memref<100x80xf32>
  linalg.generic {indexing_maps = [#a4, #b4, #c4], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<100x64xf32>, memref<64x80xf32>) outs(%c : memref<100x80xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A dense layer's activation and a residual add after the product: the
// kernel's epilogue stores out, then applies the next op to the same
// element (the residual read at it, tanh) and stores its result; the
// elementwise op goes.
// CHECK-LABEL: func.func @epilogue
// CHECK-SAME: (%[[A:[^:]*]]: memref<100x64xf32>, %[[B:[^:]*]]: memref<64x80xf32>, %[[C:[^:]*]]: memref<100x80xf32>, %[[R:[^:]*]]: memref<100x80xf32>, %[[D:[^:]*]]: memref<100x80xf32>)
// CHECK: gpu.launch
// CHECK: %[[SUM:.*]] = arith.addf
// CHECK-NEXT: memref.store %[[SUM]], %[[C]][%[[M:.*]], %[[N:.*]]]
// CHECK-NEXT: %[[RES:.*]] = memref.load %[[R]][%[[M]], %[[N]]]
// CHECK-NEXT: %[[ADD:.*]] = arith.addf %[[SUM]], %[[RES]]
// CHECK-NEXT: %[[T:.*]] = math.tanh %[[ADD]]
// CHECK-NEXT: memref.store %[[T]], %[[D]][%[[M]], %[[N]]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
#a5 = affine_map<(m, n, k) -> (m, k)>
#b5 = affine_map<(m, n, k) -> (k, n)>
#c5 = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
func.func @epilogue(%a: memref<100x64xf32>, %b: memref<64x80xf32>, %c: memref<100x80xf32>,
                    %r: memref<100x80xf32>, %d: memref<100x80xf32>) {
  linalg.generic {indexing_maps = [#a5, #b5, #c5], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<100x64xf32>, memref<64x80xf32>) outs(%c : memref<100x80xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %r : memref<100x80xf32>, memref<100x80xf32>) outs(%d : memref<100x80xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// Not fused: the op after the product writes into the product's input
// (other blocks still read it), or reads out transposed (an element
// another thread writes).
// CHECK-LABEL: func.func @no_epilogue
// CHECK-COUNT-2: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]}
#a6 = affine_map<(m, n, k) -> (m, k)>
#b6 = affine_map<(m, n, k) -> (k, n)>
#c6 = affine_map<(m, n, k) -> (m, n)>
#id6 = affine_map<(m, n) -> (m, n)>
func.func @no_epilogue(%a: memref<100x80xf32>, %b: memref<80x80xf32>, %c: memref<100x80xf32>,
                       %c2: memref<80x80xf32>, %d: memref<80x80xf32>) {
  linalg.generic {indexing_maps = [#a6, #b6, #c6], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<100x80xf32>, memref<80x80xf32>) outs(%c : memref<100x80xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id6, #id6], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<100x80xf32>) outs(%a : memref<100x80xf32>) {
  ^bb0(%x: f32, %o: f32):
    %t = math.tanh %x : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#a6, #b6, #c6], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%b, %b : memref<80x80xf32>, memref<80x80xf32>) outs(%c2 : memref<80x80xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (n, m)>, #id6], iterator_types = ["parallel", "parallel"]}
      ins(%c2 : memref<80x80xf32>) outs(%d : memref<80x80xf32>) {
  ^bb0(%x: f32, %o: f32):
    %t = math.tanh %x : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// An LSTM cell's product at batch 64 over [context, h] (64 + 32 columns),
// the parts copied side by side right before it: the kernel's a tiles read
// each element from its part (both read at indices clamped into them, the
// one the index falls in selected), and the copies, a launch of their own,
// are gone with their views and the concatenation's buffer.
// CHECK-LABEL: func.func @concatenated_operand
// CHECK-SAME: (%[[CTX:[^:]*]]: memref<64x64xf32>, %[[H:[^:]*]]: memref<64x32xf32>,
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch
// CHECK: %[[K:.*]] = arith.minui %{{.*}}, %c95
// CHECK: %[[KC:.*]] = arith.minsi %[[K]], %c63
// CHECK: %[[C:.*]] = memref.load %[[CTX]][%{{.*}}, %[[KC]]]
// CHECK: %[[KH:.*]] = arith.maxsi %{{.*}}, %c0
// CHECK: %[[HV:.*]] = memref.load %[[H]][%{{.*}}, %[[KH]]]
// CHECK: %[[IN:.*]] = arith.cmpi uge, %[[K]], %c64
// CHECK: arith.select %[[IN]], %[[HV]], %[[C]]
// CHECK-NOT: memref.copy
// HOST-LABEL: func.func @concatenated_operand
// HOST-NOT: memref.copy
// HOST: arith.select
// HOST-NOT: memref.copy
#a6 = affine_map<(m, n, k) -> (m, k)>
#b6 = affine_map<(m, n, k) -> (k, n)>
#c6 = affine_map<(m, n, k) -> (m, n)>
func.func @concatenated_operand(%ctx: memref<64x64xf32>, %h: memref<64x32xf32>,
                                %w: memref<96x128xf32>, %gates: memref<64x128xf32>) {
  %x = memref.alloc() : memref<64x96xf32>
  %first = memref.subview %x[0, 0] [64, 64] [1, 1] : memref<64x96xf32> to memref<64x64xf32, strided<[96, 1]>>
  memref.copy %ctx, %first : memref<64x64xf32> to memref<64x64xf32, strided<[96, 1]>>
  %second = memref.subview %x[0, 64] [64, 32] [1, 1] : memref<64x96xf32> to memref<64x32xf32, strided<[96, 1], offset: 64>>
  memref.copy %h, %second : memref<64x32xf32> to memref<64x32xf32, strided<[96, 1], offset: 64>>
  linalg.generic {indexing_maps = [#a6, #b6, #c6], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x96xf32>, memref<96x128xf32>) outs(%gates : memref<64x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  memref.dealloc %x : memref<64x96xf32>
  return
}

// -----

// The copies stay where the product's epilogue writes a part's source
// (other blocks would still read it): the kernel reads the concatenation.
// CHECK-LABEL: func.func @epilogue_writes_a_part
// CHECK-COUNT-2: memref.copy
// CHECK: gpu.launch
// HOST-LABEL: func.func @epilogue_writes_a_part
// HOST-COUNT-2: memref.copy
#a7 = affine_map<(m, n, k) -> (m, k)>
#b7 = affine_map<(m, n, k) -> (k, n)>
#c7 = affine_map<(m, n, k) -> (m, n)>
#id7 = affine_map<(m, n) -> (m, n)>
func.func @epilogue_writes_a_part(%ctx: memref<64x64xf32>, %h: memref<64x32xf32>,
                                  %w: memref<96x32xf32>, %out: memref<64x32xf32>) {
  %x = memref.alloc() : memref<64x96xf32>
  %first = memref.subview %x[0, 0] [64, 64] [1, 1] : memref<64x96xf32> to memref<64x64xf32, strided<[96, 1]>>
  memref.copy %ctx, %first : memref<64x64xf32> to memref<64x64xf32, strided<[96, 1]>>
  %second = memref.subview %x[0, 64] [64, 32] [1, 1] : memref<64x96xf32> to memref<64x32xf32, strided<[96, 1], offset: 64>>
  memref.copy %h, %second : memref<64x32xf32> to memref<64x32xf32, strided<[96, 1], offset: 64>>
  linalg.generic {indexing_maps = [#a7, #b7, #c7], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x96xf32>, memref<96x32xf32>) outs(%out : memref<64x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id7, #id7], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<64x32xf32>) outs(%h : memref<64x32xf32>) {
  ^bb0(%y: f32, %o: f32):
    %t = math.tanh %y : f32
    linalg.yield %t : f32
  }
  memref.dealloc %x : memref<64x96xf32>
  return
}

// -----

// A product over 32 terms: in a loop's step it keeps a thread per output
// (its consumer, an LSTM's cell, then fuses into its loop); outside a loop
// it is a tiled kernel.
// CHECK-LABEL: func.func @short_products
// CHECK: scf.for
// CHECK-NEXT: linalg.generic
// CHECK: gpu.launch
// CHECK-NOT: linalg.generic
#a8 = affine_map<(m, n, k) -> (m, k)>
#b8 = affine_map<(m, n, k) -> (k, n)>
#c8 = affine_map<(m, n, k) -> (m, n)>
func.func @short_products(%a: memref<256x32xf32>, %b: memref<32x128xf32>, %c: memref<256x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c30 = arith.constant 30 : index
  scf.for %t = %c0 to %c30 step %c1 {
    linalg.generic {indexing_maps = [#a8, #b8, #c8], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<256x32xf32>, memref<32x128xf32>) outs(%c : memref<256x128xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  }
  linalg.generic {indexing_maps = [#a8, #b8, #c8], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<256x32xf32>, memref<32x128xf32>) outs(%c : memref<256x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
