# lit configuration for Heed. Substitutions: %heed, %heed-opt,
# %heed-allclose, %examples, %src, %build, %mlir-c-runner-utils, %python,
# and (where the CUDA toolkit is) %ptxas, %cuda-stub.
import os
import subprocess

import lit.formats

config.name = "Heed"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".heed", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "runtime", "Driver", "Fuzz", "Python"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.heed_obj_root, "test")

bin_dir = os.path.join(config.heed_obj_root, "bin")
config.environment["PATH"] = os.pathsep.join(
    [bin_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
# The on-disk compile cache of the tests lives in the build tree.
config.environment["HEED_CACHE_DIR"] = os.path.join(config.heed_obj_root, "test",
                                                    "compile-cache")
config.substitutions.append(("%heed-opt", os.path.join(bin_dir, "heed-opt")))
config.substitutions.append(("%heed-allclose", os.path.join(bin_dir, "heed-allclose")))
config.substitutions.append(("%heed", os.path.join(bin_dir, "heed")))
config.substitutions.append(("%examples", os.path.join(config.heed_src_root, "examples")))
config.substitutions.append(("%src", config.heed_src_root))
config.substitutions.append(("%build", config.heed_obj_root))

# REQUIRES: multicore for tests of what the JIT does with more than one
# core (loop nests outlined and compiled in parallel).
if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1:
    config.available_features.add("multicore")

# REQUIRES: dev-full for tests of write errors (/dev/full: every write
# fails with ENOSPC).
if os.path.exists("/dev/full"):
    config.available_features.add("dev-full")

# UNSUPPORTED: asan for the tests that run the GPU target's tensor-core
# kernels on the CPU at many shapes: their time is the uninstrumented JIT
# code's, and the compiler code they reach runs under ASan in the pass
# tests (test/Compiler) and gpu-schedule-on-cpu.test (.ci/sanitizers'
# hour); and for examples-ptx.test, whose time is ptxas's and MLIR's.
if "address" in getattr(config, "heed_sanitize", ""):
    config.available_features.add("asan")
    config.environment["HEED_TEST_SANITIZED"] = "1"

# %sweep SIZES...: the batch sizes a test runs (test/Utils/sweep.sh): all
# of them, or the first and the last under the sanitizers.
config.substitutions.append(("%sweep", "bash " + os.path.join(
    config.heed_src_root, "test", "Utils", "sweep.sh")))

# REQUIRES: avx512 for tests whose numbers or code depend on AVX-512.
try:
    with open("/proc/cpuinfo") as f:
        if "avx512f" in f.read():
            config.available_features.add("avx512")
except OSError:
    pass

# MLIR's JIT runner and its C runtime (printing), for tests that run a
# kernel body built by heed-opt on buffers no model gives it.
config.substitutions.append(("%mlir-c-runner-utils", os.path.join(
    os.path.dirname(config.llvm_tools_dir), "lib", "libmlir_c_runner_utils.so")))

# Debian's interpreter, which has NumPy; only used to make malformed files.
config.substitutions.append(("%python", "/usr/bin/python3"))

# The GPU target. REQUIRES: ptxas (the CUDA toolkit's assembler checks the
# PTX heed emits), cuda-stub (the toolkit's stub libcuda.so, a driver that
# loads but has no device), cuda (a real driver and device).
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
ptxas = os.path.join(cuda_home, "bin", "ptxas")
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
cuda_stub = os.path.join(cuda_home, "lib64", "stubs", "libcuda.so")
if os.path.exists(cuda_stub):
    config.available_features.add("cuda-stub")
    config.substitutions.append(("%cuda-stub", cuda_stub))
try:
    import ctypes
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda")
except OSError:
    pass
