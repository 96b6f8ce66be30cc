// RUN: heed-opt %s --split-input-file --heed-persistent-time-loops | FileCheck %s
// RUN: heed-opt %s --split-input-file --heed-persistent-time-loops=on-host | FileCheck %s --check-prefix=HOST

// A bidirectional layer's step at batch 1: two one-block parts (merged by
// heed-merge-independent-loops), each reading its direction's state and
// writing the next into the buffer the step allocates, the previous
// step's freed under its ownership flag. The loop runs inside the launch:
// the states alternate between two buffers allocated once (step t writes
// the (t mod 2)th), a barrier after each step; the last step (4) wrote the
// first buffers, which the loop's users take, and the second go.
// CHECK-LABEL: func.func @two_directions
// CHECK-SAME: (%[[X:[^:]*]]: memref<5x32xf32>, %[[F0:[^:]*]]: memref<32xf32>, %[[B0:[^:]*]]: memref<32xf32>, %[[OUT:[^:]*]]: memref<32xf32>)
// CHECK: %[[FA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
// CHECK: %[[FB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
// CHECK: %[[BA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
// CHECK: %[[BB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
// CHECK: scf.parallel (%[[BLOCK:.*]], %[[T:.*]]) = (%{{.*}}, %{{.*}}) to (%c2{{.*}}, %c32{{.*}}) step
// CHECK: scf.for %[[TIME:.*]] = %c0 to %c5 step %c1 iter_args(%[[F:[^ ]*]] = %[[F0]], %[[B:[^ ]*]] = %[[B0]])
// CHECK: %[[EVEN:.*]] = arith.cmpi eq
// CHECK: %[[FNEW:.*]] = arith.select %[[EVEN]], %[[FA]], %[[FB]]
// CHECK: %[[BNEW:.*]] = arith.select %[[EVEN]], %[[BA]], %[[BB]]
// CHECK-NOT: memref.dealloc
// CHECK: memref.load %[[F]][%[[T]]]
// CHECK: memref.store %{{.*}}, %[[FNEW]][%[[T]]]
// CHECK: memref.load %[[B]][%[[T]]]
// CHECK: memref.store %{{.*}}, %[[BNEW]][%[[T]]]
// CHECK: gpu.barrier
// CHECK: scf.yield %[[FNEW]], %[[BNEW]]
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK-NOT: heed.one_block_parts
// CHECK: memref.dealloc %[[FB]]
// CHECK: memref.dealloc %[[BB]]
// CHECK: memref.copy %[[FA]], %[[OUT]]
// CHECK: scf.if %true
// CHECK: memref.dealloc %[[FA]]
// CHECK: memref.dealloc %[[BA]]
// HOST-LABEL: func.func @two_directions
// HOST-NOT: scf.parallel
// HOST: scf.for %[[BLOCK:.*]] = %c0{{.*}} to %c2{{.*}} step
// HOST: scf.for %[[TIME:.*]] = %c0 to %c5 step %c1 iter_args(
// HOST: arith.select
// HOST: scf.for %[[T:.*]] = %c0{{.*}} to %c32{{.*}} step
// HOST: arith.cmpi eq, %[[BLOCK]], %c0
// HOST-NOT: gpu.barrier
// HOST-NOT: scf.parallel
func.func @two_directions(%x: memref<5x32xf32>, %f0: memref<32xf32>, %b0: memref<32xf32>, %out: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c32 = arith.constant 32 : index
  %false = arith.constant false
  %true = arith.constant true
  %r:3 = scf.for %t = %c0 to %c5 step %c1 iter_args(%f = %f0, %b = %b0, %owned = %false) -> (memref<32xf32>, memref<32xf32>, i1) {
    %fnew = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
    %bnew = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
    %back = arith.subi %c4, %t : index
    scf.parallel (%block, %thread) = (%c0, %c0) to (%c2, %c32) step (%c1, %c1) {
      %first = arith.cmpi eq, %block, %c0 : index
      scf.if %first {
        %h = memref.load %f[%thread] : memref<32xf32>
        %in = memref.load %x[%t, %thread] : memref<5x32xf32>
        %s = arith.addf %h, %in : f32
        memref.store %s, %fnew[%thread] : memref<32xf32>
      }
      %second = arith.cmpi eq, %block, %c1 : index
      scf.if %second {
        %h = memref.load %b[%thread] : memref<32xf32>
        %in = memref.load %x[%back, %thread] : memref<5x32xf32>
        %s = arith.mulf %h, %in : f32
        memref.store %s, %bnew[%thread] : memref<32xf32>
      }
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>], heed.one_block_parts}
    %base, %offset, %size, %stride = memref.extract_strided_metadata %f : memref<32xf32> -> memref<f32>, index, index, index
    scf.if %owned {
      memref.dealloc %base : memref<f32>
      memref.dealloc %b : memref<32xf32>
    }
    scf.yield %fnew, %bnew, %true : memref<32xf32>, memref<32xf32>, i1
  }
  memref.copy %r#0, %out : memref<32xf32> to memref<32xf32>
  scf.if %r#2 {
    memref.dealloc %r#0 : memref<32xf32>
    memref.dealloc %r#1 : memref<32xf32>
  }
  return
}

