// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels=on-host --canonicalize --cse | FileCheck %s --check-prefix=HOST

// 2 rows × 70 queries over 70 keys, with lengths and the causal mask: a
// grid of 2 rows × 2 query tiles (the query tiles fastest, so that blocks
// running together share a row's keys and values) blocks of 64 threads;
// key and value
// tiles of 64 keys and a padded score row per thread in shared memory
// (4 × (64 × 96 + 64 × 65) bytes: under 48 KB); the key loop stops at
// min(T, lengths[b], last row of the block + 1) and carries each
// thread's maximum, sum and context row (registers) across two barriers.
// CHECK-LABEL: func.func private @heed_flash_attention_0
// CHECK-SAME: (%[[Q:.*]]: memref<2x70x64xf32>, %[[K:.*]]: memref<2x70x64xf32>, %[[V:.*]]: memref<2x70x32xf32>, %[[L:.*]]: memref<2xf32>, %[[OUT:.*]]: memref<2x70x32xf32>)
// CHECK-NOT: heed.flash_attention
// CHECK: gpu.launch blocks(%[[X:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c4, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c64, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%[[KS:.*]] : memref<64x64xf32, #gpu.address_space<workgroup>>, %[[VS:.*]] : memref<64x32xf32, #gpu.address_space<workgroup>>, %[[S:.*]] : memref<64x65xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[B:.*]] = arith.divui %[[X]], %c2
// CHECK: %[[I:.*]] = arith.remui %[[X]], %c2
// CHECK: %[[FIRST:.*]] = arith.muli %[[I]], %c64
// CHECK: %[[ROW:.*]] = arith.addi %[[FIRST]], %[[T]]
// CHECK: vector.load %[[Q]][%[[B]], %[[ROW]], %c0] : memref<2x70x64xf32>, vector<64xf32>
// CHECK: memref.load %[[L]][%[[B]]]
// CHECK: %[[BYLEN:.*]] = arith.minui %{{.*}}, %c70
// CHECK: %[[LAST:.*]] = arith.addi %[[FIRST]], %c64
// CHECK: %[[END:.*]] = arith.minui %[[BYLEN]], %[[LAST]]
// CHECK: %[[STATE:.*]]:3 = scf.for %[[J0:.*]] = %c0 to %[[END]] step %c64 iter_args({{.*}}) -> (f32, f32, vector<32xf32>)
// The tile copies are unrolled (64 and 32 elements a thread), 16 loads
// before their stores.
// CHECK-NOT: scf.for
// CHECK-COUNT-16: memref.load %[[K]]
// CHECK-NOT: memref.load
// CHECK: memref.store %{{.*}}, %[[KS]]
// CHECK-NOT: scf.for
// CHECK: memref.load %[[V]]
// CHECK: memref.store %{{.*}}, %[[VS]]
// CHECK-NOT: scf.for
// CHECK: gpu.barrier
// CHECK: vector.reduction <add>
// CHECK: memref.store %{{.*}}, %[[S]][%[[T]], %{{.*}}]
// CHECK: math.exp
// CHECK: vector.fma
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[B]], %[[ROW]], %c0]
// CHECK: gpu.terminator

