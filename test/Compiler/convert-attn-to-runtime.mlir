// RUN: heed-opt %s --convert-attn-to-runtime | FileCheck %s
// RUN: heed-opt %s --convert-attn-to-runtime=cells=onednn | FileCheck %s --check-prefix=ONEDNN
// RUN: heed-opt %s --convert-attn-to-runtime=cells=fused | FileCheck %s --check-prefix=FUSED
// RUN: heed-opt %s --convert-attn-to-runtime=dense=generated | FileCheck %s --check-prefix=GENERATED
// RUN: heed-opt %s --convert-attn-to-runtime=dense=onednn | FileCheck %s --check-prefix=DENSE-ONEDNN

// The context global is external (bound by the JIT to the model's kernel
// context). The kernel takes its buffers as memrefs through the C interface,
// never as bare addresses, so later passes see what the call reads and
// writes (reads of a one-step cell's results were once hoisted above it).
// CHECK-DAG: memref.global "public" @heed_kernel_context : memref<1xi64>{{$}}
// CHECK-DAG: memref.global "private" constant @heed_absent_3d : memref<0x0x0xf32> = dense<>
// CHECK-DAG: func.func private @heed_rnn_forward(i64, i64, i64, i64, i64, i64, i64, i64, memref<?x?x?xf32>, memref<?x?x?xf32>, memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xf32>, memref<?xf32>, memref<?xf32>, memref<?x?xf32>, memref<?x?xf32>, memref<?xf32>, memref<?xf32>, memref<?x?x?xf32>, memref<?x?x?xf32>, memref<?x?x?xf32>) attributes {llvm.emit_c_interface}

