// RUN: heed-opt %s --split-input-file --heed-one-block-steps | FileCheck %s

// A decoder step at batch 1: an attention-rows kernel (a call of a
// function that is a launch of one block of 256 threads with a barrier),
// a product with a thread per output (a mapped loop of 1 x 256), and a
// cell of 2 x 32 iterations, each reading what the one before wrote. The
// step becomes one launch of one block of 256 threads where the last
// kernel was: the call's kernel inlined with its thread id and shared
// buffer the merged launch's, then a barrier, then each loop's iterations
// in rounds of 256 threads (the cell's iteration i at block i / 32 and
// thread i % 32), a barrier between them. The allocation between the
// kernels stays before the launch, the frees after it.
// CHECK-LABEL: func.func @decoder_step
// CHECK-SAME: (%[[KEYS:[^:]*]]: memref<30xf32>, %[[W:[^:]*]]: memref<256xf32>, %[[S0:[^:]*]]: memref<64xf32>)
// CHECK: scf.for %[[TIME:.*]] = {{.*}} iter_args(%[[S:[^ ]*]] = %[[S0]]
// CHECK-NOT: func.call
// CHECK: %[[GATES:.*]] = memref.alloc() : memref<256xf32>
// CHECK: %[[NEW:.*]] = memref.alloc() : memref<64xf32>
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) workgroup(%[[SHARED:[^ ]*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{.*}}, %[[SHARED]][%[[T]]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SHARED]]
// CHECK: memref.store %{{.*}}, %[[KEYS]][%[[T]]]
// CHECK: gpu.barrier
// CHECK: scf.for %[[I:.*]] = %[[T]] to %c256{{.*}} step %c256
// CHECK: memref.load %[[KEYS]]
// CHECK: memref.store %{{.*}}, %[[GATES]][%[[I]]]
// CHECK: gpu.barrier
// CHECK: scf.for %[[J:.*]] = %[[T]] to %c64{{.*}} step %c256
// CHECK-DAG: %[[B:.*]] = arith.divui %[[J]], %c32
// CHECK-DAG: %[[TH:.*]] = arith.remui %[[J]], %c32
// CHECK: arith.muli %[[B]], %c32
// CHECK: memref.store %{{.*}}, %[[NEW]]
// CHECK: gpu.terminator
// CHECK-NOT: scf.parallel
// CHECK: scf.if
// CHECK: memref.dealloc
// CHECK: scf.yield %[[NEW]]
func.func private @rows(%keys: memref<30xf32>) {
  %c1 = arith.constant 1 : index
  %c30 = arith.constant 30 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
      threads(%t, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1)
      workgroup(%s : memref<256xf32, #gpu.address_space<workgroup>>) {
    memref.store %zero, %s[%t] : memref<256xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %inside = arith.cmpi ult, %t, %c30 : index
    scf.if %inside {
      %v = memref.load %s[%t] : memref<256xf32, #gpu.address_space<workgroup>>
      memref.store %v, %keys[%t] : memref<30xf32>
    }
    gpu.terminator
  }
  return
}

func.func @decoder_step(%keys: memref<30xf32>, %w: memref<256xf32>, %s0: memref<64xf32>) -> memref<64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %c32 = arith.constant 32 : index
  %c256 = arith.constant 256 : index
  %false = arith.constant false
  %true = arith.constant true
  %r:2 = scf.for %time = %c0 to %c10 step %c1 iter_args(%s = %s0, %owned = %false) -> (memref<64xf32>, i1) {
    func.call @rows(%keys) : (memref<30xf32>) -> ()
    %gates = memref.alloc() : memref<256xf32>
    scf.parallel (%b, %t) = (%c0, %c0) to (%c1, %c256) step (%c1, %c1) {
      %k = memref.load %keys[%c0] : memref<30xf32>
      %x = memref.load %w[%t] : memref<256xf32>
      %y = arith.mulf %k, %x : f32
      memref.store %y, %gates[%t] : memref<256xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    %new = memref.alloc() : memref<64xf32>
    scf.parallel (%b, %t) = (%c0, %c0) to (%c2, %c32) step (%c1, %c1) {
      %base = arith.muli %b, %c32 : index
      %i = arith.addi %base, %t : index
      %g = memref.load %gates[%i] : memref<256xf32>
      %h = memref.load %s[%i] : memref<64xf32>
      %n = arith.addf %g, %h : f32
      memref.store %n, %new[%i] : memref<64xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    memref.dealloc %gates : memref<256xf32>
    scf.if %owned {
      memref.dealloc %s : memref<64xf32>
    }
    scf.yield %new, %true : memref<64xf32>, i1
  }
  return %r#0 : memref<64xf32>
}

// -----

// What stays: a loop of more than two rounds of 256 threads (1 x 1024
// iterations), a launch of two blocks, and kernels outside a loop's step;
// a host access between two kernels ends a run (each side a single kernel).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.launch blocks(%{{.*}}) in (%{{.*}} = %c1
// CHECK: scf.parallel
// CHECK: gpu.launch
// CHECK: scf.parallel
// CHECK: memref.load
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @left_alone(%a: memref<1024xf32>, %b: memref<1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c1024 = arith.constant 1024 : index
  %one = arith.constant 1.0 : f32
  scf.for %time = %c0 to %c4 step %c1 {
    scf.parallel (%x, %t) = (%c0, %c0) to (%c1, %c1024) step (%c1, %c1) {
      memref.store %one, %a[%t] : memref<1024xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    gpu.launch blocks(%x, %y, %z) in (%gx = %c2, %gy = %c1, %gz = %c1)
        threads(%t, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
      %v = memref.load %a[%t] : memref<1024xf32>
      memref.store %v, %b[%t] : memref<1024xf32>
      gpu.terminator
    }
    scf.parallel (%x, %t) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
      memref.store %one, %b[%t] : memref<1024xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    %h = memref.load %b[%c0] : memref<1024xf32>
    memref.store %h, %a[%c0] : memref<1024xf32>
    scf.parallel (%x, %t) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
      memref.store %one, %a[%t] : memref<1024xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
  }
  scf.parallel (%x, %t) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
    memref.store %one, %a[%t] : memref<1024xf32>
    scf.reduce
  } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
  scf.parallel (%x, %t) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
    memref.store %one, %b[%t] : memref<1024xf32>
    scf.reduce
  } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
  return
}

// -----

// Two kernels with barriers of different block sizes cannot share one
// block: they stay two launches.
// CHECK-LABEL: func.func @different_blocks
// CHECK-COUNT-2: gpu.launch
func.func @different_blocks(%a: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  %one = arith.constant 1.0 : f32
  scf.for %time = %c0 to %c4 step %c1 {
    gpu.launch blocks(%x, %y, %z) in (%gx = %c1, %gy = %c1, %gz = %c1)
        threads(%t, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
      memref.store %one, %a[%t] : memref<256xf32>
      gpu.barrier
      gpu.terminator
    }
    gpu.launch blocks(%x, %y, %z) in (%gx = %c1, %gy = %c1, %gz = %c1)
        threads(%t, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
      gpu.barrier
      %v = memref.load %a[%t] : memref<256xf32>
      memref.store %v, %a[%c0] : memref<256xf32>
      gpu.terminator
    }
  }
  return
}
