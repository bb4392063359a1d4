#!/usr/bin/env bash
# The command line's conventions (ctest cli_conventions): --version prints the VERSION file's
# version; usage errors (no command, a mistyped one, a bad or missing option, options that do not
# fit together) exit 2 with one line on stderr naming the problem; `bench --json` / `--csv` give
# data a parser reads (checked with Python's json and csv modules); `focus` prints its top ranks,
# which must be the highest ranks of the full --out file.
# Usage: bash tests/cli/conventions.sh path/to/attend
set -u
attend="$1"
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0; passes=0
ok() { passes=$((passes+1)); }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

usage_error() {  # name, expected substring, command...: exit 2, one line on stderr, nothing on stdout
  local name=$1 want=$2; shift 2
  "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l <"$dir/err")" -eq 1 ] && [ ! -s "$dir/out" ] && grep -qF -- "$want" "$dir/err"; then ok
  else bad "$name: rc=$rc (want 2), wanted one stderr line with '$want', got stderr: $(cat "$dir/err") stdout: $(head -c 300 "$dir/out")"; fi
}

# --version: the version from VERSION (shared with CMake and the Python package), exit 0.
out=$("$attend" --version); rc=$?
[ $rc -eq 0 ] && [ "$out" = "attend $(cat "$root/VERSION")" ] && ok || bad "--version: rc=$rc, printed '$out'"
"$attend" --help >/dev/null; [ $? -eq 0 ] && ok || bad "--help does not exit 0"

/usr/bin/python3 -c 'import numpy as np, sys; [np.save(f"{sys.argv[1]}/{n}.npy", np.ones((1, 4, 2, 8), np.float32)) for n in "qkv"]' "$dir"
npy=(--q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy")

usage_error no_command "a command is required: bench," "$attend"
usage_error typo "unknown command 'sdap'; did you mean 'sdpa'?" "$attend" sdap
usage_error unknown "unknown command 'frobnicate'; the commands are: " "$attend" frobnicate
usage_error unknown_top_option "attend: " "$attend" --frobnicate
usage_error missing_required "attend sdpa: --q is required" "$attend" sdpa --k "$dir/k.npy" --v "$dir/v.npy" --out "$dir/o.npy"
usage_error unknown_option "attend sdpa: " "$attend" sdpa "${npy[@]}" --frobnicate
usage_error bad_value "attend bench: " "$attend" bench --threads 0
usage_error json_and_csv "attend bench: " "$attend" bench --json --csv
usage_error serve_port "attend serve: --port" "$attend" serve --model "$dir/q.npy" --port 70000
usage_error serve_model "attend serve: --model is required" "$attend" serve --port 0
usage_error json_with_mode "--json is for the forward sweep" "$attend" bench --backward --json
usage_error focus_no_input "attend focus: give --links and --stakes, or --generate N" "$attend" focus
usage_error sdpa_dout "attend sdpa: --dout needs --dq, --dk and --dv" "$attend" sdpa "${npy[@]}" --dout "$dir/q.npy"

# bench --json / --csv: one small point each (no baseline); stdout is the data alone.
sweep=(--n 64 --d 16 --threads 1 --dtype f32 --causal 0,1 --heads 2 --runs 1 --no-baseline)
if "$attend" bench --json "${sweep[@]}" >"$dir/bench.json" 2>"$dir/bench.err"; then
  python3 - "$dir/bench.json" <<'PY' && ok || bad "bench --json: $(cat "$dir/bench.json")"
import json, math, sys
j = json.load(open(sys.argv[1]))
assert isinstance(j["isa"], str) and j["runs"] == 1 and isinstance(j["disturbed"], bool), j
assert [p["threads"] for p in j["peak_gflops"]] == [1] and j["peak_gflops"][0]["f32"] > 0, j
pts = j["points"]
assert [(p["dtype"], p["d"], p["n"], p["causal"], p["threads"]) for p in pts] == [("f32", 16, 64, False, 1), ("f32", 16, 64, True, 1)], pts
for p in pts:
    assert p["gflops_min"] <= p["gflops"] <= p["gflops_max"] and p["gflops"] > 0, p
    assert math.isclose(p["percent_of_peak"], 100 * p["gflops"] / j["peak_gflops"][0]["f32"], rel_tol=1e-4), p
    assert p["naive_gflops"] is None and p["ratio_to_naive"] is None, p
assert j["disturbed"] == any(p["percent_of_peak"] > 100 for p in pts)
PY
else bad "bench --json failed: $(cat "$dir/bench.err")"; fi
if "$attend" bench --csv "${sweep[@]}" >"$dir/bench.csv" 2>"$dir/bench.err"; then
  python3 - "$dir/bench.csv" <<'PY' && ok || bad "bench --csv: $(cat "$dir/bench.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [(r["dtype"], r["d"], r["n"], r["causal"], r["threads"]) for r in rows] == [("f32", "16", "64", "0", "1"), ("f32", "16", "64", "1", "1")], rows
for r in rows:
    assert float(r["gflops_min"]) <= float(r["gflops"]) <= float(r["gflops_max"]) and float(r["percent_of_peak"]) > 0, r
    assert r["naive_gflops"] == "" and r["ratio_to_naive"] == "", r
PY
  grep -q "^# measured FMA peak" "$dir/bench.err" && ok || bad "bench --csv: the notes are not on stderr"
else bad "bench --csv failed: $(cat "$dir/bench.err")"; fi

# focus prints the top ranks: a star graph whose hub every neuron links to; the printed top 3 must
# be the 3 highest ranks of the --out file (hub first).
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
with open(f"{d}/stakes.csv", "w") as f:
    f.write("neuron,stake\n" + "".join(f"n{i},{10 + i}\n" for i in range(5)))
with open(f"{d}/links.csv", "w") as f:
    f.write("neuron,from,to\n")
    for i in range(5):
        for j in range(8):
            f.write(f"n{i},leaf{j},hub\n")
        f.write(f"n{i},hub,leaf{i}\n")
PY
if "$attend" focus --links "$dir/links.csv" --stakes "$dir/stakes.csv" --out "$dir/ranks.csv" --top 3 >"$dir/focus.out" 2>&1; then
  python3 - "$dir" <<'PY' && ok || bad "focus top ranks: $(cat "$dir/focus.out")"
import csv, sys
d = sys.argv[1]
ranks = sorted(((float(r["rank"]), r["particle"]) for r in csv.DictReader(open(f"{d}/ranks.csv"))), key=lambda x: -x[0])
lines = open(f"{d}/focus.out").read().splitlines()
i = next(k for k, l in enumerate(lines) if l.startswith("top 3 of 9 particles by rank"))
shown = [l.split() for l in lines[i + 1:i + 4]]
assert [s[0] for s in shown] == ["1", "2", "3"], shown
assert shown[0][1] == "hub" == ranks[0][1], (shown, ranks)
for s, (rank, name) in zip(shown, ranks[:3]):
    assert abs(float(s[2]) - rank) <= 1e-5 * rank, (s, rank, name)
PY
else bad "focus failed: $(cat "$dir/focus.out")"; fi

echo "cli conventions: $passes passed, $fails failed"
[ $fails -eq 0 ]
