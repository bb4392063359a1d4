// Hugging Face tokenizer.json (+ tokenizer_config.json): a BPE model with its normalizer,
// pre-tokenizer, added tokens, post-processor template and decoder. Other model types and
// pipeline steps are refused by name rather than approximated.
#include <algorithm>

#include "attend/io.h"
#include "text/json_util.h"
#include "text/tokenizer_impl.h"

namespace attend::text {
namespace detail {
namespace {

using nlohmann::json;
constexpr const char* kWhere = "Tokenizer::from_hf_json";
constexpr std::int64_t kMaxHoles = 1 << 16;  // ids no token uses, at most (real files have none)

Pattern parse_pattern(const JsonReader& r, const json& p, const char* context) {
  if (const json* re = JsonReader::member(p, "Regex")) {
    if (!re->is_string()) r.fail(context, ".pattern.Regex is not a string");
    return Pattern{std::make_shared<const Regex>(re->get<std::string>(), r.context()), {}};
  }
  if (const json* s = JsonReader::member(p, "String")) {
    if (!s->is_string()) r.fail(context, ".pattern.String is not a string");
    return Pattern{nullptr, s->get<std::string>()};
  }
  r.fail(context, ".pattern is neither {\"Regex\": ...} nor {\"String\": ...}");
}

void parse_normalizer(const JsonReader& r, const json& n, std::vector<NormalizerStep>& out, int depth) {
  if (depth > 16) r.fail("normalizer nests too deeply");
  const std::string type = r.string(n, "type", "normalizer");
  using K = NormalizerStep::Kind;
  if (type == "Sequence") {
    for (const json& s : r.array(n, "normalizers", "normalizer")) parse_normalizer(r, s, out, depth + 1);
  } else if (type == "Prepend") {
    out.push_back(NormalizerStep::make(K::prepend, r.string(n, "prepend", "Prepend normalizer")));
  } else if (type == "Replace") {
    out.push_back(NormalizerStep::make(K::replace, r.string(n, "content", "Replace normalizer"),
                                      parse_pattern(r, r.require(n, "pattern", "Replace normalizer"), "Replace normalizer")));
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    out.push_back(NormalizerStep::make(type == "NFC" ? K::nfc : type == "NFD" ? K::nfd : type == "NFKC" ? K::nfkc : K::nfkd));
  } else if (type == "Lowercase") {
    out.push_back(NormalizerStep::make(K::lowercase));
  } else if (type == "Strip") {
    NormalizerStep s = NormalizerStep::make(K::strip);
    s.left = r.boolean(n, "strip_left", true, "Strip normalizer");
    s.right = r.boolean(n, "strip_right", true, "Strip normalizer");
    out.push_back(s);
  } else {
    r.fail("normalizer type \"", type, "\" is not supported");
  }
}

SplitBehavior parse_behavior(const JsonReader& r, const std::string& b) {
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  r.fail("Split behavior \"", b, "\" is not one of Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous");
}

PrependScheme metaspace_scheme(const JsonReader& r, const json& m, const char* context) {
  if (const json* s = JsonReader::member(m, "prepend_scheme")) {
    const std::string v = s->is_string() ? s->get<std::string>() : "";
    if (v == "always") return PrependScheme::always;
    if (v == "first") return PrependScheme::first;
    if (v == "never") return PrependScheme::never;
    r.fail(context, ".prepend_scheme is not \"always\", \"first\" or \"never\"");
  }
  return r.boolean(m, "add_prefix_space", true, context) ? PrependScheme::always : PrependScheme::never;
}

void parse_pre_tokenizer(const JsonReader& r, const json& p, std::vector<PreTokenizerStep>& out, int depth) {
  if (depth > 16) r.fail("pre_tokenizer nests too deeply");
  const std::string type = r.string(p, "type", "pre_tokenizer");
  using K = PreTokenizerStep::Kind;
  PreTokenizerStep s;
  if (type == "Sequence") {
    for (const json& q : r.array(p, "pretokenizers", "pre_tokenizer")) parse_pre_tokenizer(r, q, out, depth + 1);
    return;
  } else if (type == "Split") {
    s.kind = K::split;
    s.pattern = parse_pattern(r, r.require(p, "pattern", "Split pre_tokenizer"), "Split pre_tokenizer");
    s.behavior = parse_behavior(r, r.string(p, "behavior", "Split pre_tokenizer"));
    s.invert = r.boolean(p, "invert", false, "Split pre_tokenizer");
  } else if (type == "ByteLevel") {
    s.kind = K::byte_level;
    s.add_prefix_space = r.boolean(p, "add_prefix_space", true, "ByteLevel pre_tokenizer");
    if (r.boolean(p, "use_regex", true, "ByteLevel pre_tokenizer")) s.pattern.regex = std::make_shared<const Regex>(kGpt2Pattern, kWhere);
  } else if (type == "Digits") {  // Rust's char::is_numeric is \p{N}
    s.kind = K::split;
    const bool individual = r.boolean(p, "individual_digits", false, "Digits pre_tokenizer");
    s.pattern.regex = std::make_shared<const Regex>("\\p{N}", kWhere);
    s.behavior = individual ? SplitBehavior::isolated : SplitBehavior::contiguous;
  } else if (type == "Metaspace") {
    s.kind = K::metaspace;
    s.replacement = r.string_or(p, "replacement", "\xe2\x96\x81", "Metaspace pre_tokenizer");
    if (s.replacement.empty()) r.fail("Metaspace pre_tokenizer.replacement is empty");
    s.prepend = metaspace_scheme(r, p, "Metaspace pre_tokenizer");
    s.split = r.boolean(p, "split", true, "Metaspace pre_tokenizer");
  } else {
    r.fail("pre_tokenizer type \"", type, "\" is not supported");
  }
  out.push_back(std::move(s));
}

struct DecoderInfo {
  bool byte_level = false, metaspace = false, byte_fallback = false, strip = false;
  std::string replacement = "\xe2\x96\x81";
};

void parse_decoder(const JsonReader& r, const json& d, DecoderInfo& info, int depth) {
  if (depth > 16) r.fail("decoder nests too deeply");
  const std::string type = r.string(d, "type", "decoder");
  if (type == "Sequence") {
    for (const json& q : r.array(d, "decoders", "decoder")) parse_decoder(r, q, info, depth + 1);
  } else if (type == "ByteLevel") {
    info.byte_level = true;
  } else if (type == "ByteFallback") {
    info.byte_fallback = true;
  } else if (type == "Fuse") {
  } else if (type == "Replace") {
    const Pattern p = parse_pattern(r, r.require(d, "pattern", "Replace decoder"), "Replace decoder");
    if (p.regex || p.literal.empty() || r.string(d, "content", "Replace decoder") != " ")
      r.fail("Replace decoder: only replacing a String with \" \" (the SentencePiece space) is supported");
    info.metaspace = true;
    info.replacement = p.literal;
  } else if (type == "Strip") {
    const std::int64_t start = JsonReader::member(d, "start") ? r.integer(d["start"], "Strip decoder.start") : 0;
    const std::int64_t stop = JsonReader::member(d, "stop") ? r.integer(d["stop"], "Strip decoder.stop") : 0;
    if (r.string(d, "content", "Strip decoder") != " " || start > 1 || start < 0 || stop != 0)
      r.fail("Strip decoder: only stripping one leading \" \" is supported");
    info.strip = start == 1;
  } else if (type == "Metaspace") {
    info.metaspace = true;
    info.replacement = r.string_or(d, "replacement", "\xe2\x96\x81", "Metaspace decoder");
    info.strip = metaspace_scheme(r, d, "Metaspace decoder") != PrependScheme::never;
  } else {
    r.fail("decoder type \"", type, "\" is not supported");
  }
}

struct Template {
  std::vector<std::int32_t> prefix, suffix;
};

void parse_post_processor(const JsonReader& r, const json& p, const TokenizerImpl& m, Template& t, int depth) {
  if (depth > 16) r.fail("post_processor nests too deeply");
  const std::string type = r.string(p, "type", "post_processor");
  if (type == "Sequence") {
    for (const json& q : r.array(p, "processors", "post_processor")) parse_post_processor(r, q, m, t, depth + 1);
  } else if (type == "ByteLevel") {
  } else if (type == "TemplateProcessing") {
    const json& specials = r.require(p, "special_tokens", "TemplateProcessing");
    bool after = false, seen_a = false;
    for (const json& item : r.array(p, "single", "TemplateProcessing")) {
      if (const json* seq = JsonReader::member(item, "Sequence")) {
        if (r.string(*seq, "id", "TemplateProcessing.single Sequence") != "A") r.fail("TemplateProcessing.single uses a sequence other than A");
        after = seen_a = true;
      } else if (const json* sp = JsonReader::member(item, "SpecialToken")) {
        const std::string key = r.string(*sp, "id", "TemplateProcessing.single SpecialToken");
        const json* entry = JsonReader::member(specials, key.c_str());
        if (!entry) r.fail("TemplateProcessing: special token \"", key, "\" is not in special_tokens");
        for (const json& id : r.array(*entry, "ids", "TemplateProcessing.special_tokens entry")) {
          const std::int64_t v = r.integer(id, "TemplateProcessing.special_tokens id");
          if (v < 0 || v >= static_cast<std::int64_t>(m.strings.size()) || !m.present[static_cast<std::size_t>(v)])
            r.fail("TemplateProcessing: id ", v, " of \"", key, "\" is not in the vocabulary");
          (after ? t.suffix : t.prefix).push_back(static_cast<std::int32_t>(v));
        }
      } else {
        r.fail("TemplateProcessing.single has an item that is neither Sequence nor SpecialToken");
      }
    }
    if (!seen_a) r.fail("TemplateProcessing.single has no $A");
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    for (const char* key : {"cls", "sep"}) {
      const json& v = r.require(p, key, type.c_str());
      if (!v.is_array() || v.size() != 2) r.fail(type, ".", key, " is not [token, id]");
      const std::int64_t id = r.integer(v[1], key);
      if (id < 0 || id >= static_cast<std::int64_t>(m.strings.size()) || !m.present[static_cast<std::size_t>(id)]) r.fail(type, ".", key, " id ", id, " is not in the vocabulary");
      (key[0] == 'c' ? t.prefix : t.suffix).push_back(static_cast<std::int32_t>(id));
    }
  } else {
    r.fail("post_processor type \"", type, "\" is not supported");
  }
}

void parse_bpe_model(const JsonReader& r, const json& model, std::int64_t added_count, TokenizerImpl& m) {
  const std::string type = r.string_or(model, "type", "BPE", "model");
  if (type != "BPE") r.fail("model type \"", type, "\" is not supported (BPE only)");
  if (const json* d = JsonReader::member(model, "dropout"); d && (!d->is_number() || d->get<double>() != 0.0))
    r.fail("model.dropout is set: BPE dropout would make encoding random");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (r.string_or(model, key, "", "model") != "") r.fail("model.", key, " is not supported");
  const json& vocab = r.require(model, "vocab", "model");
  if (!vocab.is_object()) r.fail("model.vocab is not an object");
  std::int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) max_id = std::max(max_id, r.integer(it.value(), "model.vocab id"));
  const std::int64_t entries = static_cast<std::int64_t>(vocab.size()) + added_count;
  if (max_id >= entries + kMaxHoles || max_id >= kMaxVocab) r.fail("model.vocab id ", max_id, " is far beyond its ", vocab.size(), " entries");
  m.resize(static_cast<std::size_t>(max_id + 1));
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::int64_t id = it.value().get<std::int64_t>();
    if (id < 0) r.fail("model.vocab id ", id, " of \"", it.key(), "\" is negative");
    if (m.present[static_cast<std::size_t>(id)]) r.fail("model.vocab id ", id, " is used by both \"", m.strings[static_cast<std::size_t>(id)], "\" and \"", it.key(), "\"");
    m.set_token(static_cast<std::int32_t>(id), it.key(), TokenKind::normal, true, kWhere);
  }
  const json& merges = r.array(model, "merges", "model");
  m.merges.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    std::string a, b;
    const json& e = merges[i];
    if (e.is_string()) {  // "a b"
      const std::string s = e.get<std::string>();
      const std::size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) r.fail("model.merges[", i, "] \"", s, "\" is not two tokens");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {  // ["a", "b"]
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      r.fail("model.merges[", i, "] is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const auto ia = m.model_ids.find(a), ib = m.model_ids.find(b), im = m.model_ids.find(a + b);
    if (ia == m.model_ids.end() || ib == m.model_ids.end() || im == m.model_ids.end())
      r.fail("model.merges[", i, "] (\"", a, "\", \"", b, "\") uses or makes a token missing from model.vocab");
    const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(ia->second)) << 32) | static_cast<std::uint32_t>(ib->second);
    m.merges[key] = {static_cast<std::int32_t>(i), im->second};  // a repeated pair: the later rank, as HF's map
  }
  m.byte_fallback = r.boolean(model, "byte_fallback", false, "model");
  m.ignore_merges = r.boolean(model, "ignore_merges", false, "model");
  m.fuse_unk = r.boolean(model, "fuse_unk", false, "model");
  if (const json* unk = JsonReader::member(model, "unk_token")) {
    if (!unk->is_string()) r.fail("model.unk_token is not a string");
    const auto it = m.model_ids.find(unk->get<std::string>());
    if (it == m.model_ids.end()) r.fail("model.unk_token \"", unk->get<std::string>(), "\" is not in model.vocab");
    m.unk = it->second;
  }
}

