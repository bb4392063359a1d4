// llama.cpp's side of the runtime benchmarks (bench/scripts/runtime_peers.py, issue 24), through the
// npm package node-llama-cpp and its prebuilt CPU build (@node-llama-cpp/linux-x64), the install
// scripts/setup.sh makes in tests/gguf/node_modules. Prints one JSON line per workload, with the
// fields `attend bench --prefill/--generate --json` prints for attend.
//   prefill: T prompt tokens into an empty sequence, timed to the first generated token (what a
//            user waits for; llama.cpp computes the logits of the last row only)
//   decode:  prefill C − n tokens (untimed), then n greedy tokens timed one by one (context C)
// The prompt is the same formula as bench/runtime_counts.h's bench_token (token_sum checks it).
// Usage: node llama_cpp_peer.mjs --model M.gguf --workload prefill|decode --threads N --runs R
//        --tokens T [--new-tokens n] [--kv f32|f16] [--flash default|on|off|auto] [--node-modules DIR]
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const args = { flash: "default", kv: "f16", "new-tokens": "32", runs: "5", threads: "1", tokens: "1024" };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = args["node-modules"] ?? path.join(here, "..", "..", "tests", "gguf", "node_modules");
let nlc;
try {
  nlc = await import(pathToFileURL(path.join(nodeModules, "node-llama-cpp", "dist", "index.js")).href);
} catch (e) {
  console.error(`skip: node-llama-cpp is not installed in ${nodeModules} (scripts/setup.sh installs it): ${e.message}`);
  process.exit(77);
}
const threads = Number(args.threads), runs = Number(args.runs), tokens = Number(args.tokens), newTokens = Number(args["new-tokens"]);
const workload = args.workload;
if (!["prefill", "decode"].includes(workload) || !args.model) {
  console.error("usage: node llama_cpp_peer.mjs --model M.gguf --workload prefill|decode --threads N --runs R --tokens T");
  process.exit(2);
}
const kvType = { f32: "F32", f16: "F16" }[args.kv];
const llama = await nlc.getLlama({ gpu: false, build: "never", logLevel: "error", maxThreads: threads });
const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
// contextSize = tokens + 64: node-llama-cpp shifts the context (erases its start and evaluates the
// rest again, ~900 tokens inside the timed decode) when a sequence reaches contextSize; the slack
// keeps every timed step a plain one-token step (checked below through nextTokenIndex). The KV
// cells beyond the used ones are not read (attention covers the used cells).
const context = await model.createContext({
  contextSize: tokens + 64, batchSize: tokens, sequences: 1, threads: { ideal: threads, min: threads },
  experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType,
  ...(args.flash === "default" ? {} : { flashAttention: args.flash === "on" ? true : args.flash === "off" ? false : "auto" }),
});
const sequence = context.getSequence();
const prompt = [];
let tokenSum = 0;
const promptLength = workload === "prefill" ? tokens : tokens - newTokens;
for (let i = 0; i < promptLength; i++) {
  const t = 3 + ((i * 7919 + 11) % (nVocab - 3));
  prompt.push(t);
  tokenSum += t;
}

// Feeds `p` into a cleared sequence; returns [seconds to the first generated token, generator, token].
async function prefill(p) {
  await sequence.clearHistory();
  const t0 = process.hrtime.bigint();
  const gen = sequence.evaluate(p, { temperature: 0 });
  const { value } = await gen.next();
  return [Number(process.hrtime.bigint() - t0) / 1e9, gen, value];
}

const secs = [];
let first = [];
if (workload === "prefill") {
  const [, warm] = await prefill(prompt.slice(0, 64));  // warm-up: pages in the weights, starts the threads
  await warm.return();
  for (let r = 0; r < runs; r++) {
    const [s, gen] = await prefill(prompt);
    await gen.return();
    secs.push(s);
    if (sequence.nextTokenIndex !== tokens) {
      console.error(`llama_cpp_peer: the sequence holds ${sequence.nextTokenIndex} tokens, not ${tokens}`);
      process.exit(1);
    }
  }
} else {
  const [, warm] = await prefill(prompt.slice(0, 64));  // warm-up: a short prefill and two steps
  for (let i = 0; i < 2; i++) await warm.next();
  await warm.return();
  for (let r = 0; r < runs; r++) {
    const [, gen, tok] = await prefill(prompt);  // untimed prefill
    const out = [tok];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < newTokens; i++) out.push((await gen.next()).value);
    secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (sequence.nextTokenIndex !== promptLength + newTokens) {
      console.error(`llama_cpp_peer: the sequence holds ${sequence.nextTokenIndex} tokens, not ${promptLength + newTokens} (a context shift?)`);
      process.exit(1);
    }
    await gen.return();
    if (r === 0) first = out.slice(0, 8);
  }
}
// Which of the prebuilt's CPU backends ggml loaded (it ships one per x86 level and picks by CPU features).
const maps = await import("node:fs").then((fs) => fs.readFileSync("/proc/self/maps", "utf8")).catch(() => "");
const variant = [...new Set(maps.match(/libggml-cpu[\w-]*\.so/g) ?? [])].join(",");
const sorted = [...secs].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
const n = workload === "prefill" ? tokens : newTokens;
const result = {
  peer: "llama.cpp", workload, file: args.model, threads, token_sum: tokenSum, runs_s: secs,
  tokens_per_s: n / median, tokens_per_s_min: n / sorted[sorted.length - 1], tokens_per_s_max: n / sorted[0],
  kv_cache: args.kv, system_info: llama.systemInfo, ggml_cpu_backend: variant, llama_cpp_release: llama.llamaCppRelease?.release ?? "",
  context_size: context.contextSize, batch_size: context.batchSize, flash_attention: context.flashAttention,
};
if (workload === "prefill") result.tokens = tokens;
else Object.assign(result, { prompt: promptLength, new_tokens: newTokens, first_tokens: first });
console.log(JSON.stringify(result));
await context.dispose();
await model.dispose();
