// RUN: heed-opt %s --heed-merge-gpu-modules | FileCheck %s

// Two kernels outlined from one function share a name in modules of their
// own; merged, each takes its module's name and the launches follow.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.module @heed_kernels
// CHECK-DAG: gpu.func @f_kernel(%{{.*}}: memref<4xf32>) kernel
// CHECK-DAG: gpu.func @f_kernel_0(%{{.*}}: memref<4xf32>) kernel
// CHECK-NOT: gpu.module
// CHECK: func.func @f
// CHECK: gpu.launch_func @heed_kernels::@f_kernel blocks
// CHECK: gpu.launch_func @heed_kernels::@f_kernel_0 blocks
module attributes {gpu.container_module} {
  gpu.module @f_kernel {
    gpu.func @f_kernel(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @f(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
}
