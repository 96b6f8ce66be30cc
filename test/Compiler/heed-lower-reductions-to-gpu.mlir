// RUN: heed-opt %s --split-input-file --heed-lower-reductions-to-gpu --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-lower-reductions-to-gpu --heed-launches-to-host-loops --canonicalize --cse | FileCheck %s --check-prefix=HOST

// The softmax sum over 200 keys at batch 32, exp(e - max) fused into it:
// one block per row, 256 threads each summing a strided share from 0 (the
// combiner's identity), the element computed from the inputs at (row,
// key), keys past the end read at the last and counted as 0; the partials
// halved in shared memory over 8 rounds (256 >> (round + 1) threads add
// the partial a stride above theirs), a barrier each; thread 0 adds the
// total to out.
// CHECK-LABEL: func.func @softmax_sum
// CHECK-SAME: (%[[E:[^:]*]]: memref<32x200xf32>, %[[M:[^:]*]]: memref<32xf32>, %[[S:[^:]*]]: memref<32xf32>)
// CHECK: gpu.launch blocks(%[[BLOCK:[^,]*]], {{.*}}) in (%{{.*}} = %c32, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %c256, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%[[P:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[ROW:.*]] = arith.minui %[[BLOCK]], %c31
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[T]], %c200
// CHECK: %[[K:.*]] = arith.minui %[[T]], %c199
// CHECK: memref.load %[[E]][%[[ROW]], %[[K]]]
// CHECK: memref.load %[[M]][%[[ROW]]]
// CHECK: %[[X:.*]] = math.exp
// CHECK: %[[PART:.*]] = arith.select %[[INSIDE]], %[[X]], %cst
// CHECK: %[[SUM:.*]] = arith.addf %[[PART]], %cst
// CHECK: memref.store %[[SUM]], %[[P]][%[[T]]]
// CHECK: scf.for %[[R:.*]] = %c0 to %c8 step %c1
// CHECK: gpu.barrier
// CHECK: %[[STRIDE:.*]] = arith.shrui %c256
// CHECK: arith.cmpi ult, %[[T]], %[[STRIDE]]
// CHECK: arith.addf
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[T]], %c1
// CHECK: memref.load %[[P]][%[[T]]]
// CHECK: memref.load %[[S]][%[[ROW]]]
// CHECK: memref.store %{{.*}}, %[[S]][%[[ROW]]]
// CHECK-NOT: linalg.generic

