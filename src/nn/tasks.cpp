// Built-in training data: copy, sort, induction, graph search (synthetic) and byte-level text.
#include <algorithm>
#include <random>
#include <string>
#include <unordered_set>

#include "attend/io.h"
#include "attend/search_task.h"
#include "attend/train.h"
#include "core/check.h"

namespace attend::nn {

using I64 = std::int64_t;

Task parse_task(const std::string& name) {
  if (name == "induction") return Task::induction;
  if (name == "induction-random") return Task::induction_random;
  if (name == "copy") return Task::copy;
  if (name == "sort") return Task::sort;
  if (name == "text") return Task::text;
  if (name == "search") return Task::search;
  detail::fail("parse_task", "unknown task '", name, "' (induction, induction-random, copy, sort, text, search)");
}

const char* task_name(Task t) {
  switch (t) {
    case Task::induction: return "induction";
    case Task::induction_random: return "induction-random";
    case Task::copy: return "copy";
    case Task::sort: return "sort";
    case Task::text: return "text";
    case Task::search: return "search";
  }
  return "?";
}

struct TaskData::HeldOut {
  std::unordered_set<std::string> inputs;  // token bytes of each held-out sequence
  static std::string key(const std::vector<std::int32_t>& tokens) {
    return {reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(std::int32_t)};
  }
};

TaskData::~TaskData() = default;
TaskData::TaskData(TaskData&&) noexcept = default;

int TaskData::max_level() const { return task_ == Task::search ? graph::max_search_lookahead(T_) : 0; }

TaskData::TaskData(Task task, I64 vocab, I64 seq_len, const std::string& text_path) : task_(task), vocab_(vocab), T_(seq_len) {
  if (task == Task::text) {
    if (vocab != 256) detail::fail("TaskData", "the text task is byte-level and needs vocab 256, got ", vocab);
    if (text_path.empty()) detail::fail("TaskData", "the text task needs a data file");
    if (seq_len < 1) detail::fail("TaskData", "seq_len must be >= 1, got ", seq_len);
    text_ = read_file(text_path);
    // The last 10 % (at least one window of seq_len + 1 bytes) is held out; training needs one
    // window before it.
    const I64 size = static_cast<I64>(text_.size()), held = std::max<I64>(size / 10, seq_len + 1);
    if (size - held < seq_len + 1)
      detail::fail("TaskData", text_path, " has ", size, " bytes; a held-out tail of ", held, " bytes and one training window need at least ",
                   held + seq_len + 1, " (seq_len ", seq_len, ")");
    held_begin_ = size - held;
  } else if (task == Task::search) {
    if (seq_len < 14 || seq_len > 4096)
      detail::fail("TaskData", "the search task needs seq_len (the maximum input) in [14, 4096], got ", seq_len);
    const graph::SearchEncoding enc = graph::search_encoding(seq_len);
    if (vocab != enc.vocab)
      detail::fail("TaskData", "the search task with seq_len ", seq_len, " has ", enc.vertices, " vertex labels and needs vocab ",
                   enc.vocab, ", got ", vocab);
    held_out_ = std::make_unique<HeldOut>();
    for (int la = 1; la <= graph::max_search_lookahead(seq_len); ++la)
      for (int i = 0; i < graph::kSearchHeldOut; ++i)
        held_out_->inputs.insert(HeldOut::key(graph::search_sequence(graph::search_held_out(seq_len, la, i), seq_len).tokens));
  } else {
    const bool repeats = task == Task::induction || task == Task::induction_random;
    const I64 min_vocab = task == Task::induction_random ? 5 : 3;
    if (vocab < min_vocab) detail::fail("TaskData", "vocab ", vocab, " is too small for ", task_name(task), " (need >= ", min_vocab, ")");
    if (seq_len < (repeats ? 6 : 3)) detail::fail("TaskData", "seq_len ", seq_len, " is too short for ", task_name(task));
  }
}

// tokens/targets: [B, T]
Batch TaskData::batch(I64 B, std::uint64_t seed, I64 index, Split split, int level) const {
  if (B < 1) detail::fail("TaskData::batch", "batch size must be >= 1, got ", B);
  Batch b;
  b.B = B;
  b.T = T_;
  b.tokens.assign(static_cast<std::size_t>(B * T_), 0);
  b.targets.assign(static_cast<std::size_t>(B * T_), -1);
  const std::int32_t sep = static_cast<std::int32_t>(vocab_ - 1);
  if (level < -1 || level > max_level()) detail::fail("TaskData::batch", "level ", level, " is outside [-1, ", max_level(), "]");
  if (task_ == Task::search) {
    // One stream per batch, as their generator makes each batch (so a batch can hold several
    // examples from one graph); the answer is scored at the last position.
    std::seed_seq ss{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), static_cast<std::uint32_t>(index),
                     static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32), 0x5ea4c4u};
    std::mt19937_64 rng(ss);
    const HeldOut& held = *held_out_;
    graph::BalancedStream stream(T_, level < 0 ? max_level() : level, graph::search_encoding(T_).vertices, rng(),
                                 [&](const graph::SearchExample& e) {
                                   return held.inputs.count(HeldOut::key(graph::search_sequence(e, T_).tokens)) > 0;
                                 });
    for (I64 s = 0; s < B; ++s) {
      const graph::SearchSequence q = graph::search_sequence(stream.next(), T_);
      std::copy(q.tokens.begin(), q.tokens.end(), b.tokens.begin() + s * T_);
      b.targets[static_cast<std::size_t>(s * T_ + q.answer_at)] = q.answer;
    }
    return b;
  }
  for (I64 s = 0; s < B; ++s) {
    std::seed_seq ss{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), static_cast<std::uint32_t>(index),
                     static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32), static_cast<std::uint32_t>(s)};
    std::mt19937_64 rng(ss);
    std::int32_t* tok = b.tokens.data() + s * T_;
    std::int32_t* tgt = b.targets.data() + s * T_;
    std::uniform_int_distribution<std::int32_t> sym(0, sep - 1);
    if (task_ == Task::text) {
      // A window of T + 1 bytes lies wholly inside its split.
      const I64 lo = split == Split::train ? 0 : held_begin_;
      const I64 hi = (split == Split::train ? held_begin_ : static_cast<I64>(text_.size())) - T_ - 1;
      std::uniform_int_distribution<I64> start(lo, hi);
      const I64 o = start(rng);
      for (I64 i = 0; i < T_; ++i) {
        tok[i] = static_cast<unsigned char>(text_[static_cast<std::size_t>(o + i)]);
        tgt[i] = static_cast<unsigned char>(text_[static_cast<std::size_t>(o + i + 1)]);
      }
    } else if (task_ == Task::induction) {
      // [noise (T − 2m) | r (m) | r (m)], m = T/2: a repeated random sequence; the second copy's
      // tokens after its first are predicted by copying the successor of the earlier occurrence.
      const I64 m = T_ / 2, start = T_ - 2 * m;
      for (I64 i = 0; i < T_; ++i) tok[i] = sym(rng);
      for (I64 i = 0; i < m; ++i) tok[start + m + i] = tok[start + i];
      for (I64 i = start + m; i + 1 < T_; ++i) tgt[i] = tok[i + 1];
    } else if (task_ == Task::induction_random) {
      // [noise (a) | r | r | r ...]: a random sequence r of random length m in [T/8, T/2] starts at
      // a random offset a and repeats to the end (no fixed period: only an induction head solves it). r holds distinct symbols and the noise avoids them, so from
      // the second copy on, each token is predicted by copying what followed its earlier occurrences.
      const I64 m_max = std::min<I64>(T_ / 2, vocab_ - 2), m_min = std::max<I64>(2, m_max / 4);
      const I64 m = std::uniform_int_distribution<I64>(m_min, m_max)(rng);
      const I64 a = std::uniform_int_distribution<I64>(0, T_ - 2 * m)(rng);
      std::vector<std::int32_t> symbols(static_cast<std::size_t>(sep));
      for (std::int32_t i = 0; i < sep; ++i) symbols[static_cast<std::size_t>(i)] = i;
      std::shuffle(symbols.begin(), symbols.end(), rng);  // symbols[0, m): r; the rest: noise
      std::uniform_int_distribution<std::size_t> noise(static_cast<std::size_t>(m), symbols.size() - 1);
      for (I64 i = 0; i < a; ++i) tok[i] = symbols[noise(rng)];
      for (I64 i = a; i < T_; ++i) tok[i] = symbols[static_cast<std::size_t>((i - a) % m)];
      for (I64 i = a + m; i + 1 < T_; ++i) tgt[i] = tok[i + 1];
    } else {
      // [r (m) | sep | f(r) (m) | pad]: f = identity (copy) or sorting.
      const I64 m = (T_ - 1) / 2;
      std::vector<std::int32_t> r(static_cast<std::size_t>(m));
      for (auto& x : r) x = sym(rng);
      std::vector<std::int32_t> f = r;
      if (task_ == Task::sort) std::sort(f.begin(), f.end());
      for (I64 i = 0; i < T_; ++i) tok[i] = sep;
      for (I64 i = 0; i < m; ++i) {
        tok[i] = r[static_cast<std::size_t>(i)];
        tok[m + 1 + i] = f[static_cast<std::size_t>(i)];
      }
      for (I64 i = m; i < 2 * m; ++i) tgt[i] = tok[i + 1];
    }
  }
  return b;
}

}  // namespace attend::nn
