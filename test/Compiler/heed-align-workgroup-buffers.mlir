// RUN: heed-opt %s --heed-align-workgroup-buffers | FileCheck %s
// RUN: heed-opt %s --heed-align-workgroup-buffers \
// RUN:   --convert-gpu-to-nvvm | FileCheck %s --check-prefix=NVVM

// A bf16 tile and an f32 one take 16 bytes; one already aligned to more
// keeps its alignment. Lowered, the globals carry it (without the pass a
// bf16 tile's global is aligned to 2 bytes).
// CHECK-LABEL: gpu.func @tiles
// CHECK-SAME: memref<64x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}
// CHECK-SAME: memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}
// CHECK-SAME: memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}
// NVVM-DAG: llvm.mlir.global internal @__wg_tiles_0() {addr_space = 3 : i32, alignment = 16 : i64}
// NVVM-DAG: llvm.mlir.global internal @__wg_tiles_1() {addr_space = 3 : i32, alignment = 16 : i64}
// NVVM-DAG: llvm.mlir.global internal @__wg_tiles_2() {addr_space = 3 : i32, alignment = 64 : i64}
module attributes {gpu.container_module} {
  gpu.module @heed_kernels {
    gpu.func @tiles(%out: memref<1xbf16>)
        workgroup(%a : memref<64x72xbf16, #gpu.address_space<workgroup>>,
                  %b : memref<8xf32, #gpu.address_space<workgroup>>,
                  %c : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 64 : i64})
        kernel {
      %c0 = arith.constant 0 : index
      %x = memref.load %a[%c0, %c0] : memref<64x72xbf16, #gpu.address_space<workgroup>>
      memref.store %x, %out[%c0] : memref<1xbf16>
      gpu.return
    }
  }
}
