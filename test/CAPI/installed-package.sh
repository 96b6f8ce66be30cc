#!/usr/bin/env bash
# The installed package as a user gets it: `cmake --install` into a fresh
# prefix, then examples/embed built with find_package(Heed) (CMake), with
# pkg-config and on model libraries made by the installed heed, each
# translating three dates (the expected dates are the
# inputs' own meaning, not Heed's output).
#   bash test/CAPI/installed-package.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
prefix=$build/test-install
rm -rf "$prefix" "$build/embed-cmake" "$build/embed-pkgconfig"
cmake --install "$build" --prefix "$prefix" > /dev/null
test -x "$prefix/bin/heed" && test -f "$prefix/include/heed.h"
expected='3 May 1979 -> 1979-05-03
Tuesday, 21 November 2026 -> 2026-11-21
12.06.85 -> 1985-06-12'
dates=("3 May 1979" "Tuesday, 21 November 2026" "12.06.85")

cmake -G Ninja -S "$root/examples/embed" -B "$build/embed-cmake" \
  -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$build/embed-cmake" > /dev/null
got=$("$build/embed-cmake/translate_date" "$root/examples/date_translation" "${dates[@]}")
[ "$got" = "$expected" ] || { echo "find_package(Heed) build printed:"; echo "$got"; exit 1; }

mkdir -p "$build/embed-pkgconfig"
pc=$(find "$prefix" -name heed.pc)
# shellcheck disable=SC2046
cc "$root/examples/embed/translate_date.c" -o "$build/embed-pkgconfig/translate_date" \
  $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs heed)
got=$("$build/embed-pkgconfig/translate_date" "$root/examples/date_translation" "${dates[@]}")
[ "$got" = "$expected" ] || { echo "pkg-config build printed:"; echo "$got"; exit 1; }
# The package's version is the installed heed's.
version=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --modversion heed)
"$prefix/bin/heed" --version | grep -qx "heed $version" ||
  { echo "pkg-config says $version, heed --version says:"; "$prefix/bin/heed" --version; exit 1; }
# Ahead of time: the installed heed makes the translator into a model
# library for batches of 2 (the three dates take two runs), as a shared
# library and as an object file; the program links it and libheed_runtime,
# and nothing of LLVM or MLIR.
aot=$build/embed-aot
rm -rf "$aot" && mkdir -p "$aot"
libdir=$(dirname "$(find "$prefix" -name libheed_runtime.so)")
test -f "$prefix/include/heed_runtime.h"
"$prefix/bin/heed" compile "$root/examples/date_translation/model.heed" \
  --emit=shared --dim B=2 -o "$aot/libdate_translation.so" > /dev/null
cc -std=c99 "$root/examples/embed/translate_date_aot.c" -I"$aot" -I"$prefix/include" \
  -L"$aot" -ldate_translation -L"$libdir" -lheed_runtime \
  -Wl,-rpath,"$aot" -Wl,-rpath,"$libdir" -o "$aot/translate_date_aot"
got=$("$aot/translate_date_aot" "$root/examples/date_translation" "${dates[@]}")
[ "$got" = "$expected" ] || { echo "the model library (shared) printed:"; echo "$got"; exit 1; }
if ldd "$aot/translate_date_aot" | grep -E "libLLVM|libMLIR"; then
  echo "a program on a model library loads LLVM or MLIR"; exit 1
fi
"$prefix/bin/heed" compile "$root/examples/date_translation/model.heed" \
  --emit=obj --dim B=2 -o "$aot/date_translation.o" > /dev/null
cc -std=c99 "$root/examples/embed/translate_date_aot.c" "$aot/date_translation.o" \
  -I"$aot" -I"$prefix/include" -L"$libdir" -lheed_runtime -Wl,-rpath,"$libdir" -lm \
  -o "$aot/translate_date_obj"
got=$("$aot/translate_date_obj" "$root/examples/date_translation" "${dates[@]}")
[ "$got" = "$expected" ] || { echo "the model library (object) printed:"; echo "$got"; exit 1; }

"$prefix/bin/heed" run "$root/examples/date_translation/model.heed" \
  --weights "$root/examples/date_translation/weights.safetensors" --text "3 May 1979" |
  grep -q "1979-05-03"
echo "installed package: find_package(Heed), pkg-config, model libraries (shared, object) and the installed heed work"
