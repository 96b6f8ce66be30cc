// RUN: heed-opt %s --split-input-file --heed-build-attention-row-kernels | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-build-attention-row-kernels --heed-launches-to-host-loops | FileCheck %s --check-prefix=HOST
// RUN: heed-opt %s --split-input-file --heed-build-attention-row-kernels=multiprocessors=8 | FileCheck %s --check-prefix=CHUNKS

// Softmax over 5 steps, a context of 6 columns: a block per batch row
// (2) of 32 threads (the steps and columns rounded up to a power of two,
// at least a warp), two shared arrays of partials. The score function is
// inlined where a thread scores its steps, which it writes to the weights;
// the maximum's tree (5 rounds), exp in place with the sum's tree (5), the
// division, then the context by columns: 13 barriers between 14 phases.
// The score function is gone.
// CHECK-LABEL: func.func private @heed_attention_rows_0
// CHECK-SAME: (%[[V:[^:]*]]: memref<2x5x6xf32>, %[[Q:[^:]*]]: memref<2x8xf32>, %[[K:[^:]*]]: memref<2x5x8xf32>, %[[CTX:[^:]*]]: memref<2x6xf32>, %[[W:[^:]*]]: memref<2x5xf32>)
// CHECK: gpu.launch blocks(%[[B:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %c2, %{{[^ ]*}} = %c1{{[^,]*}}, %{{[^ ]*}} = %c1{{[^)]*}}) threads(%[[T:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %c32,
// CHECK-SAME: workgroup(%[[MAX:[^ ]*]] : memref<32xf32, #gpu.address_space<workgroup>>, %[[SUM:[^ ]*]] : memref<32xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %[[S:[^ ]*]] = %[[T]] to %c5 step %c32
// CHECK: %[[X:[^ ]*]] = memref.load %[[Q]][%[[B]],
// CHECK: %[[Y:[^ ]*]] = memref.load %[[K]][%[[B]], %[[S]],
// CHECK: %[[E:[^ ]*]] = arith.mulf %[[X]], %[[Y]]
// CHECK: memref.store %[[E]], %[[W]][%[[B]], %[[S]]]
// CHECK: arith.maximumf
// CHECK: memref.store %{{[^,]*}}, %[[MAX]][%[[T]]]
// CHECK-COUNT-5: gpu.barrier
// CHECK: math.exp
// CHECK: memref.store %{{[^,]*}}, %[[SUM]][%[[T]]]
// CHECK-COUNT-5: gpu.barrier
// CHECK: arith.divf
// CHECK: gpu.barrier
// CHECK: scf.for %[[D:[^ ]*]] = %[[T]] to %c6 step %c32
// CHECK: scf.for %[[S2:[^ ]*]] = %c0{{[^ ]*}} to %c5
// CHECK: memref.load %[[W]][%[[B]], %[[S2]]]
// CHECK: memref.load %[[V]][%[[B]], %[[S2]], %[[D]]]
// CHECK: memref.store %{{[^,]*}}, %[[CTX]][%[[B]], %[[D]]]
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK-NOT: heed_attention_score_0

// On the host (heed-launches-to-host-loops): the shared arrays on the
// stack, and per block one loop over the 32 threads per phase (14), the
// score inlined in the first.
// HOST-LABEL: func.func private @heed_attention_rows_0
// HOST-NOT: gpu.
// HOST-COUNT-2: memref.alloca() {alignment = 16 : i64} : memref<32xf32>
// HOST: scf.for %{{[^ ]*}} = %c0{{[^ ]*}} to %c2
// HOST: scf.for %[[T:[^ ]*]] = %c0{{[^ ]*}} to %c32
// HOST: scf.for %{{[^ ]*}} = %[[T]] to %c5 step %c32
// HOST: arith.mulf
// HOST-COUNT-13: scf.for %{{[^ ]*}} = %c0{{[^ ]*}} to %c32
// HOST-NOT: heed_attention_score_0
func.func private @heed_attention_score_0(%b: index, %q: index, %t: index,
    %query: memref<2x8xf32>, %keys: memref<2x5x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  %y = memref.load %keys[%b, %t, %c0] : memref<2x5x8xf32>
  %e = arith.mulf %x, %y : f32
  return %e : f32
}
func.func private @heed_attention_rows_0(memref<2x5x6xf32>, memref<2x8xf32>,
    memref<2x5x8xf32>, memref<2x6xf32>, memref<2x5xf32>)
    attributes {heed.attention_rows = {normalization = 0 : i64, score = @heed_attention_score_0}}

