#!/usr/bin/env bash
# Builds and runs the consumers in examples/ against installed copies of attend (CI's "install +
# downstream" stage), each against a static and a shared install:
#   static: `cmake --install` of the already-built tree (default build/);
#   shared: a second build of the library layers only (-DATTEND_BUILD_SHARED=ON) in build-shared/,
#           beside build/ so ccache serves the objects it already compiled.
#   a) examples/downstream     C++, find_package(attend), attend::attend
#   b) examples/c-consumer     C99 through pkg-config (attend-capi), `--static` for the static install
#   c) examples/kernels-only   C++, find_package(attend COMPONENTS kernels), attend::kernels; checked
#                              to link no libpng, OpenBLAS/gfortran, MPI, PCRE2, ICU, sentencepiece or other attend layer
#   d) examples/cpp17          C++17: every installed public header alone (warnings as errors), then a
#                              program passing std::vectors where the API takes attend::Span
# Usage: bash examples/consumers.sh [build dir] [scratch dir]   (defaults: build, /tmp/attend-consumers)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
scratch=${2:-/tmp/attend-consumers}
rm -rf "$scratch"
mkdir -p "$scratch"
launcher=""
command -v ccache >/dev/null 2>&1 && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
t0=$(date +%s)
step() { echo "--- [$(( $(date +%s) - t0 ))s] $*"; }
fail() { echo "consumers: $*" >&2; exit 1; }

step "install $build (static libraries) into $scratch/static"
cmake --install "$build" --prefix "$scratch/static" >/dev/null

step "shared libraries: configure + build build-shared/ (library layers only), install into $scratch/shared"
# shellcheck disable=SC2086
cmake -S . -B build-shared -DCMAKE_BUILD_TYPE=Release $launcher -DATTEND_BUILD_SHARED=ON -DATTEND_WERROR=ON \
  -DATTEND_BUILD_TESTS=OFF -DATTEND_BUILD_TOOLS=OFF -DATTEND_BUILD_BENCH=OFF -DATTEND_BUILD_PYTHON=OFF >/dev/null
cmake --build build-shared -j"$(nproc)" >/dev/null
cmake --install build-shared --prefix "$scratch/shared" >/dev/null
ls "$scratch/shared/lib/libattend_capi.so.$(cut -d. -f1 VERSION)" >/dev/null || fail "no SONAME link libattend_capi.so.<major>"

for kind in static shared; do
  prefix=$scratch/$kind
  step "($kind) a) examples/downstream: find_package(attend), attend::attend"
  cmake -S examples/downstream -B "$scratch/downstream-$kind" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$scratch/downstream-$kind" >/dev/null
  "$scratch/downstream-$kind/downstream"

  step "($kind) b) examples/c-consumer: C99 through pkg-config attend-capi"
  static=""
  [ "$kind" = static ] && static=1
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s -C examples/c-consumer OUT="$scratch/c-consumer-$kind" STATIC=$static
  "$scratch/c-consumer-$kind"
  libs=$(ldd "$scratch/c-consumer-$kind")
  if [ "$kind" = static ]; then
    ! grep -q libattend <<<"$libs" || fail "the static C consumer loads a shared attend: $libs"
  else
    grep -q "libattend_capi.so.0 => $prefix" <<<"$libs" || fail "the shared C consumer does not load $prefix's libattend_capi: $libs"
  fi

  step "($kind) c) examples/kernels-only: find_package(attend COMPONENTS kernels), attend::kernels"
  cmake -S examples/kernels-only -B "$scratch/kernels-$kind" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  link=$(cmake --build "$scratch/kernels-$kind" --verbose | grep -- "-o kernels_only")
  "$scratch/kernels-$kind/kernels_only"
  libs=$(ldd "$scratch/kernels-$kind/kernels_only")
  grep -q "libattend_kernels" <<<"$link" || fail "no link line naming libattend_kernels found: $link"
  for what in "$link" "$libs"; do
    if grep -Eq "png|openblas|blas|gfortran|mpi|json|pcre|icu|sentencepiece|attend_(io|text|graph|nn|observe|lab|dist|capi)" <<<"$what"; then
      fail "the kernels-only consumer pulls more than kernels + core: $what"
    fi
  done
  echo "kernels-only: link line and ldd name no png, BLAS, MPI, JSON, PCRE2, ICU, sentencepiece or other layer"

  step "($kind) d) examples/cpp17: every public header as C++17, attend::attend"
  cmake -S examples/cpp17 -B "$scratch/cpp17-$kind" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$scratch/cpp17-$kind" -j"$(nproc)" >/dev/null
  "$scratch/cpp17-$kind/cpp17"
  if [ "$kind" = shared ]; then
    grep -q "libattend_kernels.so.$(cut -d. -f1 VERSION) => $prefix" <<<"$(ldd "$scratch/cpp17-$kind/cpp17")" \
      || fail "the shared C++17 consumer does not load $prefix's libattend_kernels"
  fi
done
step "consumers done"