// On the host (heed-launches-to-host-loops): the launch in loops over the
// 32 blocks, its 256 threads a loop per stretch between barriers; the
// tree's 8 rounds a loop at block level, each round's stride computed once.
// HOST-LABEL: func.func @softmax_sum
// HOST-NOT: gpu.
// HOST: memref.alloca() {alignment = 16 : i64} : memref<256xf32>
// HOST: scf.for %{{.*}} = %c0 to %c32 step %c1
// HOST-NEXT: scf.for %{{.*}} = %c0 to %c256 step %c1
// HOST: scf.for %[[ROUND:.*]] = %c0 to %c8 step %c1
// HOST-NEXT: arith.addi %[[ROUND]], %c1
// HOST-NEXT: %[[STRIDE:.*]] = arith.shrui %c256
// HOST-NEXT: scf.for %[[T:.*]] = %c0 to %c256 step %c1
// HOST-NEXT: arith.cmpi ult, %[[T]], %[[STRIDE]]
#row = affine_map<(b, t) -> (b, t)>
#bcast = affine_map<(b, t) -> (b)>
func.func @softmax_sum(%e: memref<32x200xf32>, %m: memref<32xf32>, %s: memref<32xf32>) {
  linalg.generic {indexing_maps = [#row, #bcast, #bcast], iterator_types = ["parallel", "reduction"]}
      ins(%e, %m : memref<32x200xf32>, memref<32xf32>) outs(%s : memref<32xf32>) {
  ^bb0(%in: f32, %max: f32, %out: f32):
    %d = arith.subf %in, %max : f32
    %x = math.exp %d : f32
    %y = arith.addf %x, %out : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// A maximum over 4 × 64 = 256 elements of 3 outputs (two reduced dims):
// from -inf (folded away: one element per thread); the reduced index splits
// into (i, j).
// CHECK-LABEL: func.func @max_two_dims
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %c3, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %c256,
// CHECK: %[[K:.*]] = arith.minui %[[T]], %c255
// CHECK: arith.remui %[[K]], %c64
// CHECK: arith.divui %[[K]], %c64
// CHECK: arith.maximumf
func.func @max_two_dims(%x: memref<3x4x64xf32>, %m: memref<3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b)>],
                  iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : memref<3x4x64xf32>) outs(%m : memref<3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.maximumf %out, %in : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// An argmax over 1000 logits at batch 1 (attn.argmax's reduction: the
// maximum and its index, the first maximum winning): one block of 256
// threads, each keeping the first maximum of its strided share (strictly
// greater, from -inf and an index above every real one); the tree keeps
// the other partial when it is larger or equal with a smaller index;
// thread 0 stores it where it beats what the outputs held.
// CHECK-LABEL: func.func @argmax
// CHECK-SAME: (%[[L:[^:]*]]: memref<1x1000xf32>, %[[MAX:[^:]*]]: memref<1xf32>, %[[AT:[^:]*]]: memref<1xf32>)
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %c256
// CHECK-SAME: workgroup(%[[PV:.*]] : memref<256xf32, #gpu.address_space<workgroup>>, %[[PI:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[PART:.*]]:2 = scf.for %[[K:.*]] = %[[T]] to %c1000 step %c256 iter_args(%[[V:.*]] = %cst{{.*}}, %[[I:.*]] = %cst{{.*}}) -> (f32, f32)
// CHECK: %[[X:.*]] = memref.load %[[L]][%c0, %[[K]]]
// CHECK: %[[B:.*]] = arith.cmpf ogt, %[[X]], %[[V]]
// CHECK: memref.store %[[PART]]#0, %[[PV]][%[[T]]]
// CHECK: memref.store %[[PART]]#1, %[[PI]][%[[T]]]
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpf olt
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[MAX]][%c0]
// CHECK: memref.store %{{.*}}, %[[AT]][%c0]
func.func @argmax(%logits: memref<1x1000xf32>, %max: memref<1xf32>, %at: memref<1xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%logits : memref<1x1000xf32>) outs(%max, %at : memref<1xf32>, memref<1xf32>) {
  ^bb0(%x: f32, %m: f32, %i: f32):
    %j = linalg.index 1 : index
    %j64 = arith.index_cast %j : index to i64
    %jf = arith.sitofp %j64 : i64 to f32
    %better = arith.cmpf ogt, %x, %m : f32
    %m2 = arith.select %better, %x, %m : f32
    %i2 = arith.select %better, %jf, %i : f32
    linalg.yield %m2, %i2 : f32, f32
  }
  return
}

// -----

// The argmax's outputs set from their initial values by copies right before
// it (a decoder step's argmax: -inf and index 0, made once before the loop,
// copied into fresh outputs each step): thread 0 compares with the copies'
// sources, and the copies (a launch of their own) are gone.
// CHECK-LABEL: func.func @argmax_init_copies
// CHECK-SAME: (%[[L:[^:]*]]: memref<1x1000xf32>, %[[MAX0:[^:]*]]: memref<1xf32>, %[[AT0:[^:]*]]: memref<1xf32>)
// CHECK-NOT: memref.copy
// CHECK: %[[MAX:.*]] = memref.alloc() : memref<1xf32>
// CHECK: %[[AT:.*]] = memref.alloc() : memref<1xf32>
// CHECK-NOT: memref.copy
// CHECK: gpu.launch
// CHECK: %[[MV:.*]] = memref.load %[[MAX0]][%c0]
// CHECK: %[[MI:.*]] = memref.load %[[AT0]][%c0]
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[MV]]
// CHECK: memref.store %{{.*}}, %[[MAX]][%c0]
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[MI]]
// CHECK: memref.store %{{.*}}, %[[AT]][%c0]
func.func @argmax_init_copies(%logits: memref<1x1000xf32>, %max0: memref<1xf32>, %at0: memref<1xf32>) -> (memref<1xf32>, memref<1xf32>) {
  %max = memref.alloc() : memref<1xf32>
  memref.copy %max0, %max : memref<1xf32> to memref<1xf32>
  %at = memref.alloc() : memref<1xf32>
  memref.copy %at0, %at : memref<1xf32> to memref<1xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%logits : memref<1x1000xf32>) outs(%max, %at : memref<1xf32>, memref<1xf32>) {
  ^bb0(%x: f32, %m: f32, %i: f32):
    %j = linalg.index 1 : index
    %j64 = arith.index_cast %j : index to i64
    %jf = arith.sitofp %j64 : i64 to f32
    %better = arith.cmpf ogt, %x, %m : f32
    %m2 = arith.select %better, %x, %m : f32
    %i2 = arith.select %better, %jf, %i : f32
    linalg.yield %m2, %i2 : f32, f32
  }
  return %max, %at : memref<1xf32>, memref<1xf32>
}

