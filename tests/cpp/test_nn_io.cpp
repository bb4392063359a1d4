// safetensors round trip and hostile headers; model checkpoints (attend and GPT-2 layouts);
// resuming training continues the same loss curve.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "attend/error.h"
#include "attend/io.h"
#include "attend/model.h"
#include "attend/safetensors.h"
#include "attend/train.h"
#include "nn/model_impl.h"

namespace attend::nn {
namespace {

std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("attend_nn_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string with_header(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(NnSafetensors, RoundTripKeepsNamesShapesValuesAndMetadata) {
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -0.125f}, b = {42.0f};
  const std::string bytes = safetensors_bytes({{"w.a", {2, 3}, a.data()}, {"b", {1}, b.data()}, {"empty", {0, 4}, nullptr}},
                                              {{"k", "v"}});
  const SafetensorsFile f = parse_safetensors(bytes, "mem");
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors.at("w.a").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.tensors.at("w.a").values, a);
  EXPECT_EQ(f.tensors.at("b").values, b);
  EXPECT_TRUE(f.tensors.at("empty").values.empty());
  EXPECT_EQ(f.metadata.at("k"), "v");
  const std::string path = tmp_path("rt.safetensors");
  write_safetensors(path, {{"x", {3}, a.data()}}, {});
  EXPECT_EQ(read_safetensors(path).tensors.at("x").values, std::vector<float>(a.begin(), a.begin() + 3));
  std::filesystem::remove(path);
}

TEST(NnSafetensors, F16AndBf16AreConverted) {
  const std::uint16_t h[2] = {0x3C00, 0xC000};  // f16 1.0, -2.0
  const std::uint16_t bf[1] = {0x3FC0};         // bf16 1.5
  std::string data(reinterpret_cast<const char*>(h), 4);
  data.append(reinterpret_cast<const char*>(bf), 2);
  const SafetensorsFile f = parse_safetensors(
      with_header(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"g":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}})", data), "m");
  EXPECT_EQ(f.tensors.at("h").values, (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(f.tensors.at("g").values, (std::vector<float>{1.5f}));
}

TEST(NnSafetensors, HostileHeadersThrowNamingTheProblem) {
  const std::string d8(8, '\0');
  const std::pair<std::string, std::string> cases[] = {
      {"", "too short"},
      {std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}", "header length"},
      {with_header("{not json", d8), "not valid JSON"},
      {with_header("[1,2]", d8), "not a JSON object"},
      {with_header(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", d8), "unsupported dtype"},
      {with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", d8), "shape entry"},
      {with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8), "shape and dtype need 12"},
      {with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4000000000000]}})", d8), "outside the data section"},
      {with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8), "outside the data section"},
      {with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "overlap"},
      {with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8), "trailing"},
      {with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8), "data_offsets"},
      {with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", d8), "unknown field"},
      {with_header(R"({"__metadata__":{"k":5}})", ""), "not a string"},
      {with_header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", d8), "too large"},
  };
  for (const auto& [bytes, want] : cases) {
    try {
      parse_safetensors(bytes, "bad.safetensors");
      ADD_FAILURE() << "accepted: " << want;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("read_safetensors"), std::string::npos) << e.what();
    }
  }
}

ModelConfig small_config() {
  ModelConfig c;
  c.vocab = 13;
  c.context = 12;
  c.d_model = 16;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = 4;
  c.d_ff = 24;
  return c;
}

double max_diff(const Tensor& a, const Tensor& b) {
  double w = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) w = std::max(w, static_cast<double>(std::fabs(a.data_as<float>()[i] - b.data_as<float>()[i])));
  return w;
}

