// RUN: heed-opt %s --split-input-file --heed-lower-parallel-dispatch --verify-diagnostics

// The body must take what the dispatch passes on: the index, then the
// arguments.
llvm.func @m__parallel0(%i: i64, %x: f32) {
  llvm.return
}
// expected-error @below {{a parallel dispatch whose body takes other arguments}}
llvm.func @m__parallel0__dispatch(i64, i64, i64, !llvm.ptr) attributes {heed.parallel_body = @m__parallel0}

// -----

// expected-error @below {{a parallel dispatch without its body}}
llvm.func @m__parallel1__dispatch(i64, i64, i64) attributes {heed.parallel_body = @m__parallel1}