// -----

// A matrix-vector product at batch 1 (one row of 160 times 160 × 384) into
// its bias, copied into the accumulator right before: thread 0 of each
// block adds the total to the bias itself, and the copy (a launch of its
// own) is gone. A copy whose source the product reads stays.
// The weight's memory runs along the outputs, so a block takes 8
// neighbouring outputs (thread % 8) and 32 shares of the 160 (thread / 8):
// 48 blocks, a warp's loads of the weight whole 32-byte sectors; each share
// is 5 elements, unrolled (loads before adds); the tree halves the 32
// shares in 5 rounds and threads 0-7 store their outputs.
// CHECK-LABEL: func.func @bias_copy
// CHECK-SAME: (%[[X:[^:]*]]: memref<1x160xf32>, %[[W:[^:]*]]: memref<160x384xf32>, %[[BIAS:[^:]*]]: memref<1x384xf32>, %[[ACC:[^:]*]]: memref<1x384xf32>,
// CHECK-NOT: memref.copy
// CHECK: gpu.launch blocks(%[[BLOCK:[^,]*]], {{.*}}) in (%{{.*}} = %c48, {{.*}} threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %c256,
// CHECK: %[[FIRST:.*]] = arith.muli %[[BLOCK]], %c8
// CHECK: %[[LANE:.*]] = arith.remui %[[T]], %c8
// CHECK: %[[OUT:.*]] = arith.addi %[[FIRST]], %[[LANE]]
// CHECK: %[[SHARE:.*]] = arith.divui %[[T]], %c8
// CHECK: %[[K0:.*]] = arith.minui %[[SHARE]], %c159
// CHECK: memref.load %[[W]][%[[K0]], %[[N:.*]]] :
// CHECK: %[[K1:.*]] = arith.addi %[[SHARE]], %c32
// CHECK: memref.load %[[W]][%{{.*}}, %[[N]]] :
// CHECK-COUNT-3: memref.load %[[W]][%{{.*}}, %[[N]]] :
// CHECK-NOT: memref.load %[[W]]
// CHECK: arith.addf
// CHECK: scf.for %{{.*}} = %c0 to %c5 step %c1
// CHECK: arith.cmpi ult, %[[T]], %c8
// CHECK: %[[B:.*]] = memref.load %[[BIAS]]
// CHECK: %[[SUM:.*]] = arith.addf %[[B]]
// CHECK: memref.store %[[SUM]], %[[ACC]]
// CHECK: memref.copy %[[BIAS]], %{{.*}} : memref<1x384xf32> to memref<1x384xf32, strided<[544, 1]>>
// CHECK: gpu.launch
// HOST-LABEL: func.func @bias_copy
// HOST-SAME: (%{{[^:]*}}: memref<1x160xf32>, %{{[^:]*}}: memref<160x384xf32>, %[[BIAS:[^:]*]]: memref<1x384xf32>, %[[ACC:[^:]*]]: memref<1x384xf32>,
// HOST-NOT: memref.copy
// HOST: memref.load %[[BIAS]]
// HOST: memref.store %{{.*}}, %[[ACC]]
// HOST: memref.copy %[[BIAS]]
#xk = affine_map<(b, k, n) -> (b, k)>
#kn = affine_map<(b, k, n) -> (k, n)>
#bn = affine_map<(b, k, n) -> (b, n)>
func.func @bias_copy(%x: memref<1x160xf32>, %w: memref<160x384xf32>,
                     %bias: memref<1x384xf32>, %acc: memref<1x384xf32>,
                     %both: memref<1x544xf32>) {
  memref.copy %bias, %acc : memref<1x384xf32> to memref<1x384xf32>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<1x160xf32>, memref<160x384xf32>) outs(%acc : memref<1x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  }
  %out = memref.subview %both[0, 0] [1, 384] [1, 1] : memref<1x544xf32> to memref<1x384xf32, strided<[544, 1]>>
  %in = memref.subview %both[0, 384] [1, 160] [1, 1] : memref<1x544xf32> to memref<1x160xf32, strided<[544, 1], offset: 384>>
  memref.copy %bias, %out : memref<1x384xf32> to memref<1x384xf32, strided<[544, 1]>>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%in, %w : memref<1x160xf32, strided<[544, 1], offset: 384>>, memref<160x384xf32>)
      outs(%out : memref<1x384xf32, strided<[544, 1]>>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: a short reduction (100 elements: one thread per output), many
// outputs (8192 rows of 128: one thread each is parallel enough), and a
// body whose accumulator is not simply combined (out · 2 + x).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: gpu.launch
func.func @left_alone(%a: memref<4x100xf32>, %b: memref<8192x128xf32>,
                      %c: memref<4x200xf32>, %o4: memref<4xf32>, %o8: memref<8192xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x100xf32>) outs(%o4 : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %out, %in : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%b : memref<8192x128xf32>) outs(%o8 : memref<8192xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %out, %in : f32
    linalg.yield %y : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<4x200xf32>) outs(%o4 : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %two = arith.constant 2.0 : f32
    %d = arith.mulf %out, %two : f32
    %y = arith.addf %d, %in : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// A product of 256 outputs over 128 terms (a decoder cell's at batch 1):
// in a loop's step it keeps a thread per output, one block that the step's
// other kernels can share (heed-one-block-steps); outside a loop it gets
// blocks of 8 outputs. One output more, or one term more, and the step's
// product gets blocks too.
// CHECK-LABEL: func.func @small_product_in_a_step
// CHECK: scf.for
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %c33,
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %c32,
// CHECK: }
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %c32,
func.func @small_product_in_a_step(%x: memref<128xf32>, %w: memref<128x256xf32>,
                                   %y: memref<256xf32>, %w2: memref<128x257xf32>,
                                   %y2: memref<257xf32>, %x3: memref<129xf32>,
                                   %w3: memref<129x256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %t = %c0 to %c4 step %c1 {
    linalg.generic {indexing_maps = [affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (k, n)>, affine_map<(n, k) -> (n)>],
                    iterator_types = ["parallel", "reduction"]}
        ins(%x, %w : memref<128xf32>, memref<128x256xf32>) outs(%y : memref<256xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %out, %p : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (k, n)>, affine_map<(n, k) -> (n)>],
                    iterator_types = ["parallel", "reduction"]}
        ins(%x, %w2 : memref<128xf32>, memref<128x257xf32>) outs(%y2 : memref<257xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %out, %p : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (k, n)>, affine_map<(n, k) -> (n)>],
                    iterator_types = ["parallel", "reduction"]}
        ins(%x3, %w3 : memref<129xf32>, memref<129x256xf32>) outs(%y : memref<256xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %out, %p : f32
      linalg.yield %s : f32
    }
  }
  linalg.generic {indexing_maps = [affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (k, n)>, affine_map<(n, k) -> (n)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x, %w : memref<128xf32>, memref<128x256xf32>) outs(%y : memref<256xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A sum of all 256 elements into one output (no parallel dim): one block
// of 256 threads, one output a block.
// CHECK-LABEL: func.func @one_output
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c256,
// CHECK: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
func.func @one_output(%x: memref<256xf32>, %s: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<256xf32>) outs(%s : memref<f32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %out, %in : f32
    linalg.yield %y : f32
  }
  return
}

// -----

// An LSTM cell's product at batch 1 over [context, h] (64 + 96 = 160
// elements), the parts copied side by side right before it: the kernel
// reads each element from its part (both parts read at indices clamped
// into them, the one the index falls in selected), and the copies, a
// launch of their own, are gone with their views.
// CHECK-LABEL: func.func @concatenated_input
// CHECK-SAME: (%[[CTX:[^:]*]]: memref<1x64xf32>, %[[H:[^:]*]]: memref<2x96xf32>,
// CHECK-NOT: memref.copy
// CHECK: %[[HVIEW:.*]] = memref.subview %[[H]][1, 0]
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.subview
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch
// CHECK: %[[K:.*]] = arith.minui %{{.*}}, %c159
// CHECK: %[[KC:.*]] = arith.minsi %[[K]], %c63
// CHECK: %[[C:.*]] = memref.load %[[CTX]][%{{.*}}, %[[KC]]]
// CHECK: %[[KH:.*]] = arith.maxsi %{{.*}}, %c0
// CHECK: %[[HV:.*]] = memref.load %[[HVIEW]][%{{.*}}, %[[KH]]]
// CHECK: %[[IN:.*]] = arith.cmpi uge, %[[K]], %c64
// CHECK: arith.select %[[IN]], %[[HV]], %[[C]]
// CHECK-NOT: memref.copy
// HOST-LABEL: func.func @concatenated_input
// HOST-NOT: memref.copy
// HOST: arith.select
// HOST-NOT: memref.copy
#xk = affine_map<(b, k, n) -> (b, k)>
#kn = affine_map<(b, k, n) -> (k, n)>
#bn = affine_map<(b, k, n) -> (b, n)>
func.func @concatenated_input(%ctx: memref<1x64xf32>, %hs: memref<2x96xf32>,
                              %w: memref<160x384xf32>, %acc: memref<1x384xf32>) {
  %h = memref.subview %hs[1, 0] [1, 96] [1, 1] : memref<2x96xf32> to memref<1x96xf32, strided<[96, 1], offset: 96>>
  %x = memref.alloc() : memref<1x160xf32>
  %first = memref.subview %x[0, 0] [1, 64] [1, 1] : memref<1x160xf32> to memref<1x64xf32, strided<[160, 1]>>
  memref.copy %ctx, %first : memref<1x64xf32> to memref<1x64xf32, strided<[160, 1]>>
  %second = memref.subview %x[0, 64] [1, 96] [1, 1] : memref<1x160xf32> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  memref.copy %h, %second : memref<1x96xf32, strided<[96, 1], offset: 96>> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<1x160xf32>, memref<160x384xf32>) outs(%acc : memref<1x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  }
  memref.dealloc %x : memref<1x160xf32>
  return
}

// -----

// Concatenations whose copies stay: one also read after the product, one
// with a part missing, and one whose part's source a later copy overwrites
// (the product would read the new values).
// CHECK-LABEL: func.func @concatenations_kept
// CHECK-COUNT-2: memref.copy
// CHECK: gpu.launch
// CHECK: memref.copy %{{.*}}, %[[OTHER:.*]] :
// CHECK: gpu.launch
// CHECK-COUNT-3: memref.copy
// CHECK: gpu.launch
// HOST-LABEL: func.func @concatenations_kept
// HOST-COUNT-2: memref.copy
#xk = affine_map<(b, k, n) -> (b, k)>
#kn = affine_map<(b, k, n) -> (k, n)>
#bn = affine_map<(b, k, n) -> (b, n)>
func.func @concatenations_kept(%ctx: memref<1x64xf32>, %h: memref<1x96xf32>,
                               %w: memref<160x384xf32>, %acc: memref<1x384xf32>,
                               %seen: memref<1x160xf32>) {
  %x = memref.alloc() : memref<1x160xf32>
  %x0 = memref.subview %x[0, 0] [1, 64] [1, 1] : memref<1x160xf32> to memref<1x64xf32, strided<[160, 1]>>
  memref.copy %ctx, %x0 : memref<1x64xf32> to memref<1x64xf32, strided<[160, 1]>>
  %x1 = memref.subview %x[0, 64] [1, 96] [1, 1] : memref<1x160xf32> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  memref.copy %h, %x1 : memref<1x96xf32> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<1x160xf32>, memref<160x384xf32>) outs(%acc : memref<1x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  }
  memref.copy %x, %seen : memref<1x160xf32> to memref<1x160xf32>
  %y = memref.alloc() : memref<1x160xf32>
  %y1 = memref.subview %y[0, 64] [1, 96] [1, 1] : memref<1x160xf32> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  memref.copy %h, %y1 : memref<1x96xf32> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%y, %w : memref<1x160xf32>, memref<160x384xf32>) outs(%acc : memref<1x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  }
  %z = memref.alloc() : memref<1x160xf32>
  %z0 = memref.subview %z[0, 0] [1, 64] [1, 1] : memref<1x160xf32> to memref<1x64xf32, strided<[160, 1]>>
  memref.copy %ctx, %z0 : memref<1x64xf32> to memref<1x64xf32, strided<[160, 1]>>
  %z1 = memref.subview %z[0, 64] [1, 96] [1, 1] : memref<1x160xf32> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  memref.copy %h, %z1 : memref<1x96xf32> to memref<1x96xf32, strided<[160, 1], offset: 64>>
  %h0 = memref.subview %seen[0, 0] [1, 96] [1, 1] : memref<1x160xf32> to memref<1x96xf32, strided<[160, 1]>>
  memref.copy %h0, %h : memref<1x96xf32, strided<[160, 1]>> to memref<1x96xf32>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%z, %w : memref<1x160xf32>, memref<160x384xf32>) outs(%acc : memref<1x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// NMT's GRU input at batch 1: [h, embedding(token)], the embedding row
// looked up by an element-wise op right before the copies. The kernel
// looks the row up itself (the token loaded, the table read at it), and
// the lookup, a launch of its own, goes with the copies. A lookup whose
// rows are also read elsewhere stays, and the kernel reads its rows.
// CHECK-LABEL: func.func @looked_up_part
// CHECK-SAME: (%[[H:[^:]*]]: memref<1x96xf32>, %[[TOKEN:[^:]*]]: memref<1xf32>, %[[TABLE:[^:]*]]: memref<40x64xf32>,
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref.copy
// CHECK: gpu.launch
// CHECK: %[[K:.*]] = arith.minui %{{.*}}, %c159
// CHECK: memref.load %[[H]]
// CHECK: %[[E:.*]] = arith.maxsi %{{.*}}, %c0
// CHECK: %[[TOK:.*]] = memref.load %[[TOKEN]][%{{.*}}]
// CHECK: %[[ROW:.*]] = arith.fptosi %[[TOK]]
// CHECK: memref.load %[[TABLE]][%{{.*}}, %[[E]]]
// CHECK: arith.select
// CHECK: gpu.terminator
// CHECK: %[[E2:.*]] = memref.alloc
// CHECK: linalg.generic {{.*}} outs(%[[E2]]
// CHECK-NOT: memref.copy
// CHECK: gpu.launch
// CHECK: memref.load %[[E2]]
// CHECK: memref.copy %[[E2]]
// HOST-LABEL: func.func @looked_up_part
// HOST-NOT: memref.copy
// HOST: arith.fptosi
#xk = affine_map<(b, k, n) -> (b, k)>
#kn = affine_map<(b, k, n) -> (k, n)>
#bn = affine_map<(b, k, n) -> (b, n)>
func.func @looked_up_part(%h: memref<1x96xf32>, %token: memref<1xf32>, %table: memref<40x64xf32>,
                          %w: memref<160x384xf32>, %acc: memref<1x384xf32>, %seen: memref<1x64xf32>) {
  %c39 = arith.constant 39 : index
  %e = memref.alloc() : memref<1x64xf32>
  linalg.generic {indexing_maps = [affine_map<(b, j) -> (b)>, affine_map<(b, j) -> (b, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%token : memref<1xf32>) outs(%e : memref<1x64xf32>) {
  ^bb0(%t: f32, %out: f32):
    %i = arith.fptosi %t : f32 to i32
    %ix = arith.index_cast %i : i32 to index
    %row = arith.minsi %ix, %c39 : index
    %j = linalg.index 1 : index
    %v = memref.load %table[%row, %j] : memref<40x64xf32>
    linalg.yield %v : f32
  }
  %x = memref.alloc() : memref<1x160xf32>
  %x0 = memref.subview %x[0, 0] [1, 96] [1, 1] : memref<1x160xf32> to memref<1x96xf32, strided<[160, 1]>>
  memref.copy %h, %x0 : memref<1x96xf32> to memref<1x96xf32, strided<[160, 1]>>
  %x1 = memref.subview %x[0, 96] [1, 64] [1, 1] : memref<1x160xf32> to memref<1x64xf32, strided<[160, 1], offset: 96>>
  memref.copy %e, %x1 : memref<1x64xf32> to memref<1x64xf32, strided<[160, 1], offset: 96>>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<1x160xf32>, memref<160x384xf32>) outs(%acc : memref<1x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  }
  %e2 = memref.alloc() : memref<1x64xf32>
  linalg.generic {indexing_maps = [affine_map<(b, j) -> (b)>, affine_map<(b, j) -> (b, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%token : memref<1xf32>) outs(%e2 : memref<1x64xf32>) {
  ^bb0(%t: f32, %out: f32):
    %i = arith.fptosi %t : f32 to i32
    %ix = arith.index_cast %i : i32 to index
    %row = arith.minsi %ix, %c39 : index
    %j = linalg.index 1 : index
    %v = memref.load %table[%row, %j] : memref<40x64xf32>
    linalg.yield %v : f32
  }
  %y = memref.alloc() : memref<1x160xf32>
  %y0 = memref.subview %y[0, 0] [1, 96] [1, 1] : memref<1x160xf32> to memref<1x96xf32, strided<[160, 1]>>
  memref.copy %h, %y0 : memref<1x96xf32> to memref<1x96xf32, strided<[160, 1]>>
  %y1 = memref.subview %y[0, 96] [1, 64] [1, 1] : memref<1x160xf32> to memref<1x64xf32, strided<[160, 1], offset: 96>>
  memref.copy %e2, %y1 : memref<1x64xf32> to memref<1x64xf32, strided<[160, 1], offset: 96>>
  linalg.generic {indexing_maps = [#xk, #kn, #bn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%y, %w : memref<1x160xf32>, memref<160x384xf32>) outs(%acc : memref<1x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  }
  memref.copy %e2, %seen : memref<1x64xf32> to memref<1x64xf32>
  return
}
