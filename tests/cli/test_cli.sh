#!/usr/bin/env bash
# End-to-end checks of the `attend` command line: a correct run on .npy files made here, and
# bad input that must give a one-line error naming the problem and a non-zero exit (no crash).
set -u
attend="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0; passes=0

expect_error() {  # name, expected substring, command...
  local name=$1 want=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$want" <<<"$out" && [ "$(wc -l <<<"$out")" -le 2 ]; then
    passes=$((passes+1))
  else
    echo "FAIL $name: rc=$rc, wanted '$want', got: $out"; fails=$((fails+1))
  fi
}

# Build .npy inputs with a tiny writer (no numpy needed): f32 arrays of shape [1, N, H, D].
python3 - "$dir" <<'PY'
import struct, sys, random, os
d = sys.argv[1]
def save(path, shape, vals, descr='<f4'):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    pad = (64 - (10 + len(header) + 1) % 64) % 64
    header += " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%d%s" % (len(vals), 'f' if descr == '<f4' else 'e'), *vals))
random.seed(1)
n = lambda k: [random.uniform(-1, 1) for _ in range(k)]
save(f"{d}/q.npy", (1, 5, 4, 8), n(160))
save(f"{d}/k.npy", (1, 6, 2, 8), n(96))
save(f"{d}/v.npy", (1, 6, 2, 8), n(96))
save(f"{d}/k3.npy", (1, 6, 3, 8), n(144))
save(f"{d}/rank2.npy", (6, 8), n(48))
save(f"{d}/q16.npy", (1, 5, 4, 8), n(160), '<f2')
with open(f"{d}/corrupt.npy", "wb") as f: f.write(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',")
with open(f"{d}/trunc.npy", "wb") as f: f.write(open(f"{d}/q.npy", "rb").read()[:-10])
PY

# A correct run, checked against an independent softmax in Python.
if "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy" --lse "$dir/l.npy" --causal; then
  python3 - "$dir" <<'PY' && passes=$((passes+1)) || { echo "FAIL sdpa result"; fails=$((fails+1)); }
import struct, sys, math
d = sys.argv[1]
def load(p):
    b = open(p, "rb").read(); hl = struct.unpack("<H", b[8:10])[0]; h = b[10:10+hl].decode()
    shape = tuple(int(x) for x in h.split("(")[1].split(")")[0].split(",") if x.strip())
    n = 1
    for s in shape: n *= s
    return shape, struct.unpack("<%df" % n, b[10+hl:10+hl+4*n])
(qs, q), (ks, k), (vs, v), (os_, o) = load(f"{d}/q.npy"), load(f"{d}/k.npy"), load(f"{d}/v.npy"), load(f"{d}/o.npy")
_, N, H, D = qs; Nk, Hk = ks[1], ks[2]
err = 0
for i in range(N):
    for h in range(H):
        g = h // (H // Hk)
        s = [sum(q[(i*H+h)*D+c]*k[(j*Hk+g)*D+c] for c in range(D))/math.sqrt(D) if j <= i + Nk - N else -1e30 for j in range(Nk)]
        m = max(s); e = [math.exp(x-m) for x in s]; z = sum(e)
        for c in range(D):
            ref = sum(e[j]/z*v[(j*Hk+g)*D+c] for j in range(Nk))
            err = max(err, abs(ref - o[(i*H+h)*D+c]))
assert os_ == (1, 5, 4, 8), os_
assert err < 1e-5, err
PY
else
  echo "FAIL sdpa did not run"; fails=$((fails+1))
fi
# Backward through the CLI equals finite differences of the CLI forward (loss = Σ out·dout).
if "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy" --causal \
     --dout "$dir/q.npy" --dq "$dir/dq.npy" --dk "$dir/dk.npy" --dv "$dir/dv.npy"; then
  python3 - "$dir" "$attend" <<'PY' && passes=$((passes+1)) || { echo "FAIL sdpa backward"; fails=$((fails+1)); }
import struct, sys, subprocess, os
d, attend = sys.argv[1], sys.argv[2]
def load(p):
    b = open(p, "rb").read(); hl = struct.unpack("<H", b[8:10])[0]; h = b[10:10+hl].decode()
    shape = tuple(int(x) for x in h.split("(")[1].split(")")[0].split(",") if x.strip())
    n = 1
    for s in shape: n *= s
    return shape, list(struct.unpack("<%df" % n, b[10+hl:10+hl+4*n])), b[:10+hl]
def save(p, head, vals): open(p, "wb").write(head + struct.pack("<%df" % len(vals), *vals))
_, g, _ = load(f"{d}/q.npy")          # dout = q's values (same shape as out here)
_, dk, _ = load(f"{d}/dk.npy")
ks, k, khead = load(f"{d}/k.npy")
def loss(kv):
    save(f"{d}/kp.npy", khead, kv)
    subprocess.run([attend, "sdpa", "--q", f"{d}/q.npy", "--k", f"{d}/kp.npy", "--v", f"{d}/v.npy", "--out", f"{d}/op.npy", "--causal"], check=True)
    return sum(a*b for a, b in zip(load(f"{d}/op.npy")[1], g))
eps = 1e-2
for idx in (0, 17, 50, 95):
    kp = list(k); kp[idx] += eps; lp = loss(kp)
    kp[idx] -= 2*eps; lm = loss(kp)
    fd = (lp - lm) / (2*eps)
    assert abs(fd - dk[idx]) < 2e-3 * (1 + abs(fd)), (idx, fd, dk[idx])
PY
else
  echo "FAIL sdpa backward did not run"; fails=$((fails+1))
fi
expect_error dout_without_grads "needs --dq" "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy" --dout "$dir/q.npy"
"$attend" sdpa --q "$dir/q16.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o16.npy" && passes=$((passes+1)) || { echo "FAIL f16 input"; fails=$((fails+1)); }

expect_error missing_file "q" "$attend" sdpa --q "$dir/nope.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy"
expect_error heads_not_dividing "does not divide" "$attend" sdpa --q "$dir/q.npy" --k "$dir/k3.npy" --v "$dir/k3.npy" --out "$dir/o.npy"
expect_error wrong_rank "4 dimensions" "$attend" sdpa --q "$dir/rank2.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy"
expect_error corrupt "corrupt.npy" "$attend" sdpa --q "$dir/corrupt.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy"
expect_error truncated "truncated" "$attend" sdpa --q "$dir/trunc.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy"
expect_error bad_window "window" "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy" --window=-3,2
expect_error out_dir_missing "write_file_atomically" "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/no/such/o.npy"

# attend tokenize: a GPT-2-style vocab.json + merges.txt written here (and a broken copy).
python3 - "$dir" <<'PY'
import json, os, sys
d = sys.argv[1]
for name, merges in (("tok", "#version: 0.2\nh i\n\u0120 hi\n"), ("badtok", "#version: 0.2\nh q\n")):
    os.makedirs(f"{d}/{name}", exist_ok=True)
    json.dump({"h": 0, "i": 1, "hi": 2, "\u0120": 3, "\u0120hi": 4, "!": 5}, open(f"{d}/{name}/vocab.json", "w"))
    open(f"{d}/{name}/merges.txt", "w", encoding="utf-8").write(merges)
PY
out=$("$attend" tokenize --tokenizer "$dir/tok" --text "hi hi!" --ids-only 2>&1)
[ "$out" = "2 4 5" ] && passes=$((passes+1)) || { echo "FAIL tokenize ids: $out"; fails=$((fails+1)); }
out=$("$attend" tokenize --tokenizer "$dir/tok" --decode "2,4 5" 2>&1)
[ "$out" = "hi hi!" ] && passes=$((passes+1)) || { echo "FAIL tokenize decode: $out"; fails=$((fails+1)); }
out=$("$attend" tokenize --tokenizer bytes --text "a" --json 2>&1)
grep -q '"ids":\[97\]' <<<"$out" && passes=$((passes+1)) || { echo "FAIL tokenize json: $out"; fails=$((fails+1)); }
expect_error tokenize_missing "does not exist" "$attend" tokenize --tokenizer "$dir/nope.json.d" --text x
expect_error tokenize_no_text "give one of" "$attend" tokenize --tokenizer bytes
expect_error tokenize_bad_id "token id 300" "$attend" tokenize --tokenizer bytes --decode 300
expect_error tokenize_bad_merges "merges.txt line 2" "$attend" tokenize --tokenizer "$dir/badtok" --text x
echo "cli: $passes passed, $fails failed"
[ $fails -eq 0 ]
