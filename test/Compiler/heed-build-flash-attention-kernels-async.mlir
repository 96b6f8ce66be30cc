// RUN: heed-opt %s --heed-build-flash-attention-kernels=precision=bf16 --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --heed-build-flash-attention-kernels="precision=bf16 prefetch=false async-copy=false" --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --heed-build-flash-attention-kernels="precision=bf16 on-host" --canonicalize --cse | FileCheck %s --check-prefix=HOST

// Keys and values rounded to bf16 before the kernel
// (heed-lower-dot-attention-to-gpu): their tiles by cp.async, 8 elements
// (16 bytes) a copy, zero-filled from the row's length on; the query tile
// is still staged from f32, scaled and rounded. Rounded keys have no other
// staging: the same with prefetch and async-copy off. 4 warps of 32 rows
// (128 threads): 64 key rows × 8 groups a tile are 4 copies a thread, 64
// value rows × 4 groups 2.
// CHECK-LABEL: func.func private @heed_flash_attention_0
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c128, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%[[QS:.*]] : memref<128x72xbf16, #gpu.address_space<workgroup>>, %[[KS:.*]] : memref<64x72xbf16, #gpu.address_space<workgroup>>, %[[VS:.*]] : memref<64x40xbf16, #gpu.address_space<workgroup>>)
// CHECK: arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
// CHECK: vector.store %{{.*}}, %[[QS]]
// CHECK: %[[SIZE:.*]] = arith.select %{{.*}}, %c8, %c0 : index
// CHECK-NEXT: nvgpu.device_async_copy %arg1[{{.*}}], %[[KS]][{{.*}}], 8, %[[SIZE]] {bypassL1} : memref<2x70x64xbf16> to memref<64x72xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-3: nvgpu.device_async_copy %arg1
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-2: nvgpu.device_async_copy %arg2{{.*}}, %[[VS]][{{.*}}], 8, %{{.*}} {bypassL1} : memref<2x70x32xbf16> to memref<64x40xbf16, #gpu.address_space<workgroup>>
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvvm.mma.sync
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if
// CHECK-COUNT-4: nvgpu.device_async_copy %arg1
// CHECK: nvvm.mma.sync
// CHECK-NOT: gpu.barrier
// CHECK: scf.yield

// On the host the same copies as loads and stores of 8 elements, zeros
// from the row's length on.
// HOST-LABEL: func.func private @heed_flash_attention_0
// HOST-NOT: nvgpu
// HOST-NOT: nvvm
// HOST: %[[KS:.*]] = memref.alloca() {alignment = 16 : i64} : memref<64x72xbf16>
// HOST: %[[G:.*]] = vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<2x70x64xbf16>, vector<8xbf16>
// HOST-NEXT: %[[Z:.*]] = arith.select %{{.*}}, %[[G]], %{{.*}} : vector<8xbf16>
// HOST-NEXT: vector.store %[[Z]], %[[KS]][{{.*}}] {alignment = 16 : i64} : memref<64x72xbf16>, vector<8xbf16>
// HOST-NOT: nvgpu
// HOST-NOT: nvvm
func.func private @heed_flash_attention_0(memref<2x70x64xf32>, memref<2x70x64xbf16>, memref<2x70x32xbf16>, memref<2xf32>, memref<2x70x32xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.250000e-01 : f32}}
