// RUN: heed-opt %s --split-input-file --heed-launches-to-host-loops --verify-diagnostics

// A barrier under a thread's own condition: no block-wide order to keep.
func.func @barrier_under_thread(%o: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %first = arith.cmpi eq, %t, %c0 : index
    // expected-error @below {{has no host form: a barrier under a condition that is not the block's}}
    scf.if %first {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// Warp shuffles read other lanes' registers.
func.func @shuffle(%o: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %i1 = arith.constant 1 : i32
  %i32 = arith.constant 32 : i32
  %x = arith.constant 1.0 : f32
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @below {{has no host form (heed-launches-to-host-loops)}}
    %y, %valid = gpu.shuffle xor %x, %i1, %i32 : f32
    memref.store %y, %o[%t] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

// Threads along y.
func.func @threads_along_y(%o: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %x = arith.constant 1.0 : f32
  // expected-error @below {{has no host form: only a synchronous launch of one block of constant threads along x, its shared memory static}}
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%sx = %c32, %sy = %c2, %sz = %c1) {
    memref.store %x, %o[%t] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

// A view of a thread's own row of shared memory, used after a barrier.
func.func @view_across_barrier(%o: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %x = arith.constant 1.0 : f32
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%s : memref<32x4xf32, #gpu.address_space<workgroup>>) {
    // expected-error @below {{has no host form: a shared buffer read other than by loads and stores}}
    %row = memref.subview %s[%t, 0] [1, 4] [1, 1] : memref<32x4xf32, #gpu.address_space<workgroup>> to memref<4xf32, strided<[1], offset: ?>, #gpu.address_space<workgroup>>
    gpu.barrier
    %y = memref.load %row[%c1] : memref<4xf32, strided<[1], offset: ?>, #gpu.address_space<workgroup>>
    memref.store %y, %o[%t] : memref<32xf32>
    gpu.terminator
  }
  return
}