// -----

// Loops that stay on the host: a part that reads the state the other part
// writes (at the next step it would read another block's state), two
// blocks that are not parts of one block each, two launches a step, and a
// state the loop owns from the start (its flag starts true: the first step
// frees the initial state).
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-4: scf.for %{{.*}} = %c0 to %c5 step %c1 iter_args
// CHECK-NOT: gpu.barrier
// HOST-LABEL: func.func @kept
// HOST-COUNT-4: scf.for %{{.*}} = %c0 to %c5 step %c1 iter_args
#map = affine_map<(d0) -> (d0)>
func.func @kept(%x: memref<5x32xf32>, %f0: memref<32xf32>, %b0: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %false = arith.constant false
  %true = arith.constant true
  %r:3 = scf.for %t = %c0 to %c5 step %c1 iter_args(%f = %f0, %b = %b0, %owned = %false) -> (memref<32xf32>, memref<32xf32>, i1) {
    %fnew = memref.alloc() : memref<32xf32>
    %bnew = memref.alloc() : memref<32xf32>
    scf.parallel (%block, %thread) = (%c0, %c0) to (%c2, %c32) step (%c1, %c1) {
      %first = arith.cmpi eq, %block, %c0 : index
      scf.if %first {
        %h = memref.load %b[%thread] : memref<32xf32>
        memref.store %h, %fnew[%thread] : memref<32xf32>
      }
      %second = arith.cmpi eq, %block, %c1 : index
      scf.if %second {
        %h = memref.load %f[%thread] : memref<32xf32>
        memref.store %h, %bnew[%thread] : memref<32xf32>
      }
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>], heed.one_block_parts}
    scf.if %owned {
      memref.dealloc %f : memref<32xf32>
      memref.dealloc %b : memref<32xf32>
    }
    scf.yield %fnew, %bnew, %true : memref<32xf32>, memref<32xf32>, i1
  }
  %s:2 = scf.for %t = %c0 to %c5 step %c1 iter_args(%f = %f0, %owned = %false) -> (memref<32xf32>, i1) {
    %fnew = memref.alloc() : memref<32xf32>
    scf.parallel (%block, %thread) = (%c0, %c0) to (%c2, %c16) step (%c1, %c1) {
      %i = arith.addi %block, %thread : index
      %h = memref.load %f[%i] : memref<32xf32>
      memref.store %h, %fnew[%i] : memref<32xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    scf.if %owned {
      memref.dealloc %f : memref<32xf32>
    }
    scf.yield %fnew, %true : memref<32xf32>, i1
  }
  %u:2 = scf.for %t = %c0 to %c5 step %c1 iter_args(%f = %f0, %owned = %false) -> (memref<32xf32>, i1) {
    %fnew = memref.alloc() : memref<32xf32>
    scf.parallel (%block, %thread) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
      %h = memref.load %f[%thread] : memref<32xf32>
      memref.store %h, %fnew[%thread] : memref<32xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    scf.parallel (%block, %thread) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
      %h = memref.load %x[%t, %thread] : memref<5x32xf32>
      memref.store %h, %fnew[%thread] : memref<32xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    scf.if %owned {
      memref.dealloc %f : memref<32xf32>
    }
    scf.yield %fnew, %true : memref<32xf32>, i1
  }
  %v:2 = scf.for %t = %c0 to %c5 step %c1 iter_args(%f = %f0, %owned = %true) -> (memref<32xf32>, i1) {
    %fnew = memref.alloc() : memref<32xf32>
    scf.parallel (%block, %thread) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
      %h = memref.load %f[%thread] : memref<32xf32>
      memref.store %h, %fnew[%thread] : memref<32xf32>
      scf.reduce
    } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
    scf.if %owned {
      memref.dealloc %f : memref<32xf32>
    }
    scf.yield %fnew, %true : memref<32xf32>, i1
  }
  return
}

