// RUN: heed-opt %s --heed-outline-loop-nests="min-weight=8 max-weight=40" | FileCheck %s

// A loop nest becomes a never-inlined function: the memrefs and the index
// it uses from above are its arguments, its constants are cloned in, and
// the nest is a call where it was.
// CHECK-LABEL: func.func @nest(
// CHECK-SAME: %[[X:.*]]: memref<4x16xf32>, %[[Y:.*]]: memref<4x16xf32>, %[[N:.*]]: index)
// CHECK: call @nest__loops0(%[[N]], %[[X]], %[[Y]])
// CHECK-NEXT: return
// CHECK-LABEL: func.func @nest__loops0(
// CHECK-SAME: %{{.*}}: index, %{{.*}}: memref<4x16xf32>, %{{.*}}: memref<4x16xf32>)
// CHECK-SAME: no_inline
// CHECK-SAME: passthrough = ["noinline"]
// CHECK-DAG: arith.constant 0 : index
// CHECK-DAG: arith.constant 2.0
// CHECK: scf.for
// CHECK: math.tanh
func.func @nest(%x: memref<4x16xf32>, %y: memref<4x16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %two = arith.constant 2.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    scf.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %x[%i, %j] : memref<4x16xf32>
      %t = math.tanh %v : f32
      %w = arith.mulf %t, %two : f32
      memref.store %w, %y[%i, %j] : memref<4x16xf32>
    }
  }
  return
}

// A nest heavier than max-weight stays; its inner nests are outlined. A
// loop's results are the function's results.
// CHECK-LABEL: func.func @heavy(
// CHECK: scf.for
// CHECK: %[[S:.*]] = func.call @heavy__loops0(
// CHECK: %[[T:.*]] = func.call @heavy__loops1(
// CHECK-LABEL: func.func @heavy__loops0(
// CHECK-SAME: -> f32
// CHECK: %[[R:.*]] = scf.for
// CHECK: return %[[R]] : f32
// CHECK-LABEL: func.func @heavy__loops1(
func.func @heavy(%x: memref<64xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.for %step = %c0 to %c8 step %c1 {
    %s = scf.for %i = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> f32 {
      %v = memref.load %x[%i] : memref<64xf32>
      %e = math.exp %v : f32
      %a = arith.addf %acc, %e : f32
      scf.yield %a : f32
    }
    %t = scf.for %i = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> f32 {
      %v = memref.load %x[%i] : memref<64xf32>
      %e = math.tanh %v : f32
      %a = arith.addf %acc, %e : f32
      scf.yield %a : f32
    }
    %u = arith.addf %s, %t : f32
    memref.store %u, %out[%step] : memref<8xf32>
  }
  return
}

// Small nests, private helpers and functions that prepare weights stay as
// they are.
// CHECK-LABEL: func.func @small(
// CHECK: scf.for
// CHECK-NOT: call
func.func @small(%x: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %x[%i] : memref<4xf32>
    memref.store %v, %x[%i] : memref<4xf32>
  }
  return
}

// CHECK-LABEL: func.func @prepare(
// CHECK: scf.for
// CHECK-NOT: call
func.func @prepare(%x: memref<4x16xf32>) attributes {heed.weight_preparation} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %x[%i, %j] : memref<4x16xf32>
      %t = math.tanh %v : f32
      memref.store %t, %x[%i, %j] : memref<4x16xf32>
    }
  }
  return
}

// CHECK-LABEL: func.func private @helper(
// CHECK: scf.for
// CHECK-NOT: call
func.func private @helper(%x: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %x[%i, %j] : memref<4x16xf32>
      %t = math.tanh %v : f32
      memref.store %t, %x[%i, %j] : memref<4x16xf32>
    }
  }
  return
}
