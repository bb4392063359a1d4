#pragma once
// One fuzz input for each parser target. The libFuzzer targets (fuzz_*.cpp) call these, and the
// gtest FuzzRegressions.* replays every checked-in corpus and regression input through the same
// functions in the normal and sanitizer builds. Each must accept or throw attend::Error: any other
// exception, crash, leak or sanitizer report is a bug. Each returns whether the input was accepted.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attend/error.h"
#include "attend/gguf.h"
#include "attend/graph.h"
#include "attend/model.h"
#include "attend/safetensors.h"
#include "attend/tokenizer.h"
#include "nn/hf_model.h"
#include "nn/model_build.h"
#include "nn/model_impl.h"
#include "nn/model_io.h"
#include "text/tokenizer_impl.h"
#include "text/utf8.h"

namespace attend::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// safetensors: parse; a parsed file must serialise (as F32) and parse back to the same tensors.
inline bool safetensors_input(std::string_view bytes) {
  SafetensorsFile f;
  try {
    f = parse_safetensors(bytes, "fuzz");
  } catch (const Error&) {
    return false;
  }
  std::vector<SafeTensorRef> refs;
  for (const auto& [name, t] : f.tensors) refs.push_back({name, t.shape, t.values.data()});
  const SafetensorsFile back = parse_safetensors(safetensors_bytes(refs, f.metadata), "fuzz-roundtrip");
  check(back.metadata == f.metadata && back.tensors.size() == f.tensors.size(), "round trip keeps names and metadata");
  for (const auto& [name, t] : f.tensors) {
    const SafeTensor& u = back.tensors.at(name);
    check(u.shape == t.shape && u.values.size() == t.values.size(), "round trip keeps shapes");
    check(t.values.empty() || std::memcmp(u.values.data(), t.values.data(), t.values.size() * sizeof(float)) == 0,
          "round trip keeps the bits");
  }
  return true;
}