// tokenizer_config.json's bos_token / eos_token: a string or {"content": ...}.
std::string config_token(const JsonReader& r, const json& config, const char* key) {
  const json* v = JsonReader::member(config, key);
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object()) return r.string(*v, "content", key);
  r.fail(key, " is neither a string nor an object with \"content\"");
}

}  // namespace

std::shared_ptr<TokenizerImpl> parse_hf_json(std::string_view text, std::string_view config_text, const std::string& name) {
  const JsonReader r(kWhere, name);
  const json j = r.parse(text);
  if (!j.is_object()) r.fail("not a JSON object");
  auto m = std::make_shared<TokenizerImpl>();
  m->model = ModelKind::bpe;

  const json* added = JsonReader::member(j, "added_tokens");
  if (added && !added->is_array()) r.fail("added_tokens is not an array");
  parse_bpe_model(r, r.require(j, "model", "tokenizer.json"), added ? static_cast<std::int64_t>(added->size()) : 0, *m);

  if (const json* n = JsonReader::member(j, "normalizer")) parse_normalizer(r, *n, m->normalizers, 0);
  if (const json* p = JsonReader::member(j, "pre_tokenizer")) parse_pre_tokenizer(r, *p, m->pre_tokenizers, 0);
  if (added)
    for (const json& a : *added) {
      AddedToken t;
      const std::int64_t id = r.integer(r.require(a, "id", "added_tokens entry"), "added_tokens id");
      if (id < 0 || id >= static_cast<std::int64_t>(m->strings.size()) + kMaxHoles) r.fail("added_tokens id ", id, " is out of range");
      t.id = static_cast<std::int32_t>(id);
      t.content = r.string(a, "content", "added_tokens entry");
      t.special = r.boolean(a, "special", false, "added_tokens entry");
      t.lstrip = r.boolean(a, "lstrip", false, "added_tokens entry");
      t.rstrip = r.boolean(a, "rstrip", false, "added_tokens entry");
      if (r.boolean(a, "single_word", false, "added_tokens entry")) r.fail("added token \"", t.content, "\" has single_word, which is not supported");
      const bool normalized = r.boolean(a, "normalized", !t.special, "added_tokens entry");
      const bool in_model = static_cast<std::size_t>(id) < m->strings.size() && m->present[static_cast<std::size_t>(id)];
      const TokenKind kind = id == m->unk ? TokenKind::unknown : t.special ? TokenKind::control : TokenKind::user_defined;
      m->set_token(t.id, t.content, kind, in_model && m->strings[static_cast<std::size_t>(id)] == t.content, kWhere);
      m->special[static_cast<std::size_t>(id)] = t.special;
      (normalized ? m->normalized_added : m->raw_added).add(t);  // HF: raw ones first, the others after the normalizers
    }

  DecoderInfo dec;
  if (const json* d = JsonReader::member(j, "decoder")) {
    parse_decoder(r, *d, dec, 0);
  } else {  // no decoder: undo what the pre-tokenizer did (HF would join the raw pieces with spaces)
    for (const PreTokenizerStep& s : m->pre_tokenizers) {
      dec.byte_level |= s.kind == PreTokenizerStep::Kind::byte_level;
      if (s.kind == PreTokenizerStep::Kind::metaspace) dec.metaspace = true, dec.replacement = s.replacement, dec.strip = s.prepend != PrependScheme::never;
    }
  }
  m->decode = dec.byte_level ? DecodeKind::byte_level : dec.metaspace ? DecodeKind::metaspace : DecodeKind::raw;
  m->metaspace = dec.replacement;
  m->strip_leading_space = dec.strip;
  if (m->byte_fallback || dec.byte_fallback)
    for (std::size_t id = 0; id < m->strings.size(); ++id)
      if (m->present[id] && m->kinds[id] == TokenKind::normal && byte_token_value(m->strings[id]) >= 0) m->kinds[id] = TokenKind::byte;
  if (m->unk >= 0) m->kinds[static_cast<std::size_t>(m->unk)] = TokenKind::unknown;

  Template t;
  if (const json* p = JsonReader::member(j, "post_processor")) parse_post_processor(r, *p, *m, t, 0);
  m->prefix = t.prefix;
  m->suffix = t.suffix;
  m->bos = t.prefix.empty() ? -1 : t.prefix.front();
  m->eos = t.suffix.empty() ? -1 : t.suffix.back();

  if (!config_text.empty()) {
    const JsonReader rc(kWhere, name + " (tokenizer_config.json)");
    const json c = rc.parse(config_text);
    if (!c.is_object()) rc.fail("not a JSON object");
    auto token_id = [&](const char* key, std::int32_t fallback) {
      const std::string s = config_token(rc, c, key);
      if (s.empty()) return fallback;
      const auto it = m->all_ids.find(s);
      if (it == m->all_ids.end()) rc.fail(key, " \"", s, "\" is not in the vocabulary");
      return it->second;
    };
    m->bos = token_id("bos_token", m->bos);
    m->eos = token_id("eos_token", m->eos);
    auto apply = [&](const char* key, std::int32_t id, std::vector<std::int32_t>& v, bool front) {
      const json* flag = JsonReader::member(c, key);
      if (!flag) return;
      if (!flag->is_boolean()) rc.fail(key, " is not true/false");
      v.erase(std::remove(v.begin(), v.end(), id), v.end());
      if (flag->get<bool>()) {
        if (id < 0) rc.fail(key, " is true but there is no such token");
        v.insert(front ? v.begin() : v.end(), id);
      }
    };
    apply("add_bos_token", m->bos, m->prefix, true);
    apply("add_eos_token", m->eos, m->suffix, false);
  }
  if (m->bos < 0 && m->eos < 0)  // GPT-2's tokenizer classes default both to "<|endoftext|>"
    if (const auto it = m->all_ids.find("<|endoftext|>"); it != m->all_ids.end() && m->special[static_cast<std::size_t>(it->second)])
      m->bos = m->eos = it->second;
  m->finish();
  m->description = name + ": BPE" + (m->decode == DecodeKind::byte_level ? " (byte-level)" : m->byte_fallback ? " (byte fallback)" : "") + ", " +
                   std::to_string(m->strings.size()) + " tokens";
  return m;
}

}  // namespace detail

Tokenizer Tokenizer::from_hf_json(const std::string& tokenizer_json, const std::string& config_path) {
  const std::string text = read_file(tokenizer_json);
  const std::string config = config_path.empty() ? std::string() : read_file(config_path);
  return detail::TokenizerImpl::wrap(detail::parse_hf_json(text, config, tokenizer_json));
}

}  // namespace attend::text
