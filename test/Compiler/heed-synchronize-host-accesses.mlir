// RUN: heed-opt %s --split-input-file --heed-synchronize-host-accesses | FileCheck %s

// A decoder: kernels queue without waits; the host waits before its stop
// test reads the flag (the loop's condition region starts a block: a
// previous iteration launched), and before returning. Two reads in a row
// share one wait; a call of a host function of the module needs none (it
// waits where it reads); an external call does.
// CHECK: func.func private @heed_gpu_sync()
// CHECK-LABEL: func.func @decoder
// CHECK: scf.while
// CHECK-NEXT: func.call @heed_gpu_sync() : () -> ()
// CHECK-NEXT: memref.load %[[FLAG:.*]][]
// CHECK-NEXT: memref.load %[[FLAG]][]
// CHECK: } do {
// CHECK-NEXT: gpu.launch_func @kernels::@step
// CHECK-NEXT: gpu.launch_func @kernels::@step
// CHECK-NEXT: func.call @helper
// CHECK-NEXT: gpu.launch_func @kernels::@step
// CHECK-NEXT: func.call @heed_gpu_sync() : () -> ()
// CHECK-NEXT: func.call @external
// CHECK: {{^ *}}call @heed_gpu_sync() : () -> ()
// CHECK-NEXT: return
// CHECK-LABEL: func.func @helper
// CHECK: {{^ *}}call @heed_gpu_sync() : () -> ()
// CHECK-NEXT: memref.store
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  func.func @decoder(%flag: memref<i1>, %state: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    scf.while : () -> () {
      %stop = memref.load %flag[] : memref<i1>
      %again = memref.load %flag[] : memref<i1>
      %go = arith.andi %stop, %again : i1
      scf.condition(%go)
    } do {
      gpu.launch_func @kernels::@step blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%state : memref<4xf32>)
      gpu.launch_func @kernels::@step blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%state : memref<4xf32>)
      func.call @helper(%state) : (memref<4xf32>) -> ()
      gpu.launch_func @kernels::@step blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%state : memref<4xf32>)
      func.call @external(%state) : (memref<4xf32>) -> ()
      scf.yield
    }
    return
  }
  func.func @helper(%state: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %x = arith.constant 1.0 : f32
    memref.store %x, %state[%c0] : memref<4xf32>
    return
  }
  func.func private @external(memref<4xf32>)
  gpu.module @kernels {
    gpu.func @step(%state: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// A private function of the module that launches (an attention's outlined
// host function) does not wait before its return: its caller counts the
// call as a launch and waits where it next reads. The runtime's
// stream-ordered calls (a decoder's stop test) get no wait.
// CHECK-LABEL: func.func @caller
// CHECK: call @launches_privately
// CHECK-NEXT: call @heed_gpu_stop_test_read
// CHECK-NEXT: call @heed_gpu_sync() : () -> ()
// CHECK-NEXT: memref.load
// CHECK-LABEL: func.func private @launches_privately
// CHECK-NEXT: arith.constant
// CHECK-NEXT: gpu.launch_func @kernels::@step
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  func.func @caller(%state: memref<4xf32>, %address: index, %handle: index) -> f32 {
    %c0 = arith.constant 0 : index
    func.call @launches_privately(%state) : (memref<4xf32>) -> ()
    %count = func.call @heed_gpu_stop_test_read(%handle, %address) : (index, index) -> f32
    %x = memref.load %state[%c0] : memref<4xf32>
    %y = arith.addf %x, %count : f32
    return %y : f32
  }
  func.func private @launches_privately(%state: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@step blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%state : memref<4xf32>)
    return
  }
  func.func private @heed_gpu_stop_test_read(index, index) -> f32 attributes {heed.stream_ordered}
  gpu.module @kernels {
    gpu.func @step(%state: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// No launches: nothing to wait for.
// CHECK-LABEL: func.func @host_only
// CHECK-NOT: heed_gpu_sync
module {
  func.func @host_only(%m: memref<4xf32>) -> f32 {
    %c0 = arith.constant 0 : index
    %x = memref.load %m[%c0] : memref<4xf32>
    return %x : f32
  }
}