// CHECK-LABEL: func.func @encoder
// Site 0, LSTM (cell 0), bidirectional_concat (2), T=30, N=2, I=37, H=32.
// CHECK-DAG: %[[SITE:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[DIR:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[H:.*]] = arith.constant 32 : i64
// CHECK: %[[X:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK: %[[XD:.*]] = memref.cast %[[X]] : memref<2x30x37xf32> to memref<?x?x?xf32>
// No initial states: empty buffers.
// CHECK: %[[NONE:.*]] = memref.get_global @heed_absent_3d
// CHECK: %[[Y:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x30x64xf32>
// CHECK: %[[YD:.*]] = memref.cast %[[Y]] : memref<2x30x64xf32> to memref<?x?x?xf32>
// CHECK: call @heed_rnn_forward(%{{.*}}, %[[SITE]], %{{.*}}, %[[DIR]], %{{.*}}, %{{.*}}, %{{.*}}, %[[H]], %[[XD]], %{{[^,]*}}, %{{[^,]*}}, {{.*}}, %[[YD]], %{{[^,]*}}, %{{[^,]*}})
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[Y]] restrict writable
// CHECK: return %[[T]]
func.func @encoder(%x: tensor<2x30x37xf32>, %wi: tensor<128x37xf32>,
                   %wh: tensor<128x32xf32>, %b: tensor<128xf32>) -> tensor<2x30x64xf32> {
  %y, %h, %c = attn.lstm %x weights(%wi, %wh, %b, %b, %wi, %wh, %b, %b)
      {direction = #attn<direction bidirectional_concat>, hidden_size = 32 : i64}
      : (tensor<2x30x37xf32>, tensor<128x37xf32>, tensor<128x32xf32>,
         tensor<128xf32>, tensor<128xf32>, tensor<128x37xf32>,
         tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>)
      -> (tensor<2x30x64xf32>, tensor<2x2x32xf32>, tensor<2x2x32xf32>)
  return %y : tensor<2x30x64xf32>
}

// A batch-1 cell stays for the generated (fused) lowering under cells=auto;
// cells=onednn makes it a one-step sequence call.
// CHECK-LABEL: func.func @cell_batch1
// CHECK: attn.lstm_cell
// ONEDNN-LABEL: func.func @cell_batch1
// ONEDNN-NOT: attn.lstm_cell
// ONEDNN: call @heed_rnn_forward
// FUSED-LABEL: func.func @cell_batch8
// FUSED: attn.lstm_cell
func.func @cell_batch1(%x: tensor<1x8xf32>, %h: tensor<1x16xf32>,
                       %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>,
                       %b: tensor<64xf32>) -> tensor<1x16xf32> {
  %h1, %c1 = attn.lstm_cell %x, %h, %h weights(%wi, %wh, %b, %b)
      : (tensor<1x8xf32>, tensor<1x16xf32>, tensor<1x16xf32>, tensor<64x8xf32>,
         tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<1x16xf32>, tensor<1x16xf32>)
  return %h1 : tensor<1x16xf32>
}

// Under cells=auto a batch of 8 runs on oneDNN.
// CHECK-LABEL: func.func @cell_batch8
// CHECK-NOT: attn.lstm_cell
// CHECK: call @heed_rnn_forward
func.func @cell_batch8(%x: tensor<8x8xf32>, %h: tensor<8x16xf32>,
                       %wi: tensor<64x8xf32>, %wh: tensor<64x16xf32>,
                       %b: tensor<64xf32>) -> tensor<8x16xf32> {
  %h1, %c1 = attn.lstm_cell %x, %h, %h weights(%wi, %wh, %b, %b)
      : (tensor<8x8xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<64x8xf32>,
         tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>)
      -> (tensor<8x16xf32>, tensor<8x16xf32>)
  return %h1 : tensor<8x16xf32>
}

// A Conv1D over one input channel (Tacotron2's location convolution) stays
// for the generated lowering; many channels go to oneDNN.
// CHECK-LABEL: func.func @conv_one_channel
// CHECK: attn.conv1d
// CHECK-NOT: call @heed_conv1d_forward
func.func @conv_one_channel(%x: tensor<1x200x1xf32>, %w: tensor<32x1x31xf32>,
                            %b: tensor<32xf32>) -> tensor<1x200x32xf32> {
  %y = attn.conv1d %x, %w, %b {stride = 1 : i64, pad_left = 15 : i64, pad_right = 15 : i64}
      : (tensor<1x200x1xf32>, tensor<32x1x31xf32>, tensor<32xf32>) -> tensor<1x200x32xf32>
  return %y : tensor<1x200x32xf32>
}

// CHECK-LABEL: func.func @conv_many_channels
// CHECK-NOT: attn.conv1d
// CHECK: call @heed_conv1d_forward
func.func @conv_many_channels(%x: tensor<1x100x101xf32>, %w: tensor<196x101x15xf32>,
                              %b: tensor<196xf32>) -> tensor<1x22x196xf32> {
  %y = attn.conv1d %x, %w, %b {stride = 4 : i64, pad_left = 0 : i64, pad_right = 0 : i64}
      : (tensor<1x100x101xf32>, tensor<196x101x15xf32>, tensor<196xf32>) -> tensor<1x22x196xf32>
  return %y : tensor<1x22x196xf32>
}

// A dense layer over many rows: the leading dims flattened to rows, the
// bias and the activation (tanh = 1) applied by the kernel.
// CHECK-LABEL: func.func @dense_rows
// CHECK: %[[X:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<4x8x128xf32> into tensor<32x128xf32>
// CHECK: %[[Y:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x128xf32>
// CHECK-DAG: %[[ROWS:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[TANH:.*]] = arith.constant 1 : i64
// CHECK: call @heed_dense_forward(%{{[^,]*}}, %{{[^,]*}}, %[[ROWS]], %{{[^,]*}}, %{{[^,]*}}, %[[TANH]],
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[Y]]
// CHECK: %[[R:.*]] = tensor.expand_shape %[[T]] {{\[\[}}0, 1], [2]] output_shape [4, 8, 128]
// CHECK: return %[[R]]
// GENERATED-LABEL: func.func @dense_rows
// GENERATED: attn.dense
// GENERATED-NOT: call @heed_dense_forward
func.func @dense_rows(%x: tensor<4x8x128xf32>, %w: tensor<128x128xf32>,
                      %b: tensor<128xf32>) -> tensor<4x8x128xf32> {
  %y = attn.dense %x, %w, %b {activation = #attn<activation tanh>}
      : (tensor<4x8x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<4x8x128xf32>
  return %y : tensor<4x8x128xf32>
}

// One row of a small layer stays generated unless oneDNN is asked for.
// CHECK-LABEL: func.func @dense_one_row
// CHECK: attn.dense
// CHECK-NOT: call @heed_dense_forward
// DENSE-ONEDNN-LABEL: func.func @dense_one_row
// DENSE-ONEDNN-NOT: attn.dense
// DENSE-ONEDNN: call @heed_dense_forward
func.func @dense_one_row(%x: tensor<1x64xf32>, %w: tensor<64x64xf32>) -> tensor<1x64xf32> {
  %y = attn.dense %x, %w : (tensor<1x64xf32>, tensor<64x64xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// Rows of a packed weight (in_proj_weight's query block) keep their
// address: a kernel may reorder them once. A softmax runs after the call.
// CHECK-LABEL: func.func @dense_weight_rows_softmax
// CHECK: %[[W:.*]] = tensor.extract_slice %arg1[256, 0] [256, 256] [1, 1]
// CHECK-DAG: %[[NONE:.*]] = arith.constant 0 : i64
// The rows are passed as the view they are (no copy).
// CHECK: bufferization.to_buffer %[[W]] read_only : tensor<256x256xf32> to memref<256x256xf32, strided<[?, ?], offset: ?>>
// CHECK: call @heed_dense_forward(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[NONE]],
// CHECK: %[[T:.*]] = bufferization.to_tensor
// CHECK: attn.activate %[[T]] {kind = #attn<activation softmax>}
func.func @dense_weight_rows_softmax(%x: tensor<16x256xf32>, %w: tensor<768x256xf32>)
    -> tensor<16x256xf32> {
  %q = tensor.extract_slice %w[256, 0] [256, 256] [1, 1]
      : tensor<768x256xf32> to tensor<256x256xf32>
  %y = attn.dense %x, %q {activation = #attn<activation softmax>}
      : (tensor<16x256xf32>, tensor<256x256xf32>) -> tensor<16x256xf32>
  return %y : tensor<16x256xf32>
}

// Weights that are not whole buffers of the function's arguments stay
// generated even with dense=onednn: a column block (not contiguous) and a
// weight computed in the function (its buffer may move between calls). So
// does a layer over zeros, which is its bias.
// DENSE-ONEDNN-LABEL: func.func @dense_unstable_weights
// DENSE-ONEDNN-NOT: call @heed_dense_forward
// DENSE-ONEDNN: attn.dense
// DENSE-ONEDNN: attn.dense
// DENSE-ONEDNN: attn.dense
// DENSE-ONEDNN-NOT: call @heed_dense_forward
// DENSE-ONEDNN: return
func.func @dense_unstable_weights(%x: tensor<64x128xf32>, %w: tensor<256x256xf32>)
    -> (tensor<64x256xf32>, tensor<64x256xf32>, tensor<64x256xf32>) {
  %cols = tensor.extract_slice %w[0, 128] [256, 128] [1, 1]
      : tensor<256x256xf32> to tensor<256x128xf32>
  %a = attn.dense %x, %cols : (tensor<64x128xf32>, tensor<256x128xf32>) -> tensor<64x256xf32>
  %twice = attn.binary %w, %w {kind = #attn<binary add>}
      : (tensor<256x256xf32>, tensor<256x256xf32>) -> tensor<256x256xf32>
  %half = tensor.extract_slice %twice[0, 0] [256, 128] [1, 1]
      : tensor<256x256xf32> to tensor<256x128xf32>
  %b = attn.dense %x, %half : (tensor<64x128xf32>, tensor<256x128xf32>) -> tensor<64x256xf32>
  %zero = arith.constant dense<0.0> : tensor<64x128xf32>
  %c = attn.dense %zero, %cols : (tensor<64x128xf32>, tensor<256x128xf32>) -> tensor<64x256xf32>
  return %a, %b, %c : tensor<64x256xf32>, tensor<64x256xf32>, tensor<64x256xf32>
}
