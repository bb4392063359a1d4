// Finding 1: a diverging run must not destroy a good checkpoint, non-finite hyper-parameters are
// refused, loaders refuse non-finite weights, the text task's held-out loss is really held out.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

#include "attend/attend.h"
#include "attend/safetensors.h"
#include "nn/model_impl.h"

namespace attend::nn {
namespace {

namespace fs = std::filesystem;

std::string tmp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("attend_hardtrain_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

ModelConfig tiny() {
  ModelConfig c;
  c.vocab = 16, c.context = 16, c.d_model = 16, c.layers = 1, c.heads = 2, c.kv_heads = 2, c.d_ff = 32;
  return c;
}

TEST(HardenTrain, NonFiniteOrOutOfRangeHyperParametersAreRefusedByName) {
  Model m(tiny(), 1);
  const TaskData data(Task::copy, 16, 11);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  struct Case { const char* field; std::function<void(TrainConfig&)> set; };
  const std::vector<Case> cases = {
      {"lr", [&](TrainConfig& c) { c.lr = nan; }},          {"lr", [&](TrainConfig& c) { c.lr = inf; }},
      {"min_lr", [&](TrainConfig& c) { c.min_lr = inf; }},  {"weight_decay", [&](TrainConfig& c) { c.weight_decay = nan; }},
      {"weight_decay", [&](TrainConfig& c) { c.weight_decay = -1; }}, {"beta1", [&](TrainConfig& c) { c.beta1 = nan; }},
      {"beta2", [&](TrainConfig& c) { c.beta2 = 1.0f; }},  {"eps", [&](TrainConfig& c) { c.eps = inf; }},
      {"eps", [&](TrainConfig& c) { c.eps = 0; }},          {"clip", [&](TrainConfig& c) { c.clip = nan; }},
      {"clip", [&](TrainConfig& c) { c.clip = inf; }},
  };
  for (const Case& k : cases) {
    TrainConfig tc;
    k.set(tc);
    const std::string msg = error_of([&] { Trainer(m, data, tc); });
    EXPECT_NE(msg.find(std::string("Trainer: ") + k.field + " must be a finite number"), std::string::npos) << msg;
  }
}

TEST(HardenTrain, DivergenceStopsAndNeverReplacesAGoodCheckpoint) {
  Model m(tiny(), 2);
  const TaskData data(Task::copy, 16, 11);
  TrainConfig tc;
  tc.steps = 3;
  tc.batch = 4;
  Trainer good(m, data, tc);
  good.run();
  const std::string path = tmp_path("keep.safetensors");
  good.save_checkpoint(path);
  const std::string before = read_file(path);
  // lr 1e30: the first update makes weights huge; the next loss or gradient norm is not finite.
  tc.steps = 10;
  tc.lr = 1e30f;
  tc.warmup = 0;
  tc.clip = 0;
  Trainer bad(m, data, tc);
  bad.load_checkpoint(path);
  std::string msg;
  try {
    bad.run();
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("training diverged at step"), std::string::npos) << msg;
  EXPECT_LT(bad.steps_done(), 10);
  // A non-finite weight (as an update can produce) is never written: the good file stays.
  m.impl().params[5] = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of([&] { bad.save_checkpoint(path); }).find("refusing to write a non-finite model"), std::string::npos);
  EXPECT_NE(error_of([&] { m.save(path); }).find("holds inf"), std::string::npos);
  EXPECT_EQ(read_file(path), before) << "the good checkpoint must stay byte for byte";
  fs::remove(path);
}

TEST(HardenTrain, LoadersRefuseNonFiniteWeightsNamingTheTensorUnlessAllowed) {
  const Model m(tiny(), 3);
  const std::string path = tmp_path("nan.safetensors");
  m.save(path);
  // Poke a NaN into the data section of the file (the last float: some tensor's last value).
  std::string bytes = read_file(path);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bytes.data() + bytes.size() - 4, &nan, 4);
  write_file_atomically(path, bytes);
  const SafetensorsFile f = read_safetensors(path);
  std::string victim;
  for (const auto& [name, t] : f.tensors)
    if (!t.values.empty() && std::isnan(t.values.back())) victim = name;
  ASSERT_FALSE(victim.empty());
  const std::string msg = error_of([&] { (void)Model::load(path); });
  EXPECT_NE(msg.find("tensor '" + victim + "' holds nan"), std::string::npos) << msg;
  LoadOptions allow;
  allow.allow_nonfinite = true;
  EXPECT_NO_THROW((void)Model::load(path, allow));
  const TaskData data(Task::copy, 16, 11);
  Model other(tiny(), 4);
  Trainer tr(other, data, TrainConfig{});
  EXPECT_NE(error_of([&] { tr.load_checkpoint(path); }).find("holds nan"), std::string::npos);
  fs::remove(path);
}

// Text: the last 10 % of the file is held out; training windows never touch it.
TEST(HardenTrain, TextHeldOutIsTheEndOfTheFileAndNeverTrainedOn) {
  const std::string path = tmp_path("text.txt");
  std::ofstream(path, std::ios::binary) << std::string(900, 'a') << std::string(100, 'b');
  const TaskData data(Task::text, 256, 16, path);
  EXPECT_EQ(data.text_bytes(), 1000);
  EXPECT_EQ(data.held_out_begin(), 900);
  for (std::int64_t idx = 0; idx < 50; ++idx) {
    const Batch tr = data.batch(8, 7, idx, Split::train), ho = data.batch(8, 7, idx, Split::held_out);
    for (std::size_t i = 0; i < tr.tokens.size(); ++i) {
      ASSERT_EQ(tr.tokens[i], 'a');
      ASSERT_EQ(tr.targets[i], 'a');
      ASSERT_EQ(ho.tokens[i], 'b');
      ASSERT_EQ(ho.targets[i], 'b');
    }
  }
  // A model that only ever saw 'a' -> 'a' is measured on 'b' -> 'b': its held-out loss is high.
  ModelConfig c = tiny();
  c.vocab = 256;
  Model m(c, 5);
  TrainConfig tc;
  tc.steps = 30, tc.batch = 8, tc.lr = 1e-2f, tc.warmup = 2, tc.weight_decay = 0;
  Trainer t(m, data, tc);
  t.run();
  EXPECT_LT(t.curve().back().loss, 0.5);
  EXPECT_GT(evaluate_loss(m, data, 16, 1), 2.0) << "held-out loss measured on training bytes?";
  // Too short for a held-out tail and a training window: refused with the numbers.
  std::ofstream(path, std::ios::binary) << std::string(20, 'a');
  EXPECT_NE(error_of([&] { TaskData(Task::text, 256, 16, path); }).find("held-out tail"), std::string::npos);
  fs::remove(path);
}

TEST(HardenTrain, EvaluationNeedsAPositiveSequenceCount) {
  const Model m(tiny(), 6);
  const TaskData data(Task::copy, 16, 11);
  for (std::int64_t n : {0, -5}) {
    EXPECT_NE(error_of([&] { (void)evaluate_loss(m, data, n, 1); }).find("sequences must be >= 1"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)evaluate_accuracy(m, data, n, 1); }).find("sequences must be >= 1"), std::string::npos);
  }
}

}  // namespace
}  // namespace attend::nn
