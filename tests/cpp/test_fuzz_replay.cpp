// Replays every checked-in fuzz input (seed corpus and regressions) of the parser fuzzers through
// the same functions the fuzzers call (tests/fuzz/fuzz_inputs.h), plus one test per bug fuzzing or
// the header audit found, asserting the error names the offending field.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "../fuzz/fuzz_inputs.h"
#include "attend/io.h"

namespace attend {
namespace {

// Returns {inputs seen, inputs accepted}.
std::pair<int, int> replay(const std::string& name, bool (*fn)(std::string_view)) {
  int seen = 0, accepted = 0;
  for (const char* sub : {"/tests/fuzz/corpus/", "/tests/fuzz/regressions/"}) {
    const std::filesystem::path dir = std::string(ATTEND_SOURCE_DIR) + sub + name;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      SCOPED_TRACE(f.path().string());
      accepted += fn(read_file(f.path().string())) ? 1 : 0;
      ++seen;
    }
  }
  return {seen, accepted};
}

// The valid seeds (written by attend's writers) must be accepted, the edge cases rejected.
TEST(FuzzRegressions, SafetensorsInputsParseOrThrow) {
  const auto [seen, accepted] = replay("safetensors", fuzz::safetensors_input);
  EXPECT_GE(seen, 6);
  EXPECT_EQ(accepted, 4);  // f32 x2, f16, bf16
}
TEST(FuzzRegressions, ModelInputsLoadOrThrow) {
  const auto [seen, accepted] = replay("model", fuzz::model_input);
  EXPECT_GE(seen, 7);
  EXPECT_EQ(accepted, 4);  // attend learned, attend RoPE/GQA, GPT-2, GPT-2 prefixed
}
TEST(FuzzRegressions, GgufInputsParseOrThrow) {
  const auto [seen, accepted] = replay("gguf", fuzz::gguf_input);
  EXPECT_GE(seen, 7);
  EXPECT_EQ(accepted, 3);  // all types, tokenizer at alignment 64 (v2), adjacent f32 tensors
}
TEST(FuzzRegressions, LinksInputsParseOrThrow) {
  const auto [seen, accepted] = replay("links", fuzz::links_input);
  EXPECT_GE(seen, 4);
  EXPECT_EQ(accepted, 3);  // valid, CRLF without header, stakes near 2^64 (focus must stay finite)
}

TEST(FuzzRegressions, HfConfigInputsParseOrThrow) {
  const auto [seen, accepted] = replay("hf_config", fuzz::hf_config_input);
  EXPECT_GE(seen, 7);
  EXPECT_EQ(accepted, 4);  // gpt2, llama (GQA, llama3 RoPE scaling, untied), qwen2 (tied), mistral (sliding window)
}

TEST(FuzzRegressions, TokenizerInputsParseOrThrow) {
  const auto [seen, accepted] = replay("tokenizer", fuzz::tokenizer_input);
  EXPECT_GE(seen, 11);
  EXPECT_EQ(accepted, 8);  // byte-level/Llama-2/Metaspace tokenizer.json, GPT-2 files, SentencePiece, tiktoken, two VocabSpecs
}

// safetensors bytes: u64 header length, header, data.
std::string safetensors_raw(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected attend::Error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// A config that would need terabytes must fail on the count of values in the file, before any
// allocation (previously Model::Impl allocated params and grads first).
TEST(FuzzRegressions, HugeAttendConfigIsRejectedBeforeAllocating) {
  const std::string cfg =
      R"({"vocab":16777216,"context":1048576,"d_model":65536,"layers":256,"heads":1,"kv_heads":1,"d_ff":262144,)"
      R"("norm":"layernorm","position":"learned","mlp":"gelu","tied_embeddings":true,"rope_base":10000.0,"norm_eps":1e-5,"bias":true})";
  nlohmann::json h = {{"__metadata__", {{"attend_config", cfg}}}, {"x", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4}}}}};
  const std::string bytes = safetensors_raw(h.dump(), std::string(4, '\0'));
  expect_error([&] { (void)nn::load_model_file(parse_safetensors(bytes, "m"), "m"); }, "file holds only 1 values");
}

// Float where an integer belongs: converting 1e30 to int64 is undefined behaviour (UBSan).
TEST(FuzzRegressions, FloatConfigFieldIsRejected) {
  const std::string cfg =
      R"({"vocab":1e30,"context":4,"d_model":4,"layers":1,"heads":1,"kv_heads":1,"d_ff":4,)"
      R"("norm":"layernorm","position":"learned","mlp":"gelu","tied_embeddings":true,"rope_base":10000.0,"norm_eps":1e-5,"bias":true})";
  nlohmann::json h = {{"__metadata__", {{"attend_config", cfg}}}};
  expect_error([&] { (void)nn::load_model_file(parse_safetensors(safetensors_raw(h.dump(), ""), "m"), "m"); },
               "'vocab' is not an integer");
}

// GPT-2 layout: n_head metadata that is not a number used to escape as std::invalid_argument.
TEST(FuzzRegressions, Gpt2NonNumericHeadCountIsRejected) {
  nlohmann::json h = {{"__metadata__", {{"n_head", "twelve"}}}};
  std::uint64_t pos = 0;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    std::uint64_t n = 1;
    for (auto s : shape) n *= static_cast<std::uint64_t>(s);
    h[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {pos, pos + 4 * n}}};
    pos += 4 * n;
  };
  add("wte.weight", {4, 2});
  add("wpe.weight", {2, 2});
  add("h.0.ln_1.weight", {2});
  add("h.0.mlp.c_fc.weight", {2, 4});
  expect_error([&] { (void)nn::load_model_file(parse_safetensors(safetensors_raw(h.dump(), std::string(pos, '\0')), "g"), "g"); },
               "n_head 'twelve'");
}

}  // namespace
}  // namespace attend