// -----

// Smoothing over a sequence of 3 queries, 40 steps and 100 columns: blocks
// (batch row, query), 128 threads; σ(e) in the first phase with the sum's
// tree (7 rounds), no maximum, then the division and the context: 8
// barriers. The step's query is the block's second id.
// CHECK-LABEL: func.func private @heed_attention_rows_1
// CHECK: gpu.launch blocks(%[[B:[^,]*]], %[[QI:[^,]*]], %{{[^)]*}}) in (%{{[^ ]*}} = %c2, %{{[^ ]*}} = %c3, %{{[^ ]*}} = %c1{{[^)]*}}) threads(%{{[^)]*}}) in (%{{[^ ]*}} = %c128,
// CHECK: memref.load %{{[^[]*}}[%[[B]], %[[QI]], %c0
// CHECK: math.exp
// CHECK: memref.store %{{[^,]*}}, %{{[^[]*}}[%[[B]], %[[QI]], %{{[^]]*}}] : memref<2x3x40xf32>
// CHECK-COUNT-7: gpu.barrier
// CHECK-NOT: math.exp
// CHECK: arith.divf
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// With multiprocessors=8 its 6 blocks are 2 chunks of 20 steps a (row,
// query): no maximum, so each chunk's M is 0 and its sum follows; the
// combining kernel divides by the chunks' sum.
// CHUNKS-LABEL: func.func private @heed_attention_rows_1
// CHUNKS: %[[STATS:[^ ]*]] = memref.alloc() {alignment = 64 : i64} : memref<2x3x2x2xf32>
// CHUNKS: gpu.launch blocks(%[[B:[^,]*]], %[[QI:[^,]*]], %[[C:[^)]*]]) in (%{{[^ ]*}} = %c2, %{{[^ ]*}} = %c3, %{{[^ ]*}} = %c2{{[^)]*}})
// CHUNKS-COUNT-7: gpu.barrier
// CHUNKS: %[[ZERO:[^ ]*]] = arith.constant 0.000000e+00 : f32
// CHUNKS: memref.store %[[ZERO]], %[[STATS]][%[[B]], %[[QI]], %[[C]], %c0{{[^]]*}}]
// CHUNKS: gpu.launch
// CHUNKS: arith.divf
// CHUNKS: memref.store %{{[^,]*}}, %{{[^[]*}}[%{{[^,]*}}, %{{[^,]*}}, %{{[^]]*}}] : memref<2x3x40xf32>
// CHUNKS: memref.dealloc %[[STATS]]
func.func private @heed_attention_score_1(%b: index, %q: index, %t: index,
    %query: memref<2x3x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %q, %c0] : memref<2x3x8xf32>
  return %x : f32
}
func.func private @heed_attention_rows_1(memref<2x40x100xf32>, memref<2x3x8xf32>,
    memref<2x3x100xf32>, memref<2x3x40xf32>)
    attributes {heed.attention_rows = {normalization = 1 : i64, score = @heed_attention_score_1}}

// -----

