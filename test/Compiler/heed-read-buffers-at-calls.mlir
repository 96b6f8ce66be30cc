// RUN: heed-opt %s --heed-read-buffers-at-calls | FileCheck %s

// Two calls read one tensor through one to_buffer (merged by CSE), and a
// linalg op writes in between: each call gets its own to_buffer and cast
// right before it, so bufferization sees the second read where it happens.
func.func private @kernel(memref<?x?xf32>)

// CHECK-LABEL: func @shared_read
// CHECK-SAME: (%[[T:[^:]*]]: tensor<6x3xf32>
// CHECK: %[[B1:.*]] = bufferization.to_buffer %[[T]] read_only
// CHECK-NEXT: %[[C1:.*]] = memref.cast %[[B1]]
// CHECK-NEXT: call @kernel(%[[C1]])
// CHECK: linalg.fill
// CHECK: %[[B2:.*]] = bufferization.to_buffer %[[T]] read_only
// CHECK-NEXT: %[[C2:.*]] = memref.cast %[[B2]]
// CHECK-NEXT: call @kernel(%[[C2]])
func.func @shared_read(%t: tensor<6x3xf32>, %e: tensor<6x3xf32>) -> tensor<6x3xf32> {
  %zero = arith.constant 0.0 : f32
  %b = bufferization.to_buffer %t read_only : tensor<6x3xf32> to memref<6x3xf32>
  %c = memref.cast %b : memref<6x3xf32> to memref<?x?xf32>
  call @kernel(%c) : (memref<?x?xf32>) -> ()
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<6x3xf32>) -> tensor<6x3xf32>
  call @kernel(%c) : (memref<?x?xf32>) -> ()
  return %f : tensor<6x3xf32>
}
