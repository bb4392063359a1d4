#!/usr/bin/python3
"""The runtime at the machine's limit against llama.cpp and torch (issue 24): prefill, decode and
training of real-sized models with random weights, attend vs llama.cpp (node-llama-cpp's prebuilt
CPU build, on the same GGUF files) vs Debian's torch 1.13, interleaved run by run, at 1 and 2
threads, printed as markdown tables (median, min-max, same-run ratios attend / peer) beside the FMA
peak and read bandwidth `attend bench --machine` measures at the start and the end.

  bench/scripts/runtime_peers.py --quick              # smoke test: gpt2-small only, 2 runs (~10 min)
  bench/scripts/runtime_peers.py --out table.md       # the full table, ~3 h on a quiet machine (bench/README.md)

Each measurement is its own process (one load, a warm-up, --per-process timed runs); a round runs
every peer once per configuration, in an order rotated from round to round, and --runs rounds are
made. The GGUF files are written one at a time into a temporary folder by `attend bench
--write-gguf` and deleted after their runs (llama-1b f32 is 4.4 GB). The FLOP and byte counts are
bench/runtime_counts.h's, repeated below and asserted equal to the ones attend prints; every peer's
prompt is asserted to be the same (token_sum). Nothing is downloaded.
"""
import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# bench/runtime_counts.h's shapes: layers, d_model, heads, kv_heads, d_ff, vocab, context, swiglu.
SHAPES = {
    "gpt2-small": (12, 768, 12, 12, 2048, 50257, 1024, True),
    "llama-1b": (16, 2048, 32, 8, 8192, 32000, 1024, True),
    "tiny": (2, 128, 4, 2, 256, 512, 1024, True),
    "train-6x256": (6, 256, 8, 8, 1024, 256, 256, False),
    "train-4x128": (4, 128, 4, 4, 512, 256, 256, False),
}
AVX512 = "avx512f" in open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else False
WEIGHT_BYTES = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 34.0 / 32.0}


# ---- bench/runtime_counts.h, repeated (asserted equal to attend's JSON) ----------------------------
def matmul_params(s):
    L, E, H, G, Fd, V, _, swiglu = s
    D = E // H
    return L * (E * H * D * 2 + E * G * D * 2 + (3 if swiglu else 2) * E * Fd) + V * E


def prefill_flops(s, T, logit_rows):
    L, E, H, _, _, V, _, _ = s
    D = E // H
    return 2.0 * (matmul_params(s) - V * E) * T + 4.0 * L * H * D * T * (T + 1) / 2 + 2.0 * V * E * logit_rows


def decode_weight_bytes(s, weights):
    return (matmul_params(s) + s[1]) * WEIGHT_BYTES[weights]