// Model checkpoints (attend layout or GPT-2 layout): load; a small loaded model must also run a
// forward and a cached generation (the configuration drives every shape in them).
inline bool model_input(std::string_view bytes) {
  try {
    const SafetensorsFile f = parse_safetensors(bytes, "fuzz");
    const nn::Model m = nn::load_model_file(f, "fuzz");
    const nn::ModelConfig& c = m.config();
    check(m.impl().param_count > 0, "a loaded model has parameters");
    if (m.impl().param_count > 200000) return true;  // keep each input fast
    std::vector<std::int32_t> tokens;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(c.context, 3); ++i) tokens.push_back(static_cast<std::int32_t>(i % c.vocab));
    const Tensor logits = m.forward(tokens);
    check(logits.view().shape[0] == static_cast<std::int64_t>(tokens.size()) && logits.view().shape[1] == c.vocab, "logits shape");
    nn::Model::GenerateOptions g;
    g.max_new_tokens = 2;
    g.temperature = 0;
    (void)m.generate(std::span<const std::int32_t>(tokens.data(), 1), g);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// A Hugging Face config.json: the architecture it describes, read against a checkpoint holding no
// tensors (every check of the config runs; a lookup of a tensor then refuses by name).
inline bool hf_config_input(std::string_view bytes) {
  struct NoTensors final : nn::TensorSource {
    std::map<std::string, std::string> meta;
    const nn::SourceTensor* find(const std::string&) const override { return nullptr; }
    std::vector<std::string> names() const override { return {}; }
    const std::map<std::string, std::string>& metadata() const override { return meta; }
  };
  try {
    const nn::ModelArchitecture a = nn::hf_architecture(std::string(bytes), NoTensors{}, "fuzz");
    check(a.config.layers >= 1 && a.config.heads >= 1 && a.config.vocab >= 1, "an accepted config describes a model");
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Links CSV: "<links>\0<stakes>" (no NUL: the whole input is the links file, stakes empty).
inline bool links_input(std::string_view bytes) {
  const std::size_t cut = bytes.find('\0');
  const std::string_view links = bytes.substr(0, cut);
  const std::string_view stakes = cut == std::string_view::npos ? std::string_view() : bytes.substr(cut + 1);
  try {
    const graph::LinkGraph g = graph::parse_links_csv(links, stakes, "links", "stakes");
    check(g.neuron.size() == g.from.size() && g.from.size() == g.to.size(), "one entry per link");
    check(static_cast<std::int64_t>(g.stake.size()) == g.neurons && static_cast<std::int64_t>(g.particle_names.size()) == g.particles,
          "counts match");
    for (std::size_t i = 0; i < g.neuron.size(); ++i)
      check(g.neuron[i] < g.neurons && g.from[i] < g.particles && g.to[i] < g.particles, "indices in range");
    // Any legal stakes (up to 2^64 - 1 each) give finite ranks, entropies and karma.
    if (g.particles <= 2000 && g.neuron.size() <= 20000) {
      for (graph::FocusMode mode : {graph::FocusMode::cyber, graph::FocusMode::pagerank}) {
        graph::FocusOptions o;
        o.mode = mode;
        o.max_iter = 60;
        o.threads = 1;
        const graph::FocusResult r = graph::focus(g, o);
        for (double v : r.rank) check(std::isfinite(v) && v >= 0, "focus ranks are finite");
        for (double v : r.entropy) check(std::isfinite(v), "focus entropy is finite");
        for (double v : r.karma) check(std::isfinite(v), "focus karma is finite");
      }
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}

// GGUF: parse; every getter returns or throws attend::Error; tensor spans lie inside the input
// and convertible rows dequantize; a parsed file written back parses to the same keys, values and
// tensor bytes, and writing that again gives the same bytes (a fixed point).
inline bool gguf_input(std::string_view bytes) {
  gguf::File f;
  try {
    f = gguf::File::from_bytes(std::string(bytes), "fuzz");
  } catch (const Error&) {
    return false;
  }
  for (const std::string& k : f.keys()) {
    check(f.has(k), "every listed key is found");
    try { (void)f.get_u32(k); } catch (const Error&) {}
    try { (void)f.get_f32(k); } catch (const Error&) {}
    try { (void)f.get_string(k); } catch (const Error&) {}
    try { (void)f.get_array<std::string>(k); } catch (const Error&) {}
    try { (void)f.get_array<std::int32_t>(k); } catch (const Error&) {}
  }
  bool writable = f.alignment() <= (1u << 20);
  // The start of the file, seen through the first tensor's span.
  const std::byte* base = f.tensors().empty() ? nullptr : f.tensor_data(f.tensors()[0]).data() - f.tensors()[0].file_offset;
  for (const gguf::TensorInfo& t : f.tensors()) {
    const auto d = f.tensor_data(t);
    check(d.size() == t.bytes && t.file_offset + t.bytes <= f.file_size(), "tensor bytes lie inside the file");
    check(d.data() == base + t.file_offset && t.file_offset % f.alignment() == 0, "tensor offsets are aligned");
    const std::int64_t ne0 = t.dims.empty() ? 1 : t.dims[0];
    if (has_reference_conversion(t.type) && t.elements() > 0 && ne0 <= 4096) {
      std::vector<float> row(static_cast<std::size_t>(ne0));
      dequantize_row(t.type, d.data(), row.data(), ne0);
      std::vector<float> ones(row.size(), 1.0f);
      (void)dot_row(t.type, d.data(), ones.data(), ne0);
    }
    writable = writable && !t.name.empty() && t.name.size() < 64 && !t.dims.empty();
  }
  if (!writable) return true;  // what the writer refuses: alignment > 2^20, names of 0 or 64 bytes, 0 dims
  auto rewrite = [](const gguf::File& g) {
    gguf::Writer w;
    for (const std::string& k : g.keys()) w.set(k, g.get(k));
    for (const gguf::TensorInfo& t : g.tensors()) w.add_tensor(t.name, t.dims, t.type, g.tensor_data(t));
    return w.bytes();
  };
  const std::string once = rewrite(f);
  const gguf::File back = gguf::File::from_bytes(once, "fuzz-roundtrip");
  check(back.keys().size() >= f.keys().size() && back.tensors().size() == f.tensors().size(), "round trip keeps keys and tensors");
  for (std::size_t i = 0; i < f.keys().size(); ++i) check(back.keys()[i] == f.keys()[i], "round trip keeps key order");
  for (std::size_t i = 0; i < f.tensors().size(); ++i) {
    const auto a = f.tensor_data(f.tensors()[i]), b = back.tensor_data(back.tensors()[i]);
    check(back.tensors()[i].dims == f.tensors()[i].dims && back.tensors()[i].type == f.tensors()[i].type, "round trip keeps shapes");
    check(a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0), "round trip keeps tensor bytes");
  }
  check(rewrite(back) == once, "writing is a fixed point");
  return true;
}

// Tokenizer files. The first byte picks the parser, the rest is the file:
//   'j' tokenizer.json ["\0" tokenizer_config.json]   'g' vocab.json "\0" merges.txt
//   's' SentencePiece tokenizer.model                   't' tiktoken ranks (cl100k pattern, one special)
//   'v' VocabSpec as lines: model, pre, then "type score token" lines, "" then merges
// An accepted tokenizer must encode texts (its own bytes included) to ids in range, decode them,
// and label every id with valid UTF-8; attend::Error is the only exception allowed.
inline text::VocabSpec vocab_spec_from_lines(std::string_view b) {
  text::VocabSpec v;
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at <= b.size();) {
    const std::size_t end = std::min(b.find('\n', at), b.size());
    lines.push_back(b.substr(at, end - at));
    at = end + 1;
  }
  std::size_t i = 0;
  if (i < lines.size()) v.model = std::string(lines[i++]);
  if (i < lines.size()) v.pre = std::string(lines[i++]);
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    const std::string_view l = lines[i];
    v.token_types.push_back(l.empty() ? 1 : l[0] - '0');
    v.scores.push_back(l.size() > 1 ? static_cast<float>(l[1] - '0') : 0.0f);
    v.tokens.emplace_back(l.size() > 3 ? l.substr(3) : std::string_view());
  }
  for (++i; i < lines.size(); ++i)
    if (!lines[i].empty()) v.merges.emplace_back(lines[i]);
  v.bos = v.tokens.size() > 1 ? 1 : -1;
  v.eos = v.tokens.size() > 2 ? 2 : -1;
  v.unk = v.tokens.empty() ? -1 : 0;
  return v;
}

inline bool tokenizer_input(std::string_view bytes) {
  if (bytes.empty()) return false;
  const char kind = bytes[0];
  const std::string_view rest = bytes.substr(1);
  const std::size_t cut = rest.find('\0');
  const std::string_view first = rest.substr(0, cut), second = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
  std::shared_ptr<text::detail::TokenizerImpl> impl;
  try {
    if (kind == 'j') impl = text::detail::parse_hf_json(first, second, "fuzz");
    else if (kind == 'g') impl = text::detail::parse_gpt2_files(first, second, "fuzz");
    else if (kind == 's') impl = text::detail::parse_sentencepiece(rest, "fuzz");
    else if (kind == 't') {
      text::TiktokenSpec spec;
      spec.pattern = text::tiktoken_pattern("cl100k_base");
      impl = text::detail::parse_tiktoken(rest, spec, "fuzz");
    } else if (kind == 'v') impl = text::detail::build_from_vocab(vocab_spec_from_lines(rest), "fuzz");
    else return false;
  } catch (const Error&) {
    return false;
  }
  const text::Tokenizer tok = text::detail::TokenizerImpl::wrap(impl);
  const std::string_view own = rest.substr(0, std::min<std::size_t>(rest.size(), 200));
  for (const std::string_view s : {std::string_view(), std::string_view("Hello world! 123 <s> </s>  \xE2\x96\x81x\n"), own}) {
    for (const bool special : {false, true}) {
      std::vector<std::int32_t> ids;
      try {
        ids = tok.encode(s, {special, special});
      } catch (const Error&) {
        continue;  // e.g. a character with no token and no unknown token
      }
      for (const auto id : ids) check(id >= 0 && id < tok.size(), "encoded ids are in range");
      (void)tok.decode(ids);
      (void)tok.decode(ids, {true});
    }
  }
  for (std::int32_t id = 0; id < tok.size() && id < 2000; ++id) {
    try {
      check(text::detail::is_valid_utf8(tok.piece(id)), "display pieces are valid UTF-8");
    } catch (const Error&) {  // an id no token uses
    }
  }
  return true;
}

}  // namespace attend::fuzz
