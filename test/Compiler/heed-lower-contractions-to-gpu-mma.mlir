// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu="precision=bf16 prefetch=false" --canonicalize --cse | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu=precision=bf16 --canonicalize --cse | FileCheck %s --check-prefix=PIPE
// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu="precision=f16 on-host" --canonicalize --cse | FileCheck %s --check-prefix=HOST
// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu --canonicalize --cse | FileCheck %s --check-prefix=F32
// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu=precision=tf32x3 --canonicalize --cse | FileCheck %s --check-prefix=TF32X3
// RUN: heed-opt %s --split-input-file --heed-lower-contractions-to-gpu=precision=tf32 --verify-diagnostics

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// [100 × 40] · [40 × 80] on tensor cores: the same blocks of 64 × 64
// outputs (2 × 2 of them), 8 warps of 32 threads; per K step of 16 the
// tiles are staged rounded to bf16, K last ([64][16 + 8]: a is read K
// fastest, b N fastest), then each warp loads its 4 registers of A once
// (one ldmatrix.x4) and runs 4 products of 16 × 8 (2 registers of B each,
// one ldmatrix.x2) into four vector<4xf32> of accumulators.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: memref<100x40xf32>, %[[B:.*]]: memref<40x80xf32>, %[[C:.*]]: memref<100x80xf32>)
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c2, %{{.*}} = %c1) threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %c256, %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME: workgroup(%[[AS:.*]] : memref<64x24xbf16, #gpu.address_space<workgroup>>, %[[BS:.*]] : memref<64x24xbf16, #gpu.address_space<workgroup>>)
// CHECK: scf.for %{{.*}} = %c0 to %c40 step %c16 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: scf.for %[[E:.*]] = %[[T]] to %c1024 step %c256
// CHECK-NEXT: %[[KK:.*]] = arith.remui %[[E]], %c16
// CHECK-NEXT: %[[MM:.*]] = arith.divui %[[E]], %c16
// CHECK: memref.load %[[A]]
// CHECK: %[[RA:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK: memref.store %[[RA]], %[[AS]][%[[MM]], %[[KK]]]
// CHECK: scf.for %[[F:.*]] = %[[T]] to %c1024 step %c256
// CHECK-NEXT: %[[KB:.*]] = arith.divui %[[F]], %c64
// CHECK-NEXT: %[[NB:.*]] = arith.remui %[[F]], %c64
// CHECK: memref.load %[[B]]
// CHECK: %[[RB:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK: memref.store %[[RB]], %[[BS]][%[[NB]], %[[KB]]]
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix %[[AS]]{{.*}} {numTiles = 4 : i32, transpose = false} : memref<64x24xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK-NOT: nvgpu.ldmatrix %[[AS]]
// CHECK: nvgpu.ldmatrix %[[BS]]{{.*}} {numTiles = 2 : i32, transpose = false} : memref<64x24xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
// CHECK-COUNT-4: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: gpu.barrier
// CHECK: scf.yield
// Each accumulator is stored inside 100 × 80 only.
// CHECK-COUNT-16: memref.store %{{.*}}, %[[C]]

// With prefetch (the default), the copies software-pipelined: a thread's
// 4 elements of each tile are read before the loop and carried in it
// after the accumulators, stored (rounded) at the start of a step; the
// next step's are read right after the step's first barrier, in flight
// during its products.
// PIPE-LABEL: func.func @matmul
// PIPE-SAME: (%[[A:.*]]: memref<100x40xf32>, %[[B:.*]]: memref<40x80xf32>, %{{.*}}: memref<100x80xf32>)
// PIPE: workgroup(%[[AS:.*]] : memref<64x24xbf16, #gpu.address_space<workgroup>>, %[[BS:.*]] : memref<64x24xbf16, #gpu.address_space<workgroup>>)
// PIPE-COUNT-4: memref.load %[[A]]
// PIPE-COUNT-4: memref.load %[[B]]
// PIPE: scf.for %[[K0:.*]] = %c0 to %c40 step %c16 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32, f32, f32, f32, f32)
// PIPE-NOT: memref.load
// PIPE-COUNT-4: memref.store %{{.*}}, %[[AS]]
// PIPE-NOT: memref.load
// PIPE-COUNT-4: memref.store %{{.*}}, %[[BS]]
// PIPE-NEXT: gpu.barrier
// PIPE-NEXT: arith.addi %[[K0]], %c16
// PIPE-NOT: nvvm.mma.sync
// PIPE-COUNT-4: memref.load %[[A]]
// PIPE-NOT: nvvm.mma.sync
// PIPE-COUNT-4: memref.load %[[B]]
// PIPE-COUNT-4: nvvm.mma.sync
// PIPE: gpu.barrier
// PIPE-NEXT: scf.yield

// On the host, no instruction: each lane's accumulator is a loop over the
// 16 K of its row and column, reading the fragments of other lanes.
// HOST-LABEL: func.func @matmul
// HOST-NOT: nvvm
// HOST-NOT: gpu.
// HOST: memref.alloca() {alignment = 16 : i64} : memref<64x24xf16>
// HOST: arith.truncf %{{.*}} : f32 to f16
// HOST: scf.for %{{.*}} = %c0 to %c16 step %c1 iter_args(%{{.*}}) -> (f32)
// HOST: vector.load {{.*}} : memref<64x24xf16>, vector<2xf16>
// HOST: arith.extf %{{.*}} : f16 to f32

// In f32 on tensor cores (3xTF32): the tiles stay f32, K steps of 32
// ([64][32 + 8]); per 8 of K, A's fragment as two 8-byte loads and B's as
// one a product, each element split into tf32 parts, 3 products of each of
// the 4 (48 a step).
// TF32X3-LABEL: func.func @matmul
// TF32X3: workgroup(%[[AS:.*]] : memref<64x40xf32, #gpu.address_space<workgroup>>, %[[BS:.*]] : memref<64x40xf32, #gpu.address_space<workgroup>>)
// TF32X3: scf.for %{{.*}} = %c0 to %c40 step %c32
// TF32X3-NOT: arith.truncf
// TF32X3: gpu.barrier
// TF32X3: vector.load %[[AS]]{{.*}} {alignment = 8 : i64} : memref<64x40xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// TF32X3: vector.load %[[BS]]{{.*}} {alignment = 8 : i64} : memref<64x40xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// TF32X3: arith.andi %{{.*}}, %c-8192_i32
// TF32X3-COUNT-48: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// TF32X3-NOT: nvvm.mma.sync
// TF32X3: gpu.barrier

// expected-error@+1 {{heed-lower-contractions-to-gpu: precision must be f32, tf32x3, bf16 or f16, not 'tf32'}}
func.func @matmul(%a: memref<100x40xf32>, %b: memref<40x80xf32>, %c: memref<100x80xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<100x40xf32>, memref<40x80xf32>) outs(%c : memref<100x80xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(b, m, k, n) -> (b, m, k, 0)>
#b = affine_map<(b, m, k, n) -> (b, 0, k, n)>
#c = affine_map<(b, m, k, n) -> (b, m, n)>

// `@` of batched tensors: unit axes in the operands' maps (results 0) are
// read at index 0; batch 3, M 20, K 40, N 33. In f32 too.
// CHECK-LABEL: func.func @unit_axes
// CHECK-SAME: (%[[A:.*]]: memref<3x20x40x1xf32>, %[[B:.*]]: memref<3x1x40x33xf32>, %{{.*}}: memref<3x20x33xf32>)
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %[[Z:[^)]*]]) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c3)
// CHECK: memref.load %[[A]][%[[Z]], %{{.*}}, %{{.*}}, %c0]
// CHECK: memref.load %[[B]][%[[Z]], %c0, %{{.*}}, %{{.*}}]
// CHECK: nvvm.mma.sync
// F32-LABEL: func.func @unit_axes
// F32: gpu.launch {{.*}} workgroup(%{{.*}} : memref<16x68xf32, #gpu.address_space<workgroup>>
// HOST-LABEL: func.func @unit_axes
// HOST-NOT: gpu.launch

// expected-error@+1 {{precision must be f32, tf32x3, bf16 or f16, not 'tf32'}}
func.func @unit_axes(%a: memref<3x20x40x1xf32>, %b: memref<3x1x40x33xf32>, %c: memref<3x20x33xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<3x20x40x1xf32>, memref<3x1x40x33xf32>) outs(%c : memref<3x20x33xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %z : f32
    linalg.yield %s : f32
  }
  return
}
