//===- PrecompiledMLIR.cpp - Builds the precompiled header ----------------===//
//
// Part of Heed. The translation unit of HeedPrecompiledMLIR, the target that
// owns compiler/PrecompiledMLIR.h's precompiled form; the other libraries
// reuse it (CMake's target_precompile_headers REUSE_FROM).
//
//===----------------------------------------------------------------------===//
