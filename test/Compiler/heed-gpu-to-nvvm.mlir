// The pipeline from outlined kernels to PTX: each chip's PTX in the ISA
// version that first has it, 8.0 at least; a chip LLVM's NVPTX backend does
// not know is an error (LLVM would write PTX for a processor it ignores).
// RUN: heed-opt %s --heed-gpu-to-nvvm | FileCheck %s --check-prefix=SM90
// RUN: heed-opt %s --heed-gpu-to-nvvm="gpu-chip=sm_100" | FileCheck %s --check-prefix=SM100
// RUN: not heed-opt %s --heed-gpu-to-nvvm="gpu-chip=sm_130" 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// SM90: gpu.binary @kernels
// SM90-SAME: .version 8.0{{.*}}.target sm_90
// SM100: gpu.binary @kernels
// SM100-SAME: .version 8.6{{.*}}.target sm_100
// UNKNOWN: error: gpu-chip=sm_130 is not an NVIDIA architecture LLVM's NVPTX backend knows
// UNKNOWN-NOT: not a recognized processor
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @fill(%out: memref<4xf32>) kernel {
      %thread = gpu.thread_id x
      %one = arith.constant 1.0 : f32
      memref.store %one, %out[%thread] : memref<4xf32>
      gpu.return
    }
  }
  func.func @main(%out: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1)
        threads in (%c4, %c1, %c1) args(%out : memref<4xf32>)
    return
  }
}
