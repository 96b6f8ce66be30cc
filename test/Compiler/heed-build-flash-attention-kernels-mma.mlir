// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels=precision=bf16 --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels="precision=f16 on-host" --canonicalize --cse | FileCheck %s --check-prefix=HOST
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels="precision=bf16 prefetch=false" --canonicalize --cse | FileCheck %s --check-prefix=STAGED
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels="precision=bf16 multiprocessors=3" --canonicalize --cse | FileCheck %s --check-prefix=SMALL
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels="precision=bf16 multiprocessors=2" --canonicalize --cse | FileCheck %s --check-prefix=FULL
// RUN: not heed-opt %s --heed-build-flash-attention-kernels=precision=tf32 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: heed-build-flash-attention-kernels: precision must be f32, tf32x3, bf16 or f16, not 'tf32'

// 2 rows × 70 queries over 70 keys with lengths and the causal mask, on
// tensor cores: (2 rows, 1 query tile) blocks of 4 warps (128 threads) of
// 32 query rows each (more than 64 queries: 128 rows a block, two 16-row
// tiles a warp); the query tile [128][64 + 8], the key tile [64][64 + 8]
// and the value tile [64][32 + 8] in shared memory (bf16, 36 KB: static),
// nothing else; the query tile staged once (scaled; 4 floats a load where
// the buffer is 16-byte aligned, 4 loads otherwise), then per 64 keys:
// store the tiles read the step before, barrier; read the next step's
// tiles into registers (the key tile's 8 groups of 4 floats a thread,
// the value tile's 4: in flight during the products, carried to the next
// step in the loop); scores (per 16 of the depth: the two row
// tiles' A fragments, 8 key fragments, each serving both row tiles: 16
// products; 64 in all); each row's maximum over its 4 lanes (butterfly
// shuffles by 1 and 2, no barrier); weights; context from the weights'
// registers (4 key steps × 2 row tiles × 4 column tiles, no load of a
// weights tile); barrier. The state across steps: the maxima and sums of
// a lane's two rows of each row tile and its 2 × 4 context accumulators,
// then the fetched groups; after the loop, each row's sum over its 4
// lanes.
// CHECK-LABEL: func.func private @heed_flash_attention_0
// CHECK-SAME: (%[[Q:.*]]: memref<2x70x64xf32>, %[[K:.*]]: memref<2x70x64xf32>, %[[V:.*]]: memref<2x70x32xf32>, %[[L:.*]]: memref<2xf32>, %[[OUT:.*]]: memref<2x70x32xf32>)
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%[[QS:.*]] : memref<128x72xbf16, #gpu.address_space<workgroup>>, %[[KS:.*]] : memref<64x72xbf16, #gpu.address_space<workgroup>>, %[[VS:.*]] : memref<64x40xbf16, #gpu.address_space<workgroup>>) {
// CHECK: %[[QADDR:.*]] = memref.extract_aligned_pointer_as_index %[[Q]]
// CHECK: %[[QREM:.*]] = arith.remui %[[QADDR]], %c16
// CHECK: %[[QALIGNED:.*]] = arith.cmpi eq, %[[QREM]], %c0
// CHECK: scf.if %[[QALIGNED]] {
// CHECK: vector.load %[[Q]]{{.*}} {alignment = 16 : i64} : memref<2x70x64xf32>, vector<4xf32>
// CHECK: arith.mulf %{{.*}}, %cst
// CHECK: arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
// CHECK: vector.store %{{.*}}, %[[QS]]{{.*}} {alignment = 8 : i64}
// CHECK: } else {
// CHECK-COUNT-4: memref.load %[[Q]]
// CHECK: arith.mulf %{{.*}}, %cst
// CHECK: vector.store %{{.*}}, %[[QS]]
// CHECK: %[[KF:.*]]:8 = scf.if %{{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK: vector.load %[[K]]{{.*}} {alignment = 16 : i64} : memref<2x70x64xf32>, vector<4xf32>
// CHECK: %[[VF:.*]]:4 = scf.if %{{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK: vector.load %[[V]]{{.*}} {alignment = 16 : i64} : memref<2x70x32xf32>, vector<4xf32>
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c64 iter_args({{.*}} = %[[KF]]#0, {{.*}} = %[[VF]]#3) -> (vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK-NOT: vector.load
// CHECK: vector.store %{{.*}}, %[[KS]]
// CHECK-NOT: vector.load
// CHECK: vector.store %{{.*}}, %[[VS]]
// CHECK: gpu.barrier
// CHECK-NOT: nvvm.mma.sync
// CHECK: vector.load %[[K]]
// CHECK-NOT: nvvm.mma.sync
// CHECK: vector.load %[[V]]
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-2: nvgpu.ldmatrix %[[QS]]{{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK-COUNT-8: nvgpu.ldmatrix %[[KS]]{{.*}} {numTiles = 2 : i32, transpose = false}
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: gpu.barrier
// CHECK: nvgpu.ldmatrix %[[QS]]
// CHECK-COUNT-48: nvvm.mma.sync
// CHECK-NOT: gpu.barrier
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK-NOT: gpu.barrier
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK-NOT: gpu.barrier
// CHECK: math.exp
// CHECK-NOT: gpu.barrier
// CHECK: nvgpu.ldmatrix %[[VS]]{{.*}} {numTiles = 2 : i32, transpose = true}
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: gpu.terminator

// With prefetch=false, each step reads and stores its tiles before its
// first barrier, and nothing is carried but the state.
// STAGED-LABEL: func.func private @heed_flash_attention_0
// STAGED-SAME: (%{{.*}}: memref<2x70x64xf32>, %[[K:.*]]: memref<2x70x64xf32>, %{{.*}}: memref<2x70x32xf32>, %{{.*}}: memref<2xf32>, %{{.*}}: memref<2x70x32xf32>)
// STAGED: scf.for %{{.*}} = %c0 to %{{.*}} step %c64 iter_args({{.*}}) -> (vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// STAGED: vector.load %[[K]]
// STAGED: gpu.barrier
// STAGED-NOT: vector.load %[[K]]
// STAGED: nvvm.mma.sync
// STAGED-NOT: vector.load %[[K]]
// STAGED: scf.yield

// With 3 multiprocessors the 2 blocks of 128 rows would leave one idle:
// blocks of 64 rows (4 warps of 16), two a batch row, a row's tiles
// neighbours on the grid's one axis (blocks running together share its keys
// and values). With 2 they would not: 128 rows.
// SMALL-LABEL: func.func private @heed_flash_attention_0
// SMALL: gpu.launch blocks(%[[X:[^,]*]], {{.*}}) in (%{{.*}} = %c4, %{{.*}} = %c1, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1)
// SMALL-SAME: workgroup(%{{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x40xbf16, #gpu.address_space<workgroup>>)
// SMALL-DAG: arith.divui %[[X]], %c2
// SMALL-DAG: arith.remui %[[X]], %c2
// FULL-LABEL: func.func private @heed_flash_attention_0
// FULL: gpu.launch blocks({{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c1, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1)
// FULL-SAME: workgroup(%{{.*}} : memref<128x72xbf16, #gpu.address_space<workgroup>>

// On the host: no instruction, no barrier, no shuffle; each product a loop
// over the depth whose lanes read the fragments of the others (the
// weights' from a [64][64 + 8] tile each lane stores its registers in);
// each row's maximum from its 4 lanes' values, in arrays.
// HOST-LABEL: func.func private @heed_flash_attention_0
// HOST-NOT: gpu.
// HOST-NOT: nvvm
// HOST: memref.alloca() {alignment = 16 : i64} : memref<128x72xf16>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<64x72xf16>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<64x40xf16>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<128x72xf16>
// HOST: scf.for %{{.*}} = %c0 to %c64 step %c16 iter_args
// HOST: arith.extf %{{.*}} : f16 to f32
func.func private @heed_flash_attention_0(memref<2x70x64xf32>, memref<2x70x64xf32>, memref<2x70x32xf32>, memref<2xf32>, memref<2x70x32xf32>) attributes {heed.flash_attention = {causal = true, heads = array<i64: 0, 0, 0, 0>, scale = 1.250000e-01 : f32}}

// -----

// Heads of 24 (not a multiple of 16) keep the f32 kernel.
// CHECK-LABEL: func.func private @odd_depth
// CHECK: workgroup({{.*}} : memref<{{.*}}xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.terminator
func.func private @odd_depth(memref<2x10x24xf32>, memref<2x10x24xf32>, memref<2x10x24xf32>, memref<2x10x24xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.0 : f32}}