// -----

// A step that is one launch of one block (heed-one-block-steps' decoder
// step, with a barrier and a shared buffer of its own): the same launch
// around the time loop. Each step's states are chosen from the time, not
// carried (on the CPU-run schedule a carried value would cross the
// barriers): the initial state at step 0, then the buffer the step before
// wrote; step t writes the (t mod 2)th. A barrier ends each step. On the
// host too it stays a launch (heed-launches-to-host-loops runs it).
// CHECK-LABEL: func.func @one_block_step
// CHECK-SAME: (%[[X:[^:]*]]: memref<5x64xf32>, %[[S0:[^:]*]]: memref<64xf32>, %[[OUT:[^:]*]]: memref<64xf32>)
// CHECK: %[[PA:.*]] = memref.alloc() : memref<64xf32>
// CHECK: %[[PB:.*]] = memref.alloc() : memref<64xf32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads(%[[T:[^,]*]], {{.*}}) in ({{.*}} = %c256{{.*}}) workgroup(%[[SH:[^ ]*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %[[TIME:[^ ]*]] = %c0 to %c5 step %c1 {
// CHECK-DAG: %[[FIRST:.*]] = arith.cmpi eq, %[[INDEX:[^,]*]], %c0
// CHECK-DAG: %[[EVEN:.*]] = arith.cmpi eq, %{{.*}}, %c0
// CHECK: %[[OTHER:.*]] = arith.select %[[EVEN]], %[[PB]], %[[PA]]
// CHECK: %[[S:.*]] = arith.select %[[FIRST]], %[[S0]], %[[OTHER]]
// CHECK: %[[NEW:.*]] = arith.select %{{.*}}, %[[PA]], %[[PB]]
// CHECK: memref.load %[[S]][%[[T]]]
// CHECK: memref.store %{{.*}}, %[[SH]][%[[T]]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[NEW]][%[[T]]]
// CHECK: gpu.barrier
// CHECK-NEXT: }
// CHECK-NEXT: gpu.terminator
// CHECK: memref.dealloc %[[PB]]
// CHECK: memref.copy %[[PA]], %[[OUT]]
// HOST-LABEL: func.func @one_block_step
// HOST: gpu.launch
// HOST: scf.for %{{.*}} = %c0 to %c5 step %c1 {
// HOST: gpu.barrier
func.func @one_block_step(%x: memref<5x64xf32>, %s0: memref<64xf32>, %out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %false = arith.constant false
  %true = arith.constant true
  %r:2 = scf.for %t = %c0 to %c5 step %c1 iter_args(%s = %s0, %owned = %false) -> (memref<64xf32>, i1) {
    %new = memref.alloc() : memref<64xf32>
    gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
        threads(%th, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1)
        workgroup(%shared : memref<256xf32, #gpu.address_space<workgroup>>) {
      %inside = arith.cmpi ult, %th, %c64 : index
      scf.if %inside {
        %h = memref.load %s[%th] : memref<64xf32>
        %in = memref.load %x[%t, %th] : memref<5x64xf32>
        %sum = arith.addf %h, %in : f32
        memref.store %sum, %shared[%th] : memref<256xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      scf.if %inside {
        %v = memref.load %shared[%th] : memref<256xf32, #gpu.address_space<workgroup>>
        memref.store %v, %new[%th] : memref<64xf32>
      }
      gpu.terminator
    }
    scf.if %owned {
      memref.dealloc %s : memref<64xf32>
    }
    scf.yield %new, %true : memref<64xf32>, i1
  }
  memref.copy %r#0, %out : memref<64xf32> to memref<64xf32>
  scf.if %r#1 {
    memref.dealloc %r#0 : memref<64xf32>
  }
  return
}
