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
expect_error out_dir_missing "does not exist" "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/no/such/o.npy"

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

# ---- hostile and careless use (SECURITY.md "Hostile files", "Careless use") ------------------------
hostile_from=$((passes+fails))
ok() { passes=$((passes+1)); }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
tiny=(--layers 1 --d-model 16 --heads 2 --seq-len 16 --batch 4 --threads 1)
# A diverging run (--lr 1e30) stops with a message and a non-zero exit; the good checkpoint stays.
"$attend" train --task copy --steps 3 "${tiny[@]}" --out "$dir/keep.safetensors" >/dev/null 2>&1 || bad "train a good checkpoint"
cp "$dir/keep.safetensors" "$dir/keep.ref"
out=$("$attend" train --task copy --steps 6 --warmup 0 --lr 1e30 "${tiny[@]}" --out "$dir/keep.safetensors" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "diverged" <<<"$out" && ! grep -q "^saved" <<<"$out" && cmp -s "$dir/keep.safetensors" "$dir/keep.ref"; then ok
else bad "diverged run: rc=$rc, file kept: $(cmp -s "$dir/keep.safetensors" "$dir/keep.ref" && echo yes || echo NO), output: $(tail -2 <<<"$out")"; fi
expect_error lr_inf "lr must be a finite number" "$attend" train --lr inf --out "$dir/x.safetensors"
expect_error weight_decay_nan "weight_decay must be a finite number" "$attend" train --weight-decay nan --out "$dir/x.safetensors"
# A checkpoint holding NaN (a diverged run of an older attend) is refused by name; --allow-nonfinite loads it.
python3 - "$dir/keep.ref" "$dir/nan.safetensors" <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
header = json.loads(b[8:8 + n])
end = next(t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and not k.startswith("opt."))
b[8 + n + end - 4:8 + n + end] = struct.pack("<f", float("nan"))  # the last value of a weight
open(sys.argv[2], "wb").write(bytes(b))
PY
expect_error nan_weights_generate "holds nan" "$attend" generate --model "$dir/nan.safetensors" --prompt ab --max-new 2
expect_error nan_weights_inspect "holds nan" "$attend" inspect --model "$dir/nan.safetensors" --prompt ab --out "$dir/nanrep"
"$attend" generate --model "$dir/nan.safetensors" --prompt ab --max-new 2 --allow-nonfinite >/dev/null 2>&1 && ok || bad "--allow-nonfinite"
# Text: the held-out loss is measured on the end of the file, and the printout says so.
python3 -c "import sys; open(sys.argv[1], 'w').write('the cat sat on the mat. ' * 60)" "$dir/text.txt"
out=$("$attend" train --task text --data "$dir/text.txt" --steps 2 "${tiny[@]}" --eval-sequences 8 --out "$dir/text.safetensors" 2>&1)
grep -q "from the last 144 bytes of .*text.txt, never trained on" <<<"$out" && ok || bad "text held-out printout: $out"
# --threads N is the thread count the banner prints (attend's pool runs every product of the model).
out=$("$attend" train --task copy --steps 1 "${tiny[@]}" --out "$dir/threads.safetensors" 2>&1)
grep -q "; 1 threads$" <<<"$out" && ok || bad "train --threads 1: $(grep training <<<"$out")"
# Outputs are checked before any work: missing folder, aliasing (also through a hard link), extension.
expect_error out_missing_dir_first "does not exist" timeout 20 "$attend" train --steps 1000000 --out "$dir/missing/x.safetensors"
expect_error out_equals_lse "are the same file" "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/a.npy" --lse "$dir/a.npy"
ln -f "$dir/q.npy" "$dir/hardlink.npy"
expect_error out_is_input_hardlink "are the same file" "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/hardlink.npy"
cmp -s "$dir/q.npy" "$dir/hardlink.npy" && ok || bad "the input behind the hard link was modified"
expect_error out_wrong_extension "must end in .safetensors" "$attend" train --out "$dir/m.csv" --curve "$dir/m"
expect_error negative_eval_sequences "must be a positive count" "$attend" train --eval-sequences -3 --out "$dir/x.safetensors"
expect_error zero_sequences "must be a positive count" "$attend" eval --model "$dir/keep.safetensors" --task copy --sequences 0
# Inputs that are not regular files are refused by name, without reading (or blocking on) them.
expect_error data_is_directory "is a directory" "$attend" train --task text --data "$dir" --out "$dir/x.safetensors"
expect_error model_is_dev_zero "character device" timeout 20 "$attend" inspect --model /dev/zero --prompt ab --out "$dir/rep"
mkfifo "$dir/fifo.safetensors"
expect_error model_is_fifo "FIFO" timeout 20 "$attend" generate --model "$dir/fifo.safetensors" --prompt ab
# A header nested 10 million levels deep is refused at once, with little memory.
python3 -c "import sys, struct; h = b'{\"a\":{\"shape\":' + b'[' * 10**7 + b']' * 10**7 + b'}}'; open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h)" "$dir/deep.safetensors"
# Under AddressSanitizer an address-space limit cannot hold (ASan reserves terabytes of shadow):
# there deep_header runs without the limit and huge_file (which needs it) is skipped.
if nm "$attend" 2>/dev/null | grep -q " __asan_init"; then limit="ulimit -v unlimited"; asan=1; else limit="ulimit -v 1500000"; asan=0; fi
if [ $asan = 1 ]; then echo "note: ASan build: deep_header runs without the memory limit, huge_file is skipped"; fi
expect_error deep_header "nests deeper than 3 levels" bash -c "$limit; timeout 20 '$attend' generate --model '$dir/deep.safetensors' --prompt ab"
# A file larger than memory allows: a message saying so, never "std::bad_alloc".
truncate -s 3G "$dir/huge.safetensors"
if [ $asan = 0 ]; then expect_error huge_file "not enough memory to read" bash -c "$limit; '$attend' generate --model '$dir/huge.safetensors' --prompt ab"; fi
rm -f "$dir/huge.safetensors"
# numpy's header rules: a duplicate 'descr' (numpy reads the last) is refused.
python3 - "$dir" <<'PY'
import struct, sys
h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 5, 4, 8), 'descr': '<f2', }"
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(sys.argv[1] + "/dup.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + b"\0" * 640)
PY
expect_error npy_duplicate_descr "'descr' twice" "$attend" sdpa --q "$dir/dup.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy"
# Modes: an overwritten 0600 output stays 0600; a new one follows the umask.
chmod 600 "$dir/o.npy"
"$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy" && [ "$(stat -c %a "$dir/o.npy")" = 600 ] && ok || bad "0600 output became $(stat -c %a "$dir/o.npy")"
(umask 077; "$attend" sdpa --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o_new.npy") && [ "$(stat -c %a "$dir/o_new.npy")" = 600 ] && ok || bad "umask 077 gave $(stat -c %a "$dir/o_new.npy")"
# focus: stakes near 2^64 give finite ranks; names with escape sequences are printed escaped.
printf 'neuron,stake\na\033[31m,9223372036854775809\nb,9223372036854775809\nc,5\n' > "$dir/stakes.csv"
printf 'neuron,from,to\na\033[31m,x,y\nb,x,z\nc,y,x\nc,z,x\n' > "$dir/links.csv"
out=$("$attend" focus --links "$dir/links.csv" --stakes "$dir/stakes.csv" --out "$dir/ranks.csv" 2>&1)
if ! grep -qiE "inf|nan" "$dir/ranks.csv" && ! grep -qiE "inf|nan" <<<"$out" && grep -q 'karma a\\x1B\[31m' <<<"$out" && ! grep -q $'\033' <<<"$out"; then ok
else bad "focus overflow/escaping: $out $(cat "$dir/ranks.csv")"; fi
# Messages keep what follows a NUL (escaped), and carry no raw control bytes.
python3 - "$dir/nul.safetensors" <<'PY'
import json, struct, sys
h = json.dumps({"a\u0000b\u001b[2J": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 8]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * 8)
PY
out=$("$attend" generate --model "$dir/nul.safetensors" --prompt ab 2>&1)
grep -qF "'a\x00b\x1B[2J' has unknown dtype 'Q9'" <<<"$out" && ! grep -q $'\033' <<<"$out" && ok || bad "NUL/escape in message: $out"
# Report folders: replaced as a whole; a folder holding other files is refused, nothing deleted.
"$attend" inspect-toy --out "$dir/rep" >/dev/null && "$attend" inspect-toy --synthetic 8 --out "$dir/rep" >/dev/null || bad "inspect-toy twice"
[ ! -e "$dir/rep/heatmap_L1_H0.png" ] && [ -e "$dir/rep/heatmap_L0_H0.png" ] && ok || bad "old heatmaps survived beside the new report: $(ls "$dir/rep")"
echo mine > "$dir/rep/notes.txt"
expect_error report_folder_foreign "not part of an attend report" "$attend" inspect-toy --out "$dir/rep"
[ -e "$dir/rep/notes.txt" ] && ok || bad "a user's file in the report folder was deleted"

# CI reads these lines for SECURITY.md's counts.
echo "cli: $((passes+fails-hostile_from)) hostile and careless-use cases checked"
echo "cli: $passes passed, $fails failed"
[ $fails -eq 0 ]
