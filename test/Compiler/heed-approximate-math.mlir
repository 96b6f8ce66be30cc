// RUN: heed-opt %s --heed-approximate-math | FileCheck %s

// tanh and exp become polynomial arithmetic that vectorizes.
// CHECK-LABEL: func @activations
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: math.fma
func.func @activations(%x: vector<16xf32>) -> vector<16xf32> {
  %t = math.tanh %x : vector<16xf32>
  %e = math.exp %t : vector<16xf32>
  return %e : vector<16xf32>
}
