#!/usr/bin/env bash
# The Python package end to end, offline: the in-tree PEP 517 backend builds the wheel once (with
# pip, Debian's /usr/bin/python3) and the sdist; the wheel is installed with --no-index into
#   1. a fresh plain `python3 -m venv` of another interpreter (pyenv's; Debian's own when there is
#      none of the same X.Y), which has no numpy: import attend and numpy-free calls must work, and
#      array calls must say that numpy is needed;
#   2. a fresh `/usr/bin/python3 -m venv --system-site-packages`: array tests against Debian's
#      numpy and torch, from the installed package (not the build tree);
#   3. the user site (--user, PYTHONUSERBASE in the work dir) of both interpreters (Debian's with
#      --break-system-packages);
# then a wheel is built from the unpacked sdist and must hold the same files.
#
#   bash tests/python/packaging_test.sh [WORKDIR]      (ctest: <build>/packaging)
# Exit 77 (skipped) without python3-venv/ensurepip. Compiles go through ccache when it exists
# (ATTEND_CMAKE_ARGS from ctest repeats the main build's flags so the library's objects are reused).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-$(mktemp -d /tmp/attend-packaging.XXXXXX)}
DEBIAN_PY=/usr/bin/python3
VERSION=$(cat "$ROOT/VERSION")
start=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - start ))s] $*"; }

if ! "$DEBIAN_PY" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "SKIP: $DEBIAN_PY has no venv/ensurepip (Debian: apt install python3-venv)"
  exit 77
fi
rm -rf "$WORK" && mkdir -p "$WORK/dist"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1
unset PYTHONPATH  # the installed package, never the build tree
# ccache: rewrite absolute paths below the common prefix of the sources, so the unpacked sdist's
# build and the repository's share objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$("$DEBIAN_PY" -c 'import os, sys; print(os.path.commonpath(sys.argv[1:]))' "$ROOT" "$WORK")}

# Another interpreter for the plain venv: the first python3 on PATH that is not Debian's, of the same
# X.Y (the wheel is built once, for that ABI tag).
deb_xy=$("$DEBIAN_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
deb_base=$("$DEBIAN_PY" -c 'import sys; print(sys.base_prefix)')
OTHER=$DEBIAN_PY
for cand in $(type -ap python3); do
  info=$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2], sys.base_prefix, sys.executable)' 2>/dev/null) || continue
  read -r xy base exe <<<"$info"
  if [ "$xy" = "$deb_xy" ] && [ "$base" != "$deb_base" ] && "$exe" -c 'import venv, ensurepip' 2>/dev/null; then
    OTHER=$exe
    break
  fi
done
echo "Debian's interpreter: $DEBIAN_PY; plain-venv interpreter: $OTHER"

