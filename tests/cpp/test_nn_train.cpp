// Training reaches a stated accuracy on the induction task within a fixed step budget, and the
// loss curve files are written.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include <algorithm>

#include "attend/error.h"
#include "attend/io.h"
#include "attend/runtime.h"
#include "attend/train.h"

namespace attend::nn {
namespace {

TEST(NnTrain, TwoLayerModelLearnsInductionWithinBudget) {
  ModelConfig c;
  c.vocab = 32;
  c.context = 24;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 128;
  Model model(c, 1);
  const TaskData data(Task::induction, c.vocab, 24);
  const double before = evaluate_accuracy(model, data, 128, 5);
  TrainConfig tc;
  tc.steps = 300;
  tc.batch = 16;
  tc.lr = 3e-3f;
  tc.warmup = 20;
  tc.weight_decay = 0;
  Trainer tr(model, data, tc);
  tr.run();
  const double after = evaluate_accuracy(model, data, 128, 5);
  EXPECT_LT(before, 0.2);   // chance is 1/31
  EXPECT_GE(after, 0.95);   // the stated bar: >= 95% next-token accuracy on held-out repeats
  const std::string base = (std::filesystem::temp_directory_path() / "attend_nn_curve").string();
  write_curve_csv(base + ".csv", tr.curve());
  write_curve_png(base + ".png", tr.curve());
  const std::string csv = read_file(base + ".csv");
  EXPECT_EQ(csv.rfind("step,loss,lr,tokens_per_s,grad_norm,train_accuracy,level\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 301);
  EXPECT_EQ(read_file(base + ".png").substr(1, 3), "PNG");
  std::filesystem::remove(base + ".csv");
  std::filesystem::remove(base + ".png");
}

// Induction sequences: a run of random length repeating from a random offset; every scored token
// occurred before, and each earlier occurrence was followed by the target (the induction rule).
TEST(NnTrain, InductionSequencesRepeatAtRandomLengthsAndOffsets) {
  for (std::int64_t T : {6, 24, 65}) {
    const std::int64_t vocab = T == 65 ? 40 : 32;
    const TaskData data(Task::induction_random, vocab, T);
    const Batch b = data.batch(64, 9, 3);
    EXPECT_EQ(b.tokens, data.batch(64, 9, 3).tokens);
    std::set<std::int64_t> periods, starts;
    for (std::int64_t s = 0; s < b.B; ++s) {
      const std::int32_t* tok = b.tokens.data() + s * T;
      const std::int32_t* tgt = b.targets.data() + s * T;
      std::int64_t first = -1, period = -1;
      for (std::int64_t i = 0; i < T; ++i) {
        ASSERT_GE(tok[i], 0);
        ASSERT_LT(tok[i], vocab - 1);  // the separator is not used
        if (tgt[i] < 0) {
          EXPECT_TRUE(first < 0 || i == T - 1) << "scored positions are one run up to the end";
          continue;
        }
        if (first < 0) first = i;
        EXPECT_EQ(tgt[i], tok[i + 1]);
        std::int64_t seen = 0, last = -1;
        for (std::int64_t j = 0; j < i; ++j)
          if (tok[j] == tok[i]) {
            ++seen;
            last = j;
            EXPECT_EQ(tok[j + 1], tgt[i]);  // the induction rule predicts it
          }
        ASSERT_GE(seen, 1) << "T " << T << " seq " << s << " pos " << i;
        if (period < 0) period = i - last;
        EXPECT_EQ(i - last, period);  // one repeat length per sequence
      }
      ASSERT_GE(first, 2);
      EXPECT_GE(period, 2);
      EXPECT_LE(first, T - period);  // at least one full repeat is scored
      periods.insert(period);
      starts.insert(first - period);
    }
    if (T >= 24) {
      EXPECT_GE(periods.size(), 4u) << "T " << T;
      EXPECT_GE(starts.size(), 4u) << "T " << T;
    }
  }
  EXPECT_THROW(TaskData(Task::induction_random, 4, 8), Error);
}

// The trainer's phase timers add up and see the attention kernels inside forward and backward.
TEST(NnTrain, PhaseTimesCoverTheStep) {
  ModelConfig c;
  c.vocab = 16;
  c.context = 16;
  c.d_model = 16;
  c.layers = 2;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 32;
  Model model(c, 3);
  const TaskData data(Task::induction, c.vocab, 16);
  TrainConfig tc;
  tc.steps = 3;
  tc.batch = 4;
  Trainer tr(model, data, tc);
  tr.run();
  const PhaseTimes& p = tr.phase_times();
  EXPECT_GT(p.forward, 0);
  EXPECT_GT(p.backward, 0);
  EXPECT_GT(p.attention_forward, 0);
  EXPECT_GT(p.attention_backward, 0);
  EXPECT_LE(p.attention_forward, p.forward);
  EXPECT_LE(p.attention_backward, p.backward);
  EXPECT_NEAR(p.total(), p.data + p.forward + p.backward + p.optimizer, 1e-12);
  tr.reset_phase_times();
  EXPECT_EQ(tr.phase_times().total(), 0.0);
}

TEST(NnTrain, TasksAndScheduleAreWellFormed) {
  const TaskData sort(Task::sort, 10, 11);
  const Batch b = sort.batch(2, 3, 4);
  EXPECT_EQ(b.tokens, sort.batch(2, 3, 4).tokens);  // a pure function of (seed, index)
  EXPECT_NE(b.tokens, sort.batch(2, 3, 5).tokens);
  for (int i = 6; i < 10; ++i) EXPECT_LE(b.tokens[static_cast<std::size_t>(i)], b.tokens[static_cast<std::size_t>(i + 1)]);
  EXPECT_EQ(b.tokens[5], 9);  // separator
  EXPECT_THROW(TaskData(Task::text, 256, 8, ""), Error);
  EXPECT_THROW(TaskData(Task::copy, 2, 8), Error);
  ModelConfig c;
  c.vocab = 10;
  c.context = 11;
  c.d_model = 8;
  c.heads = 2;
  c.kv_heads = 2;
  c.d_ff = 8;
  Model m(c, 0);
  TrainConfig tc;
  tc.steps = 100;
  tc.warmup = 10;
  tc.lr = 1.0f;
  tc.min_lr = 0.1f;
  Trainer tr(m, sort, tc);
  EXPECT_FLOAT_EQ(tr.lr_at(0), 0.1f);
  EXPECT_FLOAT_EQ(tr.lr_at(9), 1.0f);
  EXPECT_NEAR(tr.lr_at(55), 0.55f, 1e-5);
  EXPECT_NEAR(tr.lr_at(99), 0.1f, 1e-3);
}

}  // namespace
}  // namespace attend::nn
