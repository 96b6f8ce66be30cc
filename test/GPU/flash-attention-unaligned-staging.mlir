// The tensor-core flash kernels stage the query, key and value tiles 4
// floats at a time: one 16-byte load where the buffer is 16-byte aligned
// (a test at run time), four loads of a float otherwise. No model gives
// the kernel a misaligned buffer (Heed's allocations are aligned to 64
// bytes), so here the on-host body (bf16, f16 and tf32x3) runs through
// MLIR's JIT twice on the same values: from buffers 64-byte aligned, and
// from views of the same allocations 4 bytes further on, which take the
// four-load branch. The outputs are the same to the bit (the first line:
// the largest difference), and not zeros (the second: their sum of
// magnitudes). Reading element k ^ 1 of a group in the four-load branch
// makes the first line 1.1.
// DEFINE: %{run} = --canonicalize --convert-scf-to-cf --convert-vector-to-llvm \
// DEFINE:   --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm \
// DEFINE:   --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm \
// DEFINE:   --reconcile-unrealized-casts \
// DEFINE:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir-c-runner-utils
// RUN: heed-opt %s --heed-build-flash-attention-kernels="precision=bf16 on-host" %{run} | FileCheck %s
// RUN: heed-opt %s --heed-build-flash-attention-kernels="precision=f16 on-host" %{run} | FileCheck %s
// RUN: heed-opt %s --heed-build-flash-attention-kernels="precision=tf32x3 on-host" %{run} | FileCheck %s
// CHECK: {{^}}0{{$}}
// CHECK-NEXT: {{^}}289.{{[0-9]+$}}

// 2 rows × 13 queries over 37 keys, heads of 64, lengths 30 and 0.
func.func private @heed_flash_attention_0(memref<2x13x64xf32>, memref<2x37x64xf32>, memref<2x37x64xf32>, memref<2xf32>, memref<2x13x64xf32>) attributes {heed.flash_attention = {causal = false, heads = array<i64: 0, 0, 0, 0>, scale = 1.250000e-01 : f32}}

func.func @fill(%m: memref<2x?x64xf32>, %seed: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %n = memref.dim %m, %c1 : memref<2x?x64xf32>
  scf.for %b = %c0 to %c2 step %c1 {
    scf.for %t = %c0 to %n step %c1 {
      scf.for %d = %c0 to %c64 step %c1 {
        %i0 = arith.muli %b, %n : index
        %i1 = arith.addi %i0, %t : index
        %i2 = arith.muli %i1, %c64 : index
        %i3 = arith.addi %i2, %d : index
        %i4 = arith.addi %i3, %seed : index
        %c37 = arith.constant 37 : index
        %c101 = arith.constant 101 : index
        %h = arith.muli %i4, %c37 : index
        %r = arith.remui %h, %c101 : index
        %ri = arith.index_cast %r : index to i64
        %f = arith.sitofp %ri : i64 to f32
        %s = arith.constant 0.02 : f32
        %one = arith.constant 1.0 : f32
        %x0 = arith.mulf %f, %s : f32
        %x = arith.subf %x0, %one : f32
        memref.store %x, %m[%b, %t, %d] : memref<2x?x64xf32>
      }
    }
  }
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c1000 = arith.constant 1000 : index
  %c2000 = arith.constant 2000 : index
  // Each buffer once 64-byte aligned, once 4 bytes past that.
  %qa = memref.alloc() {alignment = 64 : i64} : memref<6660xi8>
  %ka = memref.alloc() {alignment = 64 : i64} : memref<18948xi8>
  %va = memref.alloc() {alignment = 64 : i64} : memref<18948xi8>
  %q = memref.view %qa[%c0][] : memref<6660xi8> to memref<2x13x64xf32>
  %k = memref.view %ka[%c0][] : memref<18948xi8> to memref<2x37x64xf32>
  %v = memref.view %va[%c0][] : memref<18948xi8> to memref<2x37x64xf32>
  %q4 = memref.view %qa[%c4][] : memref<6660xi8> to memref<2x13x64xf32>
  %k4 = memref.view %ka[%c4][] : memref<18948xi8> to memref<2x37x64xf32>
  %v4 = memref.view %va[%c4][] : memref<18948xi8> to memref<2x37x64xf32>
  %lengths = memref.alloc() : memref<2xf32>
  %l0 = arith.constant 30.0 : f32
  %l1 = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  memref.store %l0, %lengths[%c0] : memref<2xf32>
  memref.store %l1, %lengths[%c1] : memref<2xf32>
  %out = memref.alloc() : memref<2x13x64xf32>
  %out4 = memref.alloc() : memref<2x13x64xf32>

  %qd = memref.cast %q : memref<2x13x64xf32> to memref<2x?x64xf32>
  %kd = memref.cast %k : memref<2x37x64xf32> to memref<2x?x64xf32>
  %vd = memref.cast %v : memref<2x37x64xf32> to memref<2x?x64xf32>
  call @fill(%qd, %c0) : (memref<2x?x64xf32>, index) -> ()
  call @fill(%kd, %c1000) : (memref<2x?x64xf32>, index) -> ()
  call @fill(%vd, %c2000) : (memref<2x?x64xf32>, index) -> ()
  call @heed_flash_attention_0(%q, %k, %v, %lengths, %out) : (memref<2x13x64xf32>, memref<2x37x64xf32>, memref<2x37x64xf32>, memref<2xf32>, memref<2x13x64xf32>) -> ()
  %q4d = memref.cast %q4 : memref<2x13x64xf32> to memref<2x?x64xf32>
  %k4d = memref.cast %k4 : memref<2x37x64xf32> to memref<2x?x64xf32>
  %v4d = memref.cast %v4 : memref<2x37x64xf32> to memref<2x?x64xf32>
  call @fill(%q4d, %c0) : (memref<2x?x64xf32>, index) -> ()
  call @fill(%k4d, %c1000) : (memref<2x?x64xf32>, index) -> ()
  call @fill(%v4d, %c2000) : (memref<2x?x64xf32>, index) -> ()
  call @heed_flash_attention_0(%q4, %k4, %v4, %lengths, %out4) : (memref<2x13x64xf32>, memref<2x37x64xf32>, memref<2x37x64xf32>, memref<2xf32>, memref<2x13x64xf32>) -> ()

  // The largest difference between the two, and the outputs' sum of
  // magnitudes (not zero: the kernel wrote something).
  %c2 = arith.constant 2 : index
  %c13 = arith.constant 13 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %r:2 = scf.for %b = %c0 to %c2 step %c1 iter_args(%m0 = %zero, %s0 = %zero) -> (f32, f32) {
    %r1:2 = scf.for %t = %c0 to %c13 step %c1 iter_args(%m1 = %m0, %s1 = %s0) -> (f32, f32) {
      %r2:2 = scf.for %d = %c0 to %c64 step %c1 iter_args(%m2 = %m1, %s2 = %s1) -> (f32, f32) {
        %a = memref.load %out[%b, %t, %d] : memref<2x13x64xf32>
        %x = memref.load %out4[%b, %t, %d] : memref<2x13x64xf32>
        %diff = arith.subf %a, %x : f32
        %ad = math.absf %diff : f32
        %m3 = arith.maximumf %m2, %ad : f32
        %aa = math.absf %a : f32
        %s3 = arith.addf %s2, %aa : f32
        scf.yield %m3, %s3 : f32, f32
      }
      scf.yield %r2#0, %r2#1 : f32, f32
    }
    scf.yield %r1#0, %r1#1 : f32, f32
  }
  vector.print %r#0 : f32
  vector.print %r#1 : f32
  return
}
