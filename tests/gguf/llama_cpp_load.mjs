// Loads a GGUF file written by attend (tests/gguf/tiny_llama.cpp) in llama.cpp, through the npm
// package node-llama-cpp and its prebuilt CPU build (@node-llama-cpp/linux-x64), and compares the
// next-token probabilities of one-token prompts with those attend computed from its dequantized
// weights. llama.cpp rounds the activations to 8 bits inside its quantized products and keeps V
// in an f16 cache, so the two agree closely but not exactly: the test asks for the same most
// likely token and a total variation distance ≤ 0.1 (a wrong block layout gives ~0.9).
// Usage: node llama_cpp_load.mjs MODEL.gguf EXPECTED.json. Exits 77 (skip) without node-llama-cpp.
import fs from "node:fs";

let nlc;
try {
  nlc = await import("node-llama-cpp");
} catch {
  console.log("skip: node-llama-cpp is not installed (npm install in tests/gguf)");
  process.exit(77);
}
const [modelPath, expectedPath] = process.argv.slice(2);
const expected = JSON.parse(fs.readFileSync(expectedPath, "utf8"));
const llama = await nlc.getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 256 });
const sequence = context.getSequence();
let failed = 0;
for (const prompt of expected.prompts) {
  await sequence.clearHistory();
  const generator = sequence.evaluateWithMetadata([prompt.token], { probabilities: true });
  const { value } = await generator.next();
  await generator.return();
  const want = prompt.probabilities;
  let tv = 0;
  for (let v = 0; v < want.length; v++) tv += Math.abs((value.probabilities.get(v) ?? 0) - want[v]);
  tv /= 2;
  const wantTop = want.indexOf(Math.max(...want));
  const gotTop = value.probabilities.entries().next().value[0];
  const ok = tv <= 0.1 && gotTop === wantTop;
  failed += ok ? 0 : 1;
  console.log(`token ${prompt.token}: top ${gotTop} (attend ${wantTop}), total variation ${tv.toFixed(4)} ${ok ? "ok" : "FAIL"}`);
}
await context.dispose();
await model.dispose();
console.log(`llama.cpp loaded attend's GGUF: ${expected.prompts.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
