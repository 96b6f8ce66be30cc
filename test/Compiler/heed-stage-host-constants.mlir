// RUN: heed-opt %s --split-input-file --heed-stage-host-constants | FileCheck %s

// A constant used in a loop and again after it: one copy, made at the
// function's entry into an alloc (managed memory at run time), given to
// the launches, freed before the return; the kernel module is untouched.
// CHECK-LABEL: func.func @host
// CHECK: %[[G:.*]] = memref.get_global @zeros : memref<128xf32>
// CHECK-NEXT: %[[C:.*]] = memref.alloc() : memref<128xf32>
// CHECK-NEXT: memref.copy %[[G]], %[[C]]
// CHECK: scf.for
// CHECK: gpu.launch_func @heed_kernels::@k {{.*}} args(%[[C]] : memref<128xf32>)
// CHECK-NOT: memref.get_global
// CHECK: gpu.launch_func @heed_kernels::@k {{.*}} args(%[[C]] : memref<128xf32>)
// CHECK: memref.dealloc %[[C]]
// CHECK-NEXT: return
// CHECK: gpu.module @heed_kernels
// CHECK-NOT: memref.alloc
module attributes {gpu.container_module} {
  memref.global "private" constant @zeros : memref<128xf32> = dense<0.0>
  func.func @host(%n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %n step %c1 {
      %g = memref.get_global @zeros : memref<128xf32>
      gpu.launch_func @heed_kernels::@k blocks in (%c1, %c1, %c1)
          threads in (%c1, %c1, %c1) args(%g : memref<128xf32>)
    }
    %h = memref.get_global @zeros : memref<128xf32>
    gpu.launch_func @heed_kernels::@k blocks in (%c1, %c1, %c1)
        threads in (%c1, %c1, %c1) args(%h : memref<128xf32>)
    return
  }
  gpu.module @heed_kernels {
    gpu.func @k(%m: memref<128xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// No constants: nothing changes.
// CHECK-LABEL: func.func @none
// CHECK-NOT: memref.alloc
// CHECK: return
module attributes {gpu.container_module} {
  func.func @none() {
    return
  }
}