def train_flops_per_token(s, T):
    L, E, H = s[0], s[1], s[2]
    return 6.0 * matmul_params(s) + 12.0 * L * H * (E // H) * T


def bench_token_sum(n, vocab):
    return sum(3 + (i * 7919 + 11) % (vocab - 3) for i in range(n))


# ---- running the peers ------------------------------------------------------------------------
def thread_env(t):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(t)  # every BLAS and OpenMP pool at the thread count, so none oversubscribes
    if AVX512:
        env["ATEN_CPU_CAPABILITY"] = "avx512"  # torch 1.13 built its AVX-512 kernels but defaults to AVX2
    return env


def run_json(cmd, t, log, want_json=True):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=thread_env(t))
    log.write(f"# {time.time() - t0:.1f} s rc {p.returncode}: {' '.join(cmd)}\n{p.stdout}{p.stderr}\n")
    log.flush()
    if p.returncode == 77:
        return None
    if p.returncode != 0:
        raise SystemExit(f"runtime_peers: failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    if not lines and want_json:
        raise SystemExit(f"runtime_peers: no JSON from {' '.join(cmd)}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return lines


def shape_args(s):
    L, E, H, G, Fd, V, _, _ = s
    return ["--layers", str(L), "--d-model", str(E), "--heads", str(H), "--kv-heads", str(G), "--d-ff", str(Fd), "--vocab", str(V)]


def peer_command(a, peer, workload, shape, weights, path, t):
    s = SHAPES[shape]
    per = str(a.per_process)
    if peer == "attend":
        mode = {"prefill": "--prefill", "decode": "--generate", "train": "--train"}[workload]
        # The instruments are measured once at the start and the end (--machine), not in every process.
        cmd = [a.attend, "bench", mode, "--threads", str(t), "--runs", per, "--json", "--no-instruments"]
        if workload == "train":
            return cmd + ["--shape", shape, "--text", a.text, "--batch", str(a.batch), "--steps", str(a.steps)]
        extra = ["--kv-cache", a.attend_kv] if workload == "decode" else []
        if weights == "bf16" and a.attend_bf16_activations:
            extra.append("--bf16-activations")
        return cmd + ["--file", path, "--tokens", str(a.tokens), "--new-tokens", str(a.new_tokens)] + extra
    if peer == "llama.cpp":
        return ["node", os.path.join(HERE, "llama_cpp_peer.mjs"), "--model", path, "--workload", workload, "--threads", str(t),
                "--runs", per, "--tokens", str(a.tokens), "--new-tokens", str(a.new_tokens), "--kv", a.llama_kv,
                "--flash", a.llama_flash, "--node-modules", a.node_modules]
    cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_peer.py"), "--workload", workload, "--threads", str(t), "--runs", per,
           "--weights", weights] + shape_args(s)
    if workload == "train":
        return cmd + ["--context", str(s[6]), "--text", a.text, "--batch", str(a.batch), "--steps", str(a.steps)]
    return cmd + ["--tokens", str(a.tokens), "--new-tokens", str(a.new_tokens)]


def check(r, workload, shape, weights, a):
    """The harness's own checks: same prompt, same counts as attend's C++."""
    s = SHAPES[shape]
    if workload != "train":
        n = a.tokens - (a.new_tokens if workload == "decode" else 0)
        assert r["token_sum"] == bench_token_sum(n, s[5]), f"{r['peer']} fed another prompt: {r['token_sum']}"
    if r["peer"] != "attend":
        return
    assert (r["layers"], r["d_model"], r["heads"], r["kv_heads"], r["d_ff"], r["vocab"]) == s[:6], f"attend loaded another shape: {r}"
    rel = lambda x, y: abs(x - y) <= 1e-5 * abs(y)
    if workload == "prefill":
        assert rel(r["flops"], prefill_flops(s, a.tokens, 1)) and rel(r["flops_done"], prefill_flops(s, a.tokens, 1)), r
        assert r["weights"] == weights, r
    elif workload == "decode":
        assert rel(r["weight_bytes_per_token"], decode_weight_bytes(s, weights)), r
    else:
        assert rel(r["flops_per_token"], train_flops_per_token(s, s[6])), r


def configs(a):
    out = []
    for shape in a.models:
        for weights in a.weights:
            for workload in a.workloads:
                if workload == "train" or (workload == "prefill" and weights == "q8_0"):
                    continue  # q8_0: decode only (issue 24)
                out.append((shape, weights, workload))
    if "train" in a.workloads:
        out += [(shape, "f32", "train") for shape in a.train_shapes]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--quick", action="store_true", help="gpt2-small only (f32; q8_0 decode), 2 rounds, training 1 step per run")
    p.add_argument("--attend", default=os.path.join(ROOT, "build", "tools", "attend"))
    p.add_argument("--node-modules", default=os.path.join(ROOT, "tests", "gguf", "node_modules"))
    p.add_argument("--models", default="gpt2-small,llama-1b")
    p.add_argument("--weights", default="f32,f16,bf16,q8_0")
    p.add_argument("--workloads", default="prefill,decode,train")
    p.add_argument("--train-shapes", default="train-6x256,train-4x128")
    p.add_argument("--peers", default="attend,llama.cpp,torch")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--runs", type=int, default=5, help="rounds (each peer once per configuration per round)")
    p.add_argument("--per-process", type=int, default=1, help="timed runs inside each process (the median counts)")
    p.add_argument("--tokens", type=int, default=1024, help="prefill tokens; decode: the context reached")
    p.add_argument("--new-tokens", type=int, default=32, help="decode: timed tokens")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=3, help="training steps per timed run")
    p.add_argument("--llama-kv", default="f16", choices=["f32", "f16"],
                   help="llama.cpp's KV cache: f16 (its default); f32 matches attend's cache but makes llama.cpp's flash-attention "
                        "path convert the whole cache to f16 at every decoded token (ggml_compute_forward_dup, 44 %% of a decode step)")
    p.add_argument("--attend-kv", default="f32", choices=["f32", "f16", "bf16"],
                   help="attend's KV cache (bench --generate --kv-cache): f32 is exact; f16 reads half the bytes, as llama.cpp's default")
    p.add_argument("--llama-flash", default="default", choices=["default", "on", "off", "auto"], help="llama.cpp's flash attention")
    p.add_argument("--attend-bf16-activations", action="store_true",
                   help="bf16 weights: attend's prefill rounds activations to bf16 (vdpbf16ps), as llama.cpp and torch do for bf16")
    p.add_argument("--text", help="byte-level training text (default: the repository's *.md and docs/*.md)")
    p.add_argument("--workdir", help="where the GGUF files go (default: a fresh temporary folder, removed at the end)")
    p.add_argument("--out", help="also write the markdown here")
    a = p.parse_args()
    if a.quick:
        a.models, a.weights, a.runs, a.steps = "gpt2-small", "f32,q8_0", 2, 1
    a.models, a.weights, a.workloads = a.models.split(","), a.weights.split(","), a.workloads.split(",")
    a.train_shapes, a.peers = a.train_shapes.split(","), a.peers.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    for m in a.models + a.train_shapes:
        if m not in SHAPES:
            raise SystemExit(f"runtime_peers: unknown shape {m}")
    if not os.access(a.attend, os.X_OK):
        raise SystemExit(f"runtime_peers: no attend binary at {a.attend} (build attend_cli, or pass --attend)")
    work = a.workdir or tempfile.mkdtemp(prefix="attend_peers_")
    os.makedirs(work, exist_ok=True)
    if not a.text:
        a.text = os.path.join(work, "text.txt")
        with open(a.text, "wb") as f:
            for d in (ROOT, os.path.join(ROOT, "docs")):
                for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                    if n.endswith(".md"):
                        f.write(open(os.path.join(d, n), "rb").read())
    log = open(os.path.join(work, "runs.log"), "w")
    started = time.time()
    uptime = lambda: subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    header = [f"# attend vs llama.cpp vs torch — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}",
              "", f"Command: `{' '.join(sys.argv)}`", "", f"Load at start: `{uptime()}`"]
    print("\n".join(header), flush=True)
    machine = [run_json([a.attend, "bench", "--machine", "--threads", a.threads, "--json"], 1, log)]
    results = []  # every JSON line, with "round"
    info = {}
    floor = per_token_floor(a, work, threads, log)
    for shape, weights, workload in configs(a):
        path = None
        if workload != "train":
            path = os.path.join(work, f"{shape}-{weights}.gguf")
            if not os.path.exists(path):
                for old in [f for f in os.listdir(work) if f.endswith(".gguf")]:
                    os.remove(os.path.join(work, old))  # one file on disk at a time
                run_json([a.attend, "bench", "--write-gguf", "--shape", shape, "--weights", weights, "--file", path], 1, log, False)
        peers = [x for x in a.peers if not (workload == "train" and x == "llama.cpp")]
        failed = set()
        for t in threads:
            for rnd in range(a.runs):
                order = peers[rnd % len(peers):] + peers[:rnd % len(peers)]  # rotate who runs first
                for peer in order:
                    if peer in failed:
                        continue
                    if peer == "torch" and weights == "q8_0":
                        results.append(dict(peer=peer, workload=workload, shape=shape, weights=weights, threads=t, round=rnd,
                                            error="q8_0 blocks have no torch equivalent"))
                        failed.add(peer)
                        continue
                    lines = run_json(peer_command(a, peer, workload, shape, weights, path, t), t, log)
                    if lines is None:
                        failed.add(peer)
                        results.append(dict(peer=peer, workload=workload, shape=shape, weights=weights, threads=t, round=rnd,
                                            error="skipped (77): not installed"))
                        continue
                    r = lines[0]
                    r.update(shape=shape, weights=weights, round=rnd, threads=t)
                    if "error" in r:
                        failed.add(peer)  # e.g. torch's f16 products: once is enough
                    else:
                        check(r, workload, shape, weights, a)
                    for k in ("system_info", "ggml_cpu_backend", "flash_attention", "torch", "cpu_capability", "isa"):
                        if k in r:
                            info[f"{peer} {k}"] = r[k]
                    results.append(r)
                    print(f"  {shape} {weights} {workload} t{t} round {rnd}: {peer} "
                          f"{r.get('tokens_per_s', float('nan')):.2f} tokens/s {r.get('error', '')}", file=sys.stderr, flush=True)
    machine.append(run_json([a.attend, "bench", "--machine", "--threads", a.threads, "--json"], 1, log))
    with open(os.path.join(work, "results.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    md = tables(a, results, machine, threads, info)
    if floor:
        md += ["Per-token floor (decode of the `tiny` model, 2 layers × 128, 1.7 MB; what each runtime spends per token beyond "
               "the model's work: node-llama-cpp's JavaScript binding included), ms/token, median of 3: "
               + "; ".join(f"{k}: {v:.3f}" for k, v in floor.items()), ""]
    kept = work if a.workdir else os.path.join(tempfile.gettempdir(), "attend_peers_last")
    md += [f"", f"Load at end: `{uptime()}`; {time.time() - started:.0f} s in all. Raw runs: {kept}/results.jsonl, log: {kept}/runs.log"]
    print("\n".join(md), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(header + md) + "\n")
    for f in os.listdir(work):
        if f.endswith(".gguf"):
            os.remove(os.path.join(work, f))
    if not a.workdir:
        log.close()
        shutil.rmtree(kept, ignore_errors=True)
        shutil.move(work, kept)
    return 0


def per_token_floor(a, work, threads, log):
    """ms per decoded token of the tiny model: the per-token overhead each runtime adds."""
    path = os.path.join(work, "tiny-floor.gguf")
    run_json([a.attend, "bench", "--write-gguf", "--shape", "tiny", "--weights", "f32", "--file", path], 1, log, False)
    b = argparse.Namespace(**vars(a))
    b.tokens, b.new_tokens, b.per_process = 128, 32, 3
    out = {}
    for t in threads:
        for peer in [p for p in a.peers if p != "torch"]:
            lines = run_json(peer_command(b, peer, "decode", "tiny", "f32", path, t), t, log)
            if lines:
                out[f"{peer} {t} thread{'s' if t > 1 else ''}"] = 1e3 / lines[0]["tokens_per_s"]
    os.remove(path)
    return out


# ---- the tables ----------------------------------------------------------------------------------
def stat(xs):
    return statistics.median(xs), min(xs), max(xs)


def fmt(xs, digits=1):
    if not xs:
        return "n/a"
    m, lo, hi = stat(xs)
    return f"{m:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def tables(a, results, machine, threads, info):
    peak = {t: max(m["fma_peak_gflops"] for ms in machine for m in ms if m["threads"] == t) for t in threads}
    bf16 = {t: max(m["bf16_peak_gflops"] for ms in machine for m in ms if m["threads"] == t) for t in threads}
    bw = {t: max(m["read_bw_gbs"] for ms in machine for m in ms if m["threads"] == t) for t in threads}
    md = ["", "## The instruments (`attend bench --machine`, start and end; the larger)", "",
          "| threads | FMA peak f32 GFLOP/s | bf16 dot peak GFLOP/s | read bandwidth GB/s |", "|---|---|---|---|"]
    for t in threads:
        md.append(f"| {t} | {peak[t]:.1f} | {bf16[t]:.1f} | {bw[t]:.1f} |")
    md += ["", "Peers: " + "; ".join(f"{k}: `{v}`" for k, v in sorted(info.items())), ""]

    def sel(peer, workload, shape, weights, t):
        return [r for r in results if r["peer"] == peer and r["workload"] == workload and r["shape"] == shape and r["weights"] == weights
                and r["threads"] == t]

    def tps(rs):
        return [r["tokens_per_s"] for r in rs if "tokens_per_s" in r]

    def ratio(ra, rp):
        by = {r["round"]: r["tokens_per_s"] for r in rp if "tokens_per_s" in r}
        rs = [r["tokens_per_s"] / by[r["round"]] for r in ra if "tokens_per_s" in r and r["round"] in by]
        return fmt(rs, 2) if rs else na(rp)

    def na(rs):
        errs = [r["error"] for r in rs if "error" in r]
        return f"n/a: {errs[0]}" if errs else "n/a"

    def cell(rs, digits=1):
        return fmt(tps(rs), digits) if tps(rs) else na(rs)

    peers = [p for p in ("llama.cpp", "torch") if p in a.peers]
    for workload in ("prefill", "decode"):
        keys = sorted({(r["shape"], r["weights"]) for r in results if r["workload"] == workload},
                      key=lambda k: (a.models.index(k[0]), list(WEIGHT_BYTES).index(k[1])))
        if not keys:
            continue
        if workload == "prefill":
            md += [f"## Prefill: {a.tokens} prompt tokens into an empty cache, tokens/s (median, min–max of {a.runs} rounds)", "",
                   "GFLOP/s count the products, causal attention and the output head for the last row only (what generation needs; "
                   "all three compute that row alone: attend through Decoder::step_last). % of the f32 FMA peak at the same thread count; bf16 rows: % of the bf16 dot peak "
                   "(vdpbf16ps, the machine's limit for bf16 products: torch's bf16 products ran above the f32 FMA peak in the smoke runs; "
                   "attend and llama.cpp may widen bf16 to f32). attend's bf16 rows: "
                   + ("activations rounded to bf16, vdpbf16ps products (--attend-bf16-activations)." if a.attend_bf16_activations
                      else "f32 activations, bf16 weights widened to f32 (its default)."), ""]
            head = "| model | weights | threads | attend tokens/s | attend GFLOP/s (% peak) |"
            for p in peers:
                head += f" {p} tokens/s | {p} GFLOP/s (% peak) | attend / {p} |"
        else:
            md += [f"## Decode: prompt {a.tokens - a.new_tokens} tokens, then {a.new_tokens} greedy tokens timed (context {a.tokens}), "
                   f"tokens/s (median, min–max of {a.runs} rounds)", "",
                   f"GB/s = weight bytes per token (every product's weights in the stored format + one embedding row) × tokens/s; % of "
                   f"the measured read bandwidth. KV cache: attend {a.attend_kv}, llama.cpp {a.llama_kv} (flash attention {a.llama_flash}), torch in "
                   f"the weight dtype. "
                   f"'same tokens': how many of the first 8 greedy tokens llama.cpp chose as attend did (same file, same prompt; "
                   f"random weights leave near ties, so fewer agree where llama.cpp rounds: its f16 KV cache, its 8-bit activations "
                   f"in q8_0 products. ctest gguf_llama_cpp_decode asks for agreement with f32 weights and an f32 cache).", ""]
            head = "| model | weights | threads | attend tokens/s | attend GB/s (% bw) |"
            for p in peers:
                head += f" {p} tokens/s | {p} GB/s (% bw) | attend / {p} |"
            head += " same tokens |"
        md += [head, "|" + "---|" * (head.count("|") - 1)]
        for shape, weights in keys:
            s = SHAPES[shape]
            for t in threads:
                ra = sel("attend", workload, shape, weights, t)
                if workload == "prefill":  # FLOPs or weight bytes per token, against the peak or the bandwidth
                    # bf16 weights: the machine's limit for bf16 products is the bf16 dot peak (torch uses it)
                    work, lim = prefill_flops(s, a.tokens, 1) / a.tokens, bf16[t] if weights == "bf16" and bf16[t] > 0 else peak[t]
                else:
                    work, lim = decode_weight_bytes(s, weights), bw[t]

                def rate(rs):
                    v = tps(rs)
                    if not v:
                        return "n/a"
                    m = statistics.median(v) * work / 1e9
                    return f"{m:.1f} ({100 * m / lim:.0f} %)"

                row = f"| {shape} | {weights} | {t} | {cell(ra, 1 if workload == 'prefill' else 2)} | {rate(ra)} |"
                for p in peers:
                    rp = sel(p, workload, shape, weights, t)
                    row += f" {cell(rp, 1 if workload == 'prefill' else 2)} | {rate(rp)} | {ratio(ra, rp)} |"
                if workload == "decode":
                    fa = next((r["first_tokens"] for r in ra if "first_tokens" in r), None)
                    fl = next((r["first_tokens"] for r in sel("llama.cpp", workload, shape, weights, t) if "first_tokens" in r), None)
                    same = sum(1 for _ in itertools.takewhile(lambda x: x[0] == x[1], zip(fa, fl))) if fa and fl else None
                    row += f" {same if same is not None else 'n/a'}/8 |"
                md.append(row)
        md.append("")
    train = sorted({r["shape"] for r in results if r["workload"] == "train"})
    if train:
        md += [f"## Training on byte-level text: batch {a.batch} × context 256, {a.steps} AdamW steps per timed run, tokens/s "
               f"(median, min–max of {a.runs} rounds)", "",
               "Model GFLOP/s: 6 × product weights × tokens + 12 × layers × width × context × tokens (PaLM's count); % of the f32 FMA "
               "peak. GPT-2-style models (LayerNorm, learned positions, GELU, tied head); torch: f32, attention written out "
               "(torch 1.13 has no fused attention).", "",
               "| model | threads | attend tokens/s | attend GFLOP/s (% peak) | torch tokens/s | torch GFLOP/s (% peak) | attend / torch |",
               "|---|---|---|---|---|---|---|"]
        for shape in train:
            s = SHAPES[shape]
            f = train_flops_per_token(s, s[6])
            for t in threads:
                ra, rt = sel("attend", "train", shape, "f32", t), sel("torch", "train", shape, "f32", t)

                def g(rs):
                    v = tps(rs)
                    return f"{statistics.median(v) * f / 1e9:.1f} ({100 * statistics.median(v) * f / 1e9 / peak[t]:.0f} %)" if v else "n/a"

                md.append(f"| {shape} | {t} | {cell(ra, 0)} | {g(ra)} | {cell(rt, 0)} | {g(rt)} | {ratio(ra, rt)} |")
        md.append("")
    return md


if __name__ == "__main__":
    sys.exit(main())
