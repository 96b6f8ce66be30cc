// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels=precision=tf32x3 --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels="precision=tf32x3 on-host" --canonicalize --cse | FileCheck %s --check-prefix=HOST
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels="precision=tf32x3 async-copy=false" --canonicalize --cse | FileCheck %s --check-prefix=STAGED

// 2 rows × 70 queries over 70 keys with lengths and the causal mask, f32
// on tensor cores (3xTF32): the bf16 kernel's blocks (4 warps of 32 query
// rows) with the tiles in f32, [128][64 + 8] queries, [64][64 + 8] keys
// and [64][32 + 4] values: 63 KB, dynamic shared memory. Per 8 of the
// depth: a lane's A registers as two 8-byte loads a row tile, its B
// registers of the key tile one 8-byte load a key tile; each element split
// into tf32 parts (rounded by integer arithmetic); 3 products each (8 key
// tiles × 2 row tiles × 3 = 48), 384 for the scores. The context: per 8
// keys, the value tile's B registers as two loads of a float each (4
// column tiles), 3 products each (2 row tiles × 4 × 3 = 24), 192.
// With asynchronous copies (the default), FlashAttention-2's loop: the
// first key tile in flight from before the loop, 16-byte cp.async copies
// (4 floats, zero-filled past the end) committed as one group; each step
// waits for them before its barrier, issues its value tile as its scores
// start, and the next key tile (if any) after the barrier that follows the
// weights; no barrier ends the step.
// CHECK-LABEL: func.func private @heed_flash_attention_0
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1) dynamic_shared_memory_size %c64512_i32
// CHECK: %[[ALL:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[QS:.*]] = memref.view %[[ALL]][%c0][] : {{.*}} to memref<128x72xf32, #gpu.address_space<workgroup>>
// CHECK: %[[KS:.*]] = memref.view %[[ALL]][%c36864][] : {{.*}} to memref<64x72xf32, #gpu.address_space<workgroup>>
// CHECK: %[[VS:.*]] = memref.view %[[ALL]][%c55296][] : {{.*}} to memref<64x36xf32, #gpu.address_space<workgroup>>
// CHECK: vector.store %{{.*}}, %[[QS]]{{.*}} {alignment = 16 : i64} : memref<128x72xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: %[[VALID:.*]] = arith.select %{{.*}}, %c4, %c0 : index
// CHECK-NEXT: nvgpu.device_async_copy %arg1[{{.*}}], %[[KS]][{{.*}}], 4, %[[VALID]] {bypassL1} : memref<2x70x64xf32> to memref<64x72xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-7: nvgpu.device_async_copy %arg1
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c64
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-4: nvgpu.device_async_copy %arg2{{.*}}, %[[VS]]
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// CHECK-COUNT-383: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: math.exp2
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[MORE:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}}
// CHECK-NEXT: scf.if %[[MORE]]
// CHECK-COUNT-8: nvgpu.device_async_copy %arg1{{.*}}, %[[KS]]
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NOT: gpu.barrier
// CHECK: vector.load %[[VS]]{{.*}} : memref<64x36xf32, #gpu.address_space<workgroup>>, vector<1xf32>
// CHECK-COUNT-192: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: gpu.barrier
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: gpu.terminator

// Without (async-copy=false), the tiles staged through registers at each
// step's start, a barrier at its end.
// STAGED-LABEL: func.func private @heed_flash_attention_0
// STAGED: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1) dynamic_shared_memory_size %c64512_i32
// STAGED: %[[ALL:.*]] = gpu.dynamic_shared_memory
// STAGED: %[[QS:.*]] = memref.view %[[ALL]][%c0][] : {{.*}} to memref<128x72xf32, #gpu.address_space<workgroup>>
// STAGED: %[[KS:.*]] = memref.view %[[ALL]][%c36864][] : {{.*}} to memref<64x72xf32, #gpu.address_space<workgroup>>
// STAGED: %[[VS:.*]] = memref.view %[[ALL]][%c55296][] : {{.*}} to memref<64x36xf32, #gpu.address_space<workgroup>>
// STAGED: vector.store %{{.*}}, %[[QS]]{{.*}} {alignment = 16 : i64} : memref<128x72xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// STAGED: scf.for
// STAGED: gpu.barrier
// STAGED: vector.load %[[QS]]{{.*}} {alignment = 8 : i64} : memref<128x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// STAGED: vector.load %[[KS]]{{.*}} {alignment = 8 : i64} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// STAGED: %[[BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
// STAGED: %[[UP:.*]] = arith.addi %[[BITS]], %c4096_i32
// STAGED: arith.andi %[[UP]], %c-8192_i32
// STAGED: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// STAGED-COUNT-383: nvvm.mma.sync
// STAGED-NOT: nvvm.mma.sync
// STAGED: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// STAGED: math.exp
// STAGED-NOT: gpu.barrier
// STAGED: vector.load %[[VS]]{{.*}} : memref<64x36xf32, #gpu.address_space<workgroup>>, vector<1xf32>
// STAGED-COUNT-192: nvvm.mma.sync
// STAGED-NOT: nvvm.mma.sync
// STAGED: gpu.barrier
// STAGED-NEXT: scf.yield
// STAGED: gpu.terminator

// On the host: no instruction; the shared tiles (and the weights', f32)
// aligned as on a GPU, each product a loop over 8 of K whose lanes read
// the others' registers through the same loads, splitting both factors.
// HOST-LABEL: func.func private @heed_flash_attention_0
// HOST-NOT: nvvm
// HOST: memref.alloca() {alignment = 16 : i64} : memref<128x72xf32>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<64x72xf32>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<64x36xf32>
// HOST-NEXT: memref.alloca() {alignment = 16 : i64} : memref<128x68xf32>
// HOST: scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args
// HOST: arith.andi %{{.*}}, %c-8192_i32
// HOST-NOT: nvvm
func.func private @heed_flash_attention_0(memref<2x70x64xf32>, memref<2x70x64xf32>, memref<2x70x32xf32>, memref<2xf32>, memref<2x70x32xf32>) attributes {heed.flash_attention = {causal = true, heads = array<i64: 0, 0, 0, 0>, scale = 1.250000e-01 : f32}}

// -----

// Heads of 20 (not a multiple of 8) keep the f32 kernel.
// CHECK-LABEL: func.func private @odd_depth
// CHECK: workgroup({{.*}} : memref<{{.*}}xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.terminator
func.func private @odd_depth(memref<2x10x20xf32>, memref<2x10x20xf32>, memref<2x10x20xf32>, memref<2x10x20xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.0 : f32}}