// On the host: the same body in loops over the 2 × 2 blocks and their 64
// threads; the shared tiles, then the per-thread state (maxima, sums,
// context rows, query rows) in arrays indexed by the thread; no gpu op.
// HOST-LABEL: func.func private @heed_flash_attention_0
// HOST-NOT: gpu.
// HOST: memref.alloca() {alignment = 16 : i64} : memref<64x64xf32>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<64x32xf32>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<64x65xf32>
// HOST-NEXT: %[[MS:.*]] = memref.alloca() : memref<64xf32>
// HOST-NEXT: memref.alloca() : memref<64xf32>
// HOST-NEXT: %[[OS:.*]] = memref.alloca() : memref<64x32xf32>
// HOST-NEXT: %[[QS:.*]] = memref.alloca() : memref<64x64xf32>
// HOST: scf.for %{{.*}} = %c0 to %c4 step %c1
// HOST-NEXT: scf.for %[[T0:.*]] = %c0 to %c64 step %c1
// HOST: vector.store %{{.*}}, %[[QS]][%[[T0]], %c0]
// HOST: scf.for %{{.*}} = %c0 to %{{.*}} step %c64
// HOST: scf.for %[[T1:.*]] = %c0 to %c64 step %c1
// HOST: scf.for %{{.*}} = %[[T1]] to %c4096 step %c64
// HOST: scf.for %[[T2:.*]] = %c0 to %c64 step %c1
// HOST: memref.load %[[MS]][%[[T2]]]
// HOST: vector.reduction <add>
// HOST: vector.store %{{.*}}, %[[OS]][%[[T2]], %c0]
// HOST-NOT: gpu.
func.func private @heed_flash_attention_0(memref<2x70x64xf32>, memref<2x70x64xf32>, memref<2x70x32xf32>, memref<2xf32>, memref<2x70x32xf32>) attributes {heed.flash_attention = {causal = true, heads = array<i64: 0, 0, 0, 0>, scale = 1.250000e-01 : f32}}

// -----

// 5 queries over 3 keys, no mask: one block of a warp per row, a tile of 4
// keys (no longer than the keys, rounded up): one tile, so the key loop
// folds away; the warp loads its 4 × 16 keys in two rounds (unrolled).
// CHECK-LABEL: func.func private @short
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c7, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %c32, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%{{.*}} : memref<4x16xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x8xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<32x5xf32, #gpu.address_space<workgroup>>)
// CHECK-NOT: scf.for
// CHECK-COUNT-2: memref.load %{{.*}} : memref<7x3x16xf32>
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args
func.func private @short(memref<7x5x16xf32>, memref<7x3x16xf32>, memref<7x3x8xf32>, memref<7x5x8xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.0 : f32}}

// -----

// Buffers with heads in place (heads = 2 each, [2, 10, 64]: rows of 4
// heads of 32): block row b reads row b / 2 at offset (b % 2) · 32 of the
// query, keys and values, and writes its context there.
// CHECK-LABEL: func.func private @heads
// CHECK-SAME: (%[[Q:[^:]*]]: memref<2x10x64xf32>, %[[K:[^:]*]]: memref<2x10x64xf32>, %[[V:[^:]*]]: memref<2x10x64xf32>, %[[OUT:[^:]*]]: memref<2x10x64xf32>)
// CHECK: gpu.launch blocks(%[[B:[^,]*]], {{.*}}) in (%{{.*}} = %c4, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK: %[[HEAD:.*]] = arith.remui %[[B]], %c2
// CHECK-NEXT: %[[ROW:.*]] = arith.divui %[[B]], %c2
// CHECK-NEXT: %[[OFF:.*]] = arith.muli %[[HEAD]], %c32
// CHECK-NEXT: vector.load %[[Q]][%[[ROW]], %{{.*}}, %[[OFF]]] : memref<2x10x64xf32>, vector<32xf32>
// CHECK: %[[HEAD2:.*]] = arith.remui %[[B]], %c2
// CHECK-NEXT: %[[ROW2:.*]] = arith.divui %[[B]], %c2
// CHECK-NEXT: %[[OFF2:.*]] = arith.muli %[[HEAD2]], %c32
// CHECK: %[[D:.*]] = arith.remui %{{.*}}, %c32
// CHECK: %[[COL:.*]] = arith.addi %[[OFF2]], %[[D]]
// CHECK: memref.load %[[K]][%[[ROW2]], %{{.*}}, %[[COL]]]
// CHECK: memref.load %[[V]][%[[ROW2]], %{{.*}}, %{{.*}}]
// CHECK: vector.store %{{.*}}, %[[OUT]][%[[ROW2]], %{{.*}}, %[[OFF2]]] : memref<2x10x64xf32>, vector<32xf32>
func.func private @heads(memref<2x10x64xf32>, memref<2x10x64xf32>, memref<2x10x64xf32>, memref<2x10x64xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 2, 2, 2, 2>, scale = 1.0 : f32}}