TEST(NnCheckpoint, SaveLoadRoundTripAndValidation) {
  ModelConfig c = small_config();
  c.norm = NormKind::rmsnorm;
  c.position = PositionKind::rope;
  c.mlp = MlpKind::swiglu;
  c.kv_heads = 2;
  c.tied_embeddings = false;
  const Model m(c, 9);
  const std::string path = tmp_path("model.safetensors");
  m.save(path);
  const Model back = Model::load(path);
  const std::vector<std::int32_t> tok = {1, 2, 3, 12, 0};
  EXPECT_EQ(max_diff(m.forward(tok), back.forward(tok)), 0.0);
  EXPECT_EQ(back.config().kv_heads, 2);
  // A checkpoint with a tensor of the wrong shape is refused, naming it.
  SafetensorsFile f = read_safetensors(path);
  std::vector<SafeTensorRef> refs;
  for (auto& [name, t] : f.tensors) refs.push_back({name, name == "h.1.attn.wk" ? std::vector<std::int64_t>{8, 16} : t.shape, t.values.data()});
  write_safetensors(path, refs, f.metadata);
  try {
    Model::load(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("h.1.attn.wk"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Model::load(path + ".missing"), Error);
  std::filesystem::remove(path);
}

// A checkpoint in the Hugging Face GPT-2 layout, written the way transformers names it.
TEST(NnCheckpoint, LoadsGpt2Layout) {
  const ModelConfig c = small_config();
  const Model ref(c, 17);
  const Model::Impl& m = ref.impl();
  const std::int64_t E = c.d_model, F = c.d_ff;
  std::vector<std::vector<float>> keep;
  std::vector<SafeTensorRef> refs;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, std::vector<float> v) {
    keep.push_back(std::move(v));
    refs.push_back({name, std::move(shape), keep.back().data()});
  };
  auto copy = [&](std::int64_t off, std::int64_t n) {
    std::vector<float> v(m.params.begin() + off, m.params.begin() + off + n);
    for (float& x : v) x += 0.01f * std::sin(static_cast<float>(&x - v.data()));  // distinct biases etc.
    return v;
  };
  keep.reserve(64);
  add("transformer.wte.weight", {c.vocab, E}, copy(m.wte, c.vocab * E));
  add("transformer.wpe.weight", {c.context, E}, copy(m.wpe, c.context * E));
  for (int l = 0; l < 2; ++l) {
    const LayerParams& lp = m.layer[static_cast<std::size_t>(l)];
    const std::string h = "transformer.h." + std::to_string(l) + ".";
    add(h + "ln_1.weight", {E}, copy(lp.ln1_w, E));
    add(h + "ln_1.bias", {E}, copy(lp.ln1_b, E));
    std::vector<float> w(static_cast<std::size_t>(E * 3 * E)), b(static_cast<std::size_t>(3 * E));
    std::mt19937 rng(static_cast<unsigned>(l));
    std::normal_distribution<float> nd(0, 0.3f);
    for (float& x : w) x = nd(rng);
    for (float& x : b) x = nd(rng);
    add(h + "attn.c_attn.weight", {E, 3 * E}, w);
    add(h + "attn.c_attn.bias", {3 * E}, b);
    add(h + "attn.bias", {1, 1, c.context, c.context}, std::vector<float>(static_cast<std::size_t>(c.context * c.context), 1.0f));
    add(h + "attn.c_proj.weight", {E, E}, copy(lp.wo, E * E));
    add(h + "attn.c_proj.bias", {E}, copy(lp.bo, E));
    add(h + "ln_2.weight", {E}, copy(lp.ln2_w, E));
    add(h + "ln_2.bias", {E}, copy(lp.ln2_b, E));
    add(h + "mlp.c_fc.weight", {E, F}, copy(lp.fc_w, E * F));
    add(h + "mlp.c_fc.bias", {F}, copy(lp.fc_b, F));
    add(h + "mlp.c_proj.weight", {F, E}, copy(lp.proj_w, F * E));
    add(h + "mlp.c_proj.bias", {E}, copy(lp.proj_b, E));
  }
  add("transformer.ln_f.weight", {E}, copy(m.lnf_w, E));
  add("transformer.ln_f.bias", {E}, copy(m.lnf_b, E));
  const std::string path = tmp_path("gpt2.safetensors");
  write_safetensors(path, refs, {{"format", "pt"}, {"n_head", "4"}});
  const Model g = Model::load(path);
  EXPECT_EQ(g.config().heads, 4);
  EXPECT_EQ(g.config().layers, 2);
  EXPECT_EQ(g.config().context, c.context);
  // c_attn columns [0, E) are W_Q, [E, 2E) W_K, [2E, 3E) W_V, in the x·W convention.
  const AttentionWeights aw = g.attention_weights(1);
  const std::vector<float>& cw = keep[static_cast<std::size_t>(2 + 13 + 2)];
  for (std::int64_t i = 0; i < E; ++i)
    for (std::int64_t j = 0; j < E; ++j) {
      ASSERT_EQ(aw.w_q[static_cast<std::size_t>(i * E + j)], cw[static_cast<std::size_t>(i * 3 * E + j)]);
      ASSERT_EQ(aw.w_k[static_cast<std::size_t>(i * E + j)], cw[static_cast<std::size_t>(i * 3 * E + E + j)]);
      ASSERT_EQ(aw.w_v[static_cast<std::size_t>(i * E + j)], cw[static_cast<std::size_t>(i * 3 * E + 2 * E + j)]);
    }
  // Saved in attend's layout and loaded again: the same logits.
  const std::string path2 = tmp_path("gpt2_as_attend.safetensors");
  g.save(path2);
  const std::vector<std::int32_t> tok = {3, 1, 4, 1, 5, 9, 2, 6};
  EXPECT_EQ(max_diff(g.forward(tok), Model::load(path2).forward(tok)), 0.0);
  // A GPT-2 file missing a tensor is refused, naming it.
  refs.erase(refs.begin() + 5);  // h.0.attn.c_attn.bias
  write_safetensors(path, refs, {{"n_head", "4"}});
  try {
    Model::load(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c_attn.bias"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path2);
}

TEST(NnCheckpoint, ResumedTrainingContinuesTheSameLossCurve) {
  ModelConfig c = small_config();
  c.vocab = 8;
  TaskData data(Task::sort, c.vocab, 11);
  TrainConfig tc;
  tc.steps = 8;
  tc.batch = 3;
  tc.accum = 2;
  tc.warmup = 2;
  tc.seed = 3;
  Model straight(c, 1);
  Trainer a(straight, data, tc);
  a.run();
  Model first(c, 1);
  Trainer b(first, data, tc);
  for (int i = 0; i < 4; ++i) b.step();
  const std::string path = tmp_path("resume.safetensors");
  b.save_checkpoint(path);
  Model second(c, 99);  // different init: everything must come from the checkpoint
  Trainer r(second, data, tc);
  r.load_checkpoint(path);
  EXPECT_EQ(r.steps_done(), 4);
  r.run();
  ASSERT_EQ(r.curve().size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_NEAR(r.curve()[i].loss, a.curve()[i].loss, 1e-6 * a.curve()[i].loss) << "step " << i;
  EXPECT_LT(a.curve().back().loss, a.curve().front().loss);
  const Model loaded = Model::load(path);  // the training checkpoint is also a model file
  EXPECT_EQ(loaded.config().vocab, 8);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace attend::nn