// No normalization (the energies are the weights): scores, then the
// context, one barrier.
// CHECK-LABEL: func.func private @heed_attention_rows_2
// CHECK: gpu.launch
// CHECK-NOT: math.exp
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func private @heed_attention_score_2(%b: index, %q: index, %t: index,
    %query: memref<2x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
func.func private @heed_attention_rows_2(memref<2x5x6xf32>, memref<2x8xf32>,
    memref<2x6xf32>, memref<2x5xf32>)
    attributes {heed.attention_rows = {normalization = 2 : i64, score = @heed_attention_score_2}}

// -----

// Hard attention with local_p's Gaussian (window 2, positions in argument
// 2): the division phase multiplies each weight by exp((t - p)² · -0.5)
// with p the block's row's position; each context column is the value at
// the first step whose weight beats the best so far, or zero when none is
// above zero.
// CHECK-LABEL: func.func private @heed_attention_rows_3
// CHECK-SAME: (%[[V:[^:]*]]: memref<2x5x6xf32>, %{{[^:]*}}: memref<2x8xf32>, %[[P:[^:]*]]: memref<2xf32>, %[[CTX:[^:]*]]: memref<2x6xf32>, %[[W:[^:]*]]: memref<2x5xf32>)
// CHECK: gpu.launch blocks(%[[B:[^,]*]],
// CHECK: %[[POS:[^ ]*]] = memref.load %[[P]][%[[B]]]
// CHECK: scf.for %[[S:[^ ]*]] =
// CHECK: arith.divf
// CHECK: %[[TI:[^ ]*]] = arith.index_cast %[[S]]
// CHECK: %[[TF:[^ ]*]] = arith.sitofp %[[TI]]
// CHECK: %[[OFF:[^ ]*]] = arith.subf %[[TF]], %[[POS]]
// CHECK: %[[SQ:[^ ]*]] = arith.mulf %[[OFF]], %[[OFF]]
// CHECK: %[[SC:[^ ]*]] = arith.mulf %[[SQ]], %cst{{[^ ]*}}
// CHECK: %[[G:[^ ]*]] = math.exp %[[SC]]
// CHECK: arith.mulf %{{[^,]*}}, %[[G]]
// CHECK: gpu.barrier
// CHECK: scf.for %[[D:[^ ]*]] =
// CHECK: %[[BEST:[^:]*]]:2 = scf.for
// CHECK: %[[BETTER:[^ ]*]] = arith.cmpf ogt
// CHECK: arith.select %[[BETTER]]
// CHECK: arith.select %[[BETTER]]
// CHECK: %[[SOME:[^ ]*]] = arith.cmpf ogt, %[[BEST]]#0
// CHECK: %[[AT:[^ ]*]] = memref.load %[[V]][%[[B]], %[[BEST]]#1, %[[D]]]
// CHECK: %[[C:[^ ]*]] = arith.select %[[SOME]], %[[AT]]
// CHECK: memref.store %[[C]], %[[CTX]][%[[B]], %[[D]]]
func.func private @heed_attention_score_3(%b: index, %q: index, %t: index,
    %query: memref<2x8xf32>, %p: memref<2xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  return %x : f32
}
func.func private @heed_attention_rows_3(memref<2x5x6xf32>, memref<2x8xf32>,
    memref<2xf32>, memref<2x6xf32>, memref<2x5xf32>)
    attributes {heed.attention_rows = {hard, local_p = 2 : i64, normalization = 0 : i64, position = 2 : i64, score = @heed_attention_score_3}}

// -----

// A split score: 5 steps of 12 terms shared by 4 lanes (3 terms each; 20
// items, so 32 threads), partial sums in a third shared array of 20. Thread
// i's items are i, i + 32, ...: step i / 4, lane i % 4, terms lane, lane +
// 4, lane + 8 (the term function inlined in a loop over the 3, not unrolled:
// 3 is not a multiple of 2 or 4). After a barrier,
// each step's thread sums its 4 partials in lane order and finishes them
// (the finish function inlined) into the weights; then the softmax's
// phases as before: 14 barriers.
// CHECK-LABEL: func.func private @heed_attention_rows_3
// CHECK-SAME: (%[[V:[^:]*]]: memref<2x5x6xf32>, %[[Q:[^:]*]]: memref<2x12xf32>, %[[K:[^:]*]]: memref<2x5x12xf32>, %[[CTX:[^:]*]]: memref<2x6xf32>, %[[W:[^:]*]]: memref<2x5xf32>)
// CHECK: gpu.launch blocks(%[[B:[^,]*]], {{.*}} threads(%[[T:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %c32,
// CHECK-SAME: workgroup(%{{[^ ]*}} : memref<32xf32, #gpu.address_space<workgroup>>, %{{[^ ]*}} : memref<32xf32, #gpu.address_space<workgroup>>, %[[P:[^ ]*]] : memref<20xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %[[I:[^ ]*]] = %[[T]] to %c20{{[^ ]*}} step %c32
// CHECK: %[[S:[^ ]*]] = arith.divui %[[I]], %c4{{[^ ]*}}
// CHECK: %[[LANE:[^ ]*]] = arith.remui %[[I]], %c4{{[^ ]*}}
// CHECK: %[[PART:[^ ]*]] = scf.for %[[J:[^ ]*]] = %c0{{[^ ]*}} to %c3{{[^ ]*}} step %c1{{[^ ]*}} iter_args
// CHECK: %[[J1:[^ ]*]] = arith.addi %[[J]], %c0
// CHECK: %[[JL:[^ ]*]] = arith.muli %[[J1]], %c4{{[^ ]*}}
// CHECK: %[[TERM:[^ ]*]] = arith.addi %[[LANE]], %[[JL]]
// CHECK: memref.load %[[Q]][%[[B]], %[[TERM]]]
// CHECK: memref.load %[[K]][%[[B]], %[[S]], %[[TERM]]]
// CHECK: memref.store %[[PART]], %[[P]][%[[I]]]
// CHECK: gpu.barrier
// CHECK: scf.for %[[S2:[^ ]*]] = %[[T]] to %c5{{[^ ]*}} step %c32
// CHECK: %[[FIRST:[^ ]*]] = arith.muli %[[S2]], %c4{{[^ ]*}}
// CHECK: %[[TOTAL:[^ ]*]] = scf.for %[[L:[^ ]*]] = %c0{{[^ ]*}} to %c4{{[^ ]*}} step %c1{{[^ ]*}} iter_args
// CHECK: %[[AT:[^ ]*]] = arith.addi %[[FIRST]], %[[L]]
// CHECK: memref.load %[[P]][%[[AT]]]
// CHECK: %[[E:[^ ]*]] = arith.mulf %[[TOTAL]], %cst
// CHECK: memref.store %[[E]], %[[W]][%[[B]], %[[S2]]]
// CHECK-COUNT-13: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK-NOT: heed_attention_score_3
// HOST-LABEL: func.func private @heed_attention_rows_3
// HOST-NOT: gpu.
// HOST: memref.alloca() {alignment = 16 : i64} : memref<20xf32>
func.func private @heed_attention_score_3_term(%b: index, %q: index, %t: index,
    %k: index, %query: memref<2x12xf32>, %keys: memref<2x5x12xf32>) -> f32 {
  %x = memref.load %query[%b, %k] : memref<2x12xf32>
  %y = memref.load %keys[%b, %t, %k] : memref<2x5x12xf32>
  %e = arith.mulf %x, %y : f32
  return %e : f32
}
func.func private @heed_attention_score_3_finish(%b: index, %q: index, %t: index,
    %total: f32, %query: memref<2x12xf32>, %keys: memref<2x5x12xf32>) -> f32 {
  %scale = arith.constant 0.5 : f32
  %e = arith.mulf %total, %scale : f32
  return %e : f32
}
func.func private @heed_attention_rows_3(memref<2x5x6xf32>, memref<2x12xf32>,
    memref<2x5x12xf32>, memref<2x6xf32>, memref<2x5xf32>)
    attributes {heed.attention_rows = {normalization = 0 : i64, term = @heed_attention_score_3_term, finish = @heed_attention_score_3_finish, terms = 12 : i64, lanes = 4 : i64}}

// -----

// With multiprocessors=8, 2 rows of 40 steps are 2 chunks of 20 a row (4
// blocks, as many chunks as leave each 16 steps): buffers for each
// chunk's maximum and sum and its partial context; the chunk's block
// scores, exponentiates and sums its own steps (from 20 × its z id) and
// writes its maximum (at least -FLT_MAX), sum and Σ p[t] v[t, d]; then a
// block per row without barriers scales each chunk's weights and context
// by exp(M_c − M) / S, a thread per step (64). Without the option (CHECK)
// one block a row.
// CHECK-LABEL: func.func private @heed_attention_rows_5
// CHECK: gpu.launch blocks(%{{[^)]*}}) in (%{{[^ ]*}} = %c2, %{{[^ ]*}} = %c1{{[^,]*}}, %{{[^ ]*}} = %c1{{[^)]*}})
// CHECK-NOT: gpu.launch
// CHECK: return
// CHUNKS-LABEL: func.func private @heed_attention_rows_5
// CHUNKS-SAME: (%[[V:[^:]*]]: memref<2x40x6xf32>, %[[Q:[^:]*]]: memref<2x8xf32>, %[[K:[^:]*]]: memref<2x40x8xf32>, %[[CTX:[^:]*]]: memref<2x6xf32>, %[[W:[^:]*]]: memref<2x40xf32>)
// CHUNKS: %[[STATS:[^ ]*]] = memref.alloc() {alignment = 64 : i64} : memref<2x1x2x2xf32>
// CHUNKS: %[[PART:[^ ]*]] = memref.alloc() {alignment = 64 : i64} : memref<2x1x2x6xf32>
// CHUNKS: gpu.launch blocks(%[[B:[^,]*]], %{{[^,]*}}, %[[C:[^)]*]]) in (%{{[^ ]*}} = %c2, %{{[^ ]*}} = %c1{{[^,]*}}, %{{[^ ]*}} = %c2{{[^)]*}}) threads(%[[T:[^,]*]],
// CHUNKS: %[[START:[^ ]*]] = arith.muli %[[C]], %c20
// CHUNKS: scf.for %[[I:[^ ]*]] = %[[T]] to %c20{{[^ ]*}} step %c32
// CHUNKS: %[[S:[^ ]*]] = arith.addi %{{[^,]*}}, %[[I]]
// CHUNKS: memref.load %[[K]][%[[B]], %[[S]],
// CHUNKS: memref.store %{{[^,]*}}, %[[W]][%[[B]], %[[S]]]
// CHUNKS: math.exp
// CHUNKS-NOT: arith.divf
// CHUNKS: memref.store %{{[^,]*}}, %[[STATS]][%[[B]], %{{[^,]*}}, %[[C]], %c0{{[^]]*}}]
// CHUNKS: memref.store %{{[^,]*}}, %[[STATS]][%[[B]], %{{[^,]*}}, %[[C]], %c1{{[^]]*}}]
// CHUNKS: %[[END:[^ ]*]] = arith.addi %{{[^,]*}}, %c20
// CHUNKS: scf.for %[[D:[^ ]*]] = %[[T]] to %c6
// CHUNKS: scf.for %{{[^ ]*}} = %{{[^ ]*}} to %[[END]] step %c1
// CHUNKS: memref.store %{{[^,]*}}, %[[PART]][%[[B]], %{{[^,]*}}, %[[C]], %[[D]]]
// CHUNKS: gpu.terminator
// CHUNKS: gpu.launch blocks(%[[B2:[^,]*]], %{{[^)]*}}) in (%{{[^ ]*}} = %c2{{[^,]*}}, %{{[^ ]*}} = %c1{{[^,]*}}, %{{[^ ]*}} = %c1{{[^)]*}}) threads(%{{[^)]*}}) in (%{{[^ ]*}} = %c64,
// CHUNKS-NOT: gpu.barrier
// CHUNKS: memref.load %[[STATS]][%[[B2]],
// CHUNKS: math.exp
// CHUNKS: arith.divf
// CHUNKS: memref.store %{{[^,]*}}, %[[W]][%[[B2]],
// CHUNKS: memref.load %[[PART]][%[[B2]],
// CHUNKS: memref.store %{{[^,]*}}, %[[CTX]][%[[B2]],
// CHUNKS: gpu.terminator
// CHUNKS-NEXT: }
// CHUNKS-NEXT: memref.dealloc %[[STATS]]
// CHUNKS-NEXT: memref.dealloc %[[PART]]
// CHUNKS-NEXT: return
func.func private @heed_attention_score_5(%b: index, %q: index, %t: index,
    %query: memref<2x8xf32>, %keys: memref<2x40x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = memref.load %query[%b, %c0] : memref<2x8xf32>
  %y = memref.load %keys[%b, %t, %c0] : memref<2x40x8xf32>
  %e = arith.mulf %x, %y : f32
  return %e : f32
}
func.func private @heed_attention_rows_5(memref<2x40x6xf32>, memref<2x8xf32>,
    memref<2x40x8xf32>, memref<2x6xf32>, memref<2x40xf32>)
    attributes {heed.attention_rows = {normalization = 0 : i64, score = @heed_attention_score_5}}