step "sdist (the backend's build_sdist hook)"
SDIST=$(cd "$ROOT" && "$DEBIAN_PY" -c '
import sys
sys.path.insert(0, "python/backend")
import attend_backend
print(attend_backend.build_sdist(sys.argv[1]))' "$WORK/dist")
"$DEBIAN_PY" - "$WORK/dist/$SDIST" "$VERSION" <<'EOF'
import sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
base = f"attend_engine-{sys.argv[2]}/"
need = ["PKG-INFO", "pyproject.toml", "VERSION", "LICENSE", "CMakeLists.txt", "cmake/AttendHelpers.cmake",
        "include/attend/attention.h", "src/kernels/forward.cpp", "python/CMakeLists.txt", "python/src/module.cpp",
        "python/attend/__init__.py", "python/backend/attend_backend.py", "web/report.js", "web/report.css"]
missing = [n for n in need if base + n not in names]
stray = [n for n in names if n.startswith(base + "tests/") or "/build" in n or "__pycache__" in n]
assert not missing and not stray, (missing, stray)
print(f"{sys.argv[1]}: {len(names)} files")
EOF

step "wheel: pip wheel --no-index --no-deps (build isolation, in-tree backend, $DEBIAN_PY)"
wheel_start=$(date +%s)
"$DEBIAN_PY" -m pip wheel -v --no-index --no-deps -w "$WORK/dist" "$ROOT" 2>&1 | sed -u 's/^/  /'  # cmake's progress
WHEEL=$(ls "$WORK"/dist/attend_engine-"$VERSION"-*.whl)
echo "wheel built in $(( $(date +%s) - wheel_start )) s: $WHEEL"
"$DEBIAN_PY" - "$WHEEL" "$VERSION" <<'EOF'
import base64, hashlib, sys, sysconfig, zipfile
z = zipfile.ZipFile(sys.argv[1])
di = f"attend_engine-{sys.argv[2]}.dist-info/"
record = z.read(di + "RECORD").decode().splitlines()
for line in record:
    path, digest, size = line.rsplit(",", 2)
    if path == di + "RECORD":
        continue
    data = z.read(path)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert digest == want and int(size) == len(data), path
assert sorted(l.rsplit(",", 2)[0] for l in record) == sorted(z.namelist())
meta = z.read(di + "METADATA").decode()
for field in ("Metadata-Version: 2.4", "Name: attend-engine", f"Version: {sys.argv[2]}",
              "License-Expression: Apache-2.0", "Requires-Dist: numpy"):
    assert field in meta, field
tag = "cp%d%d" % sys.version_info[:2]
wheel = z.read(di + "WHEEL").decode()
assert f"Tag: {tag}-{tag}-{sysconfig.get_platform().replace('-', '_')}" in wheel, wheel
assert any(n.startswith("attend/_attend.") and n.endswith(".so") for n in z.namelist())
assert di + "licenses/LICENSE" in z.namelist()
print(f"RECORD ({len(record)} entries), METADATA and WHEEL check out")
EOF

numpy_free_checks='
import importlib.metadata as md, sys
import attend
assert "numpy" not in sys.modules, "import attend imported numpy"
assert attend.__file__.startswith(sys.argv[1]), attend.__file__
d = md.distribution("attend-engine")
assert d.version == attend.__version__ == sys.argv[2], (d.version, attend.__version__)
assert d.metadata["License-Expression"] == "Apache-2.0" and d.requires == ["numpy"]
assert attend.num_threads() >= 1 and attend.isa_info()["active"]
m = attend.Model(dict(vocab=32, context=16, d_model=16, layers=1, heads=2, kv_heads=2, d_ff=32), seed=1)
a = m.generate([1, 2, 3], max_new_tokens=4, temperature=0)
assert len(a) == 4 and a == m.generate([1, 2, 3], max_new_tokens=4, temperature=0)
try:
    attend.attention([[[[1.0]]]], [[[[1.0]]]], [[[[1.0]]]])
    raise SystemExit("attention without numpy did not fail")
except ImportError as e:
    assert "numpy is needed" in str(e), e
try:
    attend.attention(1, 2, 3, is_causal=True)
except TypeError as e:
    assert "attend.torch.scaled_dot_product_attention" in str(e), e
assert "numpy" not in sys.modules
print("numpy-free checks passed:", attend.__file__)
'

step "plain venv of $OTHER (no numpy): pip install --no-index"
"$OTHER" -m venv "$WORK/venv-plain"
PLAIN="$WORK/venv-plain/bin/python"
if "$PLAIN" -c 'import numpy' 2>/dev/null; then echo "the plain venv has numpy; this check needs one without"; exit 1; fi
if "$PLAIN" -m pip install -q --no-index "$WHEEL" 2>"$WORK/no-deps.log"; then
  echo "pip installed without numpy although --no-deps was not given"; exit 1
fi
grep -q "numpy" "$WORK/no-deps.log"  # offline, the declared dependency cannot be met: hence --no-deps
echo "without --no-deps: $(grep -m1 -i "error" "$WORK/no-deps.log")"
"$PLAIN" -m pip install -q --no-index --no-deps "$WHEEL"
"$PLAIN" -c "$numpy_free_checks" "$WORK/venv-plain" "$VERSION"

step "--user installs (PYTHONUSERBASE in the work dir)"
PYTHONUSERBASE="$WORK/user-other" "$OTHER" -m pip install -q --user --no-index --no-deps "$WHEEL"
PYTHONUSERBASE="$WORK/user-other" "$OTHER" -c 'import attend, sys; assert attend.__file__.startswith(sys.argv[1]); print("user site:", attend.__file__)' "$WORK/user-other"
PYTHONUSERBASE="$WORK/user-debian" "$DEBIAN_PY" -m pip install -q --user --break-system-packages --no-index "$WHEEL"
PYTHONUSERBASE="$WORK/user-debian" "$DEBIAN_PY" -c '
import sys, numpy as np, attend
assert attend.__file__.startswith(sys.argv[1]), attend.__file__
q = np.random.default_rng(0).standard_normal((1, 5, 2, 8)).astype(np.float32)
assert np.isfinite(attend.attention(q, q, q, causal=True)).all()
print("user site:", attend.__file__)' "$WORK/user-debian"

step "Debian venv with system site packages (numpy, torch): pip install --no-index, array tests"
"$DEBIAN_PY" -m venv --system-site-packages "$WORK/venv-debian"
SYS="$WORK/venv-debian/bin/python"
"$SYS" -m pip install -q --no-index "$WHEEL"  # numpy is met by Debian's python3-numpy: no --no-deps needed
"$SYS" -c 'import attend, sys; assert attend.__file__.startswith(sys.argv[1]), attend.__file__' "$WORK/venv-debian"
(cd "$WORK" && "$SYS" -m pytest -q -p no:cacheprovider "$ROOT/tests/python/test_forward.py" \
  "$ROOT/tests/python/test_flash.py::test_flash_attn_func_numpy" \
  "$ROOT/tests/python/test_torch_sdpa.py::test_gqa_only_with_enable_gqa" \
  "$ROOT/tests/python/test_strict.py::test_the_documented_is_causal_message")

step "wheel from the unpacked sdist"
mkdir -p "$WORK/sdist" "$WORK/dist-sdist"
tar -xzf "$WORK/dist/$SDIST" -C "$WORK/sdist"
sdist_start=$(date +%s)
"$DEBIAN_PY" -m pip wheel -v --no-index --no-deps -w "$WORK/dist-sdist" "$WORK/sdist/attend_engine-$VERSION" 2>&1 \
  | sed -u 's/^/  /'

echo "wheel from the sdist built in $(( $(date +%s) - sdist_start )) s"
"$DEBIAN_PY" - "$WHEEL" "$WORK"/dist-sdist/attend_engine-"$VERSION"-*.whl <<'EOF'
import sys, zipfile
a, b = (sorted(zipfile.ZipFile(p).namelist()) for p in sys.argv[1:3])
assert a == b, set(a) ^ set(b)
print(f"same {len(a)} files as the repository's wheel")
EOF

step "packaging test passed ($(( $(date +%s) - start )) s in all)"
