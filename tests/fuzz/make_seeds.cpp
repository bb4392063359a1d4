// Writes the seed corpora of the parser fuzzers with attend's own writers (run once; the output
// is checked in under tests/fuzz/corpus/). Not part of the build:
//   g++ -std=c++20 -Iinclude -Isrc tests/fuzz/make_seeds.cpp build/libattend.a -lopenblas -lpng
//       -lpcre2-8 -licuuc -licudata -lsentencepiece -o /tmp/make_seeds
//   /tmp/make_seeds tests/fuzz/corpus
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "attend/gguf.h"
#include "attend/io.h"
#include "attend/model.h"
#include "attend/safetensors.h"
#include "text/byte_level.h"

using namespace attend;

namespace {

std::string raw(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

nn::ModelConfig tiny(nn::PositionKind pos) {
  nn::ModelConfig c;
  c.vocab = 6;
  c.context = 4;
  c.d_model = 4;
  c.layers = 1;
  c.heads = 2;
  c.kv_heads = pos == nn::PositionKind::rope ? 1 : 2;
  c.d_ff = 4;
  c.position = pos;
  if (pos == nn::PositionKind::rope) {
    c.norm = nn::NormKind::rmsnorm;
    c.mlp = nn::MlpKind::swiglu;
    c.bias = false;
    c.tied_embeddings = false;
  }
  return c;
}

// The GPT-2 (Hugging Face) layout of a tiny model: V = 6, context 4, E = 4, F = 8, one layer.
void write_gpt2(const std::string& path, bool prefixed) {
  const std::int64_t V = 6, C = 4, E = 4, F = 8;
  std::vector<std::vector<float>> store;
  std::vector<SafeTensorRef> refs;
  const std::string pre = prefixed ? "transformer." : "";
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    store.emplace_back(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) store.back()[static_cast<std::size_t>(i)] = 0.01f * static_cast<float>(i % 13) - 0.05f;
    refs.push_back({pre + name, std::move(shape), nullptr});
  };
  store.reserve(32);
  add("wte.weight", {V, E});
  add("wpe.weight", {C, E});
  add("h.0.ln_1.weight", {E});
  add("h.0.ln_1.bias", {E});
  add("h.0.attn.c_attn.weight", {E, 3 * E});
  add("h.0.attn.c_attn.bias", {3 * E});
  add("h.0.attn.c_proj.weight", {E, E});
  add("h.0.attn.c_proj.bias", {E});
  add("h.0.ln_2.weight", {E});
  add("h.0.ln_2.bias", {E});
  add("h.0.mlp.c_fc.weight", {E, F});
  add("h.0.mlp.c_fc.bias", {F});
  add("h.0.mlp.c_proj.weight", {F, E});
  add("h.0.mlp.c_proj.bias", {E});
  add("ln_f.weight", {E});
  add("ln_f.bias", {E});
  for (std::size_t i = 0; i < refs.size(); ++i) refs[i].data = store[i].data();
  // Both carry n_head: a lone GPT-2 file without it is refused (no tensor shows the head count).
  write_safetensors(path, refs, {{"n_head", "2"}});
}

// GGUF seeds through attend's writer: every metadata type (nested arrays too) and every tensor
// type attend converts; a tokenizer-like file at alignment 64 patched to version 2.
std::string gguf_all_types() {
  gguf::Writer w;
  w.set("general.architecture", "llama");
  w.set("u8", std::uint8_t{1});
  w.set("i8", std::int8_t{-1});
  w.set("u16", std::uint16_t{2});
  w.set("i16", std::int16_t{-2});
  w.set("u32", std::uint32_t{3});
  w.set("i32", std::int32_t{-3});
  w.set("f32", 0.5f);
  w.set("bool", true);
  w.set("u64", std::uint64_t{4});
  w.set("i64", std::int64_t{-4});
  w.set("f64", 0.25);
  w.set("strings", std::vector<std::string>{"a", "", "bc"});
  w.set("nested", std::vector<gguf::Array>{gguf::Array(std::vector<std::int16_t>{1, -1}), gguf::Array(std::vector<bool>{true})});
  static std::vector<float> x(256);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(i % 29) - 0.1f;
  for (GgmlType t : {GgmlType::f32, GgmlType::f16, GgmlType::bf16, GgmlType::q8_0, GgmlType::q4_0, GgmlType::q4_K, GgmlType::q6_K})
    w.add_tensor_f32(std::string(ggml_type_name(t)), {256}, t, x.data());
  return w.bytes();
}

std::string gguf_tokenizer_v2() {
  gguf::Writer w;
  w.set_alignment(64);
  w.set("general.architecture", "gpt2");
  w.set("tokenizer.ggml.model", "gpt2");
  w.set("tokenizer.ggml.tokens", std::vector<std::string>{"!", "\"", "he", "llo", "\xc4\xa0"});
  w.set("tokenizer.ggml.scores", std::vector<float>{0, -1, -2, -3, -4});
  w.set("tokenizer.ggml.token_type", std::vector<std::int32_t>{1, 1, 1, 1, 3});
  w.set("tokenizer.ggml.merges", std::vector<std::string>{"h e", "l lo"});
  w.set("gpt2.context_length", std::uint32_t{8});
  static std::vector<float> x(512, 0.125f);
  w.add_tensor_f32("token_embd.weight", {256, 2}, GgmlType::q4_K, x.data());
  w.add_tensor_f32("output_norm.weight", {4}, GgmlType::f32, x.data());
  std::string b = w.bytes();
  b[4] = 2;  // version 2 has the layout of version 3
  return b;
}

std::string gguf_with_version(std::uint32_t v) {  // a valid file with another version field
  std::string b = gguf_all_types();
  std::memcpy(&b[4], &v, 4);
  return b;
}

// One f32 tensor of 8 elements at `offset`, the second at `offset2` (raw, from the spec).
std::string gguf_raw_tensors(std::uint32_t type, std::uint64_t offset2) {
  std::string o = "GGUF";
  auto u32 = [&](std::uint32_t v) { o.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&](std::uint64_t v) { o.append(reinterpret_cast<const char*>(&v), 8); };
  u32(3);
  u64(2);
  u64(0);
  for (std::uint64_t t = 0; t < 2; ++t) {
    u64(1);
    o += static_cast<char>('a' + t);
    u32(1);
    u64(8);
    u32(t == 0 ? 0 : type);
    u64(t == 0 ? 0 : offset2);
  }
  o.append((32 - o.size() % 32) % 32, '\0');
  return o + std::string(96, '\0');
}

// Tokenizer seeds (fuzz_inputs.h tokenizer_input: first byte = format).
std::string varint(std::uint64_t v) {
  std::string out;
  do {
    out.push_back(static_cast<char>((v & 0x7F) | (v > 0x7F ? 0x80 : 0)));
    v >>= 7;
  } while (v);
  return out;
}
std::string pb_bytes(int field, const std::string& payload) { return varint(static_cast<std::uint64_t>(field) << 3 | 2) + varint(payload.size()) + payload; }
std::string pb_varint(int field, std::uint64_t v) { return varint(static_cast<std::uint64_t>(field) << 3) + varint(v); }
std::string pb_float(int field, float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  std::string out = varint(static_cast<std::uint64_t>(field) << 3 | 5);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
  return out;
}

void write_tokenizer_seeds(const std::string& dir) {
  using nlohmann::json;
  const std::string sp = "\xE2\x96\x81";
  // Byte-level BPE (GPT-2 / Llama 3 layout): 256 byte characters, a few merges, added tokens, template.
  json vocab = json::object();
  const auto& chars = text::detail::byte_chars();
  for (int b = 0; b < 256; ++b) vocab[chars[static_cast<std::size_t>(b)]] = b;
  const std::string G = chars[' '];
  for (const std::string& t : std::vector<std::string>{"he", "ll", "hell", "hello", G + "w", G + "wo"}) vocab[t] = vocab.size();
  json bl = {{"version", "1.0"},
             {"added_tokens", json::array({{{"id", 262}, {"content", "<|bos|>"}, {"special", true}, {"normalized", false}},
                                           {{"id", 263}, {"content", "<tool>"}, {"special", false}, {"normalized", true}, {"lstrip", true}}})},
             {"normalizer", {{"type", "NFC"}}},
             {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", json::array({
                  {{"type", "Split"}, {"pattern", {{"Regex", "(?i:'s|'t)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}}}, {"behavior", "Isolated"}},
                  {{"type", "Digits"}, {"individual_digits", true}},
                  {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
             {"post_processor", {{"type", "TemplateProcessing"},
                                 {"single", json::array({{{"SpecialToken", {{"id", "<|bos|>"}}}}, {{"Sequence", {{"id", "A"}}}}})},
                                 {"special_tokens", {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {262}}}}}}}},
             {"decoder", {{"type", "ByteLevel"}}},
             {"model", {{"type", "BPE"}, {"vocab", vocab}, {"ignore_merges", true},
                        {"merges", json::array({"h e", "l l", "he ll", "hell o", G + " w", json::array({G + "w", "o"})})}}}};
  write_file_atomically(dir + "/tokenizer/j_byte_level.json", "j" + bl.dump());
  // Llama-2 layout: Prepend/Replace, byte fallback, decoder chain; with a tokenizer_config.json.
  json lv = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {"<0x0A>", 3}, {"<0xC3>", 4}, {"<0xA9>", 5}, {sp, 6}, {"a", 7}, {"b", 8}, {sp + "a", 9}, {"ab", 10}};
  json ll = {{"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}}, {{"id", 1}, {"content", "<s>"}, {"special", true}},
                                           {{"id", 2}, {"content", "</s>"}, {"special", true}}})},
             {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", sp}},
                                                                                 {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", sp}}})}}},
             {"decoder", {{"type", "Sequence"}, {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", sp}}}, {"content", " "}},
                                                                           {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                                           {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
             {"model", {{"type", "BPE"}, {"vocab", lv}, {"merges", {sp + " a", "a b"}}, {"byte_fallback", true}, {"fuse_unk", true}, {"unk_token", "<unk>"}}}};
  write_file_atomically(dir + "/tokenizer/j_llama2.json", "j" + ll.dump() + std::string(1, '\0') + R"({"add_bos_token": true, "bos_token": "<s>"})");
  // Mistral layout: Metaspace.
  ll.erase("normalizer");
  ll["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", sp}, {"prepend_scheme", "first"}, {"split", false}};
  write_file_atomically(dir + "/tokenizer/j_metaspace.json", "j" + ll.dump());
  write_file_atomically(dir + "/tokenizer/j_wordpiece.json", R"(j{"model": {"type": "WordPiece", "vocab": {}}})");
  write_file_atomically(dir + "/tokenizer/j_bad_regex.json",
                        R"(j{"model": {"vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(["}, "behavior": "Isolated"}})");
  // GPT-2 vocab.json + merges.txt.
  json gv = {{"h", 0}, {"i", 1}, {"hi", 2}, {G, 3}, {G + "hi", 4}, {"!", 5}, {"<|endoftext|>", 6}};
  write_file_atomically(dir + "/tokenizer/g_gpt2.txt", "g" + gv.dump() + std::string(1, '\0') + "#version: 0.2\nh i\n" + G + " hi\n");
  // SentencePiece model (protobuf written here): BPE pieces, identity normalizer with dummy prefix.
  std::string model;
  const std::vector<std::tuple<std::string, float, int>> pieces = {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}, {sp + "a", -1, 1},
                                                                    {"ab", -2, 1}, {sp, -3, 1}, {"a", -4, 1}, {"b", -5, 1}};
  for (const auto& [p, score, type] : pieces) model += pb_bytes(1, pb_bytes(1, p) + pb_float(2, score) + pb_varint(3, static_cast<std::uint64_t>(type)));
  model += pb_bytes(2, pb_varint(3, 2));
  model += pb_bytes(3, pb_bytes(1, "identity") + pb_varint(3, 1) + pb_varint(4, 0));
  write_file_atomically(dir + "/tokenizer/s_bpe.model", "s" + model);
  write_file_atomically(dir + "/tokenizer/s_truncated.model", "s" + model.substr(0, model.size() / 2));
  // tiktoken ranks: the 256 bytes and two merges.
  std::string ranks;
  static const char* k64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int b = 0; b < 256; ++b) ranks += std::string{k64[b >> 2], k64[(b & 3) << 4], '=', '='} + " " + std::to_string(b) + "\n";
  ranks += "aGU= 256\naGVs 257\n";  // "he", "hel"
  write_file_atomically(dir + "/tokenizer/t_ranks.tiktoken", "t" + ranks);
  // GGUF VocabSpec lines: "type score token".
  write_file_atomically(dir + "/tokenizer/v_llama.txt", "vllama\ndefault\n20 <unk>\n30 <s>\n30 </s>\n15 " + sp + "a\n14 a\n13 " + sp + "\n60 <0x62>\n");
  write_file_atomically(dir + "/tokenizer/v_gpt2.txt", "vgpt2\nsmollm\n10 h\n10 i\n30 <s>\n30 </s>\n10 hi\n\nh i\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  // safetensors: F32 via the writer (with metadata, an empty tensor, a scalar), F16/BF16 by hand.
  const float a[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
  write_safetensors(dir + "/safetensors/f32_2x3.safetensors", {{"a", {2, 3}, a}}, {{"format", "pt"}});
  write_safetensors(dir + "/safetensors/f32_multi.safetensors", {{"w", {3}, a}, {"empty", {0, 4}, a}, {"s", {}, a + 3}}, {});
  write_file_atomically(dir + "/safetensors/f16_2.safetensors",
                        raw(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", std::string("\x00\x3c\x00\xc0", 4)));
  write_file_atomically(dir + "/safetensors/bf16_2.safetensors",
                        raw(R"({"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[0,4]}})", std::string("\x80\x3f\x00\xc0", 4)));
  write_file_atomically(dir + "/safetensors/bad_offsets.safetensors",
                        raw(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(8, '\0')));
  write_file_atomically(dir + "/safetensors/bad_dtype.safetensors",
                        raw(R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')));
  // model: attend layout (learned/GELU and RoPE/SwiGLU/GQA), GPT-2 layout (plain and prefixed).
  nn::Model(tiny(nn::PositionKind::learned), 1).save(dir + "/model/attend_learned.safetensors");
  nn::Model(tiny(nn::PositionKind::rope), 2).save(dir + "/model/attend_rope_gqa.safetensors");
  write_gpt2(dir + "/model/gpt2.safetensors", false);
  write_gpt2(dir + "/model/gpt2_prefixed.safetensors", true);
  // gguf: valid files from the writer; a wrong version, big-endian, overlapping and unknown-type files.
  write_file_atomically(dir + "/gguf/all_types.gguf", gguf_all_types());
  write_file_atomically(dir + "/gguf/tokenizer_align64_v2.gguf", gguf_tokenizer_v2());
  write_file_atomically(dir + "/gguf/adjacent_f32.gguf", gguf_raw_tensors(0, 32));
  write_file_atomically(dir + "/gguf/version1.gguf", gguf_with_version(1));
  write_file_atomically(dir + "/gguf/big_endian.gguf", gguf_with_version(0x03000000));
  write_file_atomically(dir + "/gguf/overlap.gguf", gguf_raw_tensors(0, 0));
  write_file_atomically(dir + "/gguf/unknown_type.gguf", gguf_raw_tensors(4, 32));
  // links: "<links>\0<stakes>"
  auto links = [&](const std::string& name, const std::string& l, const std::string& s) {
    write_file_atomically(dir + "/links/" + name, l + std::string(1, '\0') + s);
  };
  links("valid.csv", "neuron,from,to\nn1,a,b\nn2,b,c\nn1,c,a\n", "neuron,stake\nn1,10\nn2,3\n");
  links("crlf_no_header.csv", "n1,a,b\r\nn1,b,a\r\n", "n1,18446744073709551615\r\n");
  links("unknown_neuron.csv", "neuron,from,to\nn9,a,b\n", "neuron,stake\nn1,1\n");
  links("bad_stake.csv", "neuron,from,to\nn1,a,b\n", "neuron,stake\nn1,-4\n");
  write_tokenizer_seeds(dir);
  return 0;
}
