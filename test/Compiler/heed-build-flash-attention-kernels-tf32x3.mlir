// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels=precision=tf32x3 --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-build-flash-attention-kernels="precision=tf32x3 on-host" --canonicalize --cse | FileCheck %s --check-prefix=HOST

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
// CHECK-LABEL: func.func private @heed_flash_attention_0
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1) dynamic_shared_memory_size %c64512_i32
// CHECK: %[[ALL:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[QS:.*]] = memref.view %[[ALL]][%c0][] : {{.*}} to memref<128x72xf32, #gpu.address_space<workgroup>>
// CHECK: %[[KS:.*]] = memref.view %[[ALL]][%c36864][] : {{.*}} to memref<64x72xf32, #gpu.address_space<workgroup>>
// CHECK: %[[VS:.*]] = memref.view %[[ALL]][%c55296][] : {{.*}} to memref<64x36xf32, #gpu.address_space<workgroup>>
// CHECK: vector.store %{{.*}}, %[[QS]]{{.*}} {alignment = 16 : i64} : memref<128x72xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: vector.load %[[QS]]{{.*}} {alignment = 8 : i64} : memref<128x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: vector.load %[[KS]]{{.*}} {alignment = 8 : i64} : memref<64x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: %[[BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[UP:.*]] = arith.addi %[[BITS]], %c4096_i32
// CHECK: arith.andi %[[UP]], %c-8192_i32
// CHECK: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// CHECK-COUNT-383: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: math.exp
// CHECK-NOT: gpu.barrier
// CHECK: vector.load %[[VS]]{{.*}} : memref<64x36xf32, #gpu.address_space<workgroup>>, vector<1xf32>
// CHECK-COUNT-192: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
// CHECK: gpu.terminator

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
