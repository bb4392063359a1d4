// SentencePiece tokenizer.model (Llama 2, TinyLlama, Mistral, ...): libsentencepiece encodes; the
// vocabulary, piece types and the dummy-prefix setting come from our own read of the model file.
// BOS is added like llama.cpp and Hugging Face's LlamaTokenizer do, unless a tokenizer_config.json
// beside the model says otherwise (add_bos_token / add_eos_token).
#include <sentencepiece_processor.h>

#include <filesystem>

#include "attend/io.h"
#include "text/json_util.h"
#include "text/spm_proto.h"
#include "text/tokenizer_impl.h"

namespace attend::text {
namespace detail {

struct SentencePieceModel {
  sentencepiece::SentencePieceProcessor processor;
  // The same model without the dummy prefix, for the words after the first (see word_split).
  std::unique_ptr<sentencepiece::SentencePieceProcessor> no_prefix;
};

void encode_sentencepiece(const SentencePieceModel& m, std::string_view text, bool first, std::vector<std::int32_t>& out) {
  std::vector<int> ids;
  const auto& sp = first || !m.no_prefix ? m.processor : *m.no_prefix;
  const auto status = sp.Encode(text, &ids);
  if (!status.ok()) detail::fail("Tokenizer::encode", "libsentencepiece: ", status.ToString());
  out.insert(out.end(), ids.begin(), ids.end());
}

namespace {
constexpr const char* kWhere = "Tokenizer::from_sentencepiece";
}

std::shared_ptr<TokenizerImpl> parse_sentencepiece(std::string_view bytes, const std::string& name) {
  const SpmProto proto = parse_spm_proto(bytes, kWhere, name);
  if (static_cast<std::int64_t>(proto.pieces.size()) >= kMaxVocab) detail::fail(kWhere, name, ": ", proto.pieces.size(), " pieces is too many");
  auto sp = std::make_shared<SentencePieceModel>();
  const auto status = sp->processor.LoadFromSerializedProto(bytes);
  if (!status.ok()) detail::fail(kWhere, name, ": libsentencepiece refuses it: ", status.ToString());
  if (sp->processor.GetPieceSize() != static_cast<int>(proto.pieces.size()))
    detail::fail(kWhere, name, ": libsentencepiece sees ", sp->processor.GetPieceSize(), " pieces, the file has ", proto.pieces.size());

  // Word-by-word encoding is exact for plain-text normalization (identity, spaces kept) with
  // BPE or unigram pieces; the words after the first go to a copy without the dummy prefix (a
  // NormalizerSpec {add_dummy_prefix: false} appended: protobuf merges it into the first).
  const bool word_split = proto.normalizer == "identity" && !proto.remove_extra_whitespaces && proto.escape_whitespaces &&
                          (proto.model_type == 1 || proto.model_type == 2);
  if (word_split && proto.add_dummy_prefix) {
    std::string patched(bytes);
    patched += std::string("\x1a\x02\x18\x00", 4);
    sp->no_prefix = std::make_unique<sentencepiece::SentencePieceProcessor>();
    if (!sp->no_prefix->LoadFromSerializedProto(patched).ok()) sp->no_prefix.reset();
  }
  auto m = std::make_shared<TokenizerImpl>();
  m->model = ModelKind::sentencepiece;
  m->word_split_allowed = word_split && (sp->no_prefix || !proto.add_dummy_prefix);
  m->sentencepiece = sp;
  m->decode = DecodeKind::metaspace;
  m->strip_leading_space = proto.add_dummy_prefix;
  m->resize(proto.pieces.size());
  static constexpr TokenKind kKinds[] = {TokenKind::normal, TokenKind::normal, TokenKind::unknown, TokenKind::control,
                                         TokenKind::user_defined, TokenKind::unused, TokenKind::byte};
  for (std::size_t i = 0; i < proto.pieces.size(); ++i) {
    const SpmProto::Piece& p = proto.pieces[i];
    const TokenKind kind = kKinds[p.type];
    m->set_token(static_cast<std::int32_t>(i), p.piece, kind, true, kWhere);
    if (kind == TokenKind::control || kind == TokenKind::unknown) {
      m->special[i] = 1;
      m->raw_added.add({p.piece, static_cast<std::int32_t>(i), true});  // with parse_special only
    }
    if (kind == TokenKind::unknown) m->unk = static_cast<std::int32_t>(i);
  }
  m->bos = sp->processor.bos_id();
  m->eos = sp->processor.eos_id();
  if (m->bos >= 0) m->prefix = {m->bos};
  m->finish();
  m->description = name + ": SentencePiece " + (proto.model_type == 2 ? "BPE" : proto.model_type == 1 ? "unigram" : "model") +
                   " (libsentencepiece), " + std::to_string(m->strings.size()) + " pieces";
  return m;
}

}  // namespace detail

Tokenizer Tokenizer::from_sentencepiece(const std::string& model_path) {
  auto m = detail::parse_sentencepiece(read_file(model_path), model_path);
  const std::filesystem::path config = std::filesystem::path(model_path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config)) {
    const detail::JsonReader r("Tokenizer::from_sentencepiece", config.string());
    const nlohmann::json c = r.parse(read_file(config.string()));
    if (!c.is_object()) r.fail("not a JSON object");
    if (detail::JsonReader::member(c, "add_bos_token")) {
      m->prefix.clear();
      if (r.boolean(c, "add_bos_token", true, "tokenizer_config.json")) {
        if (m->bos < 0) r.fail("add_bos_token is true but the model has no BOS piece");
        m->prefix = {m->bos};
      }
    }
    if (r.boolean(c, "add_eos_token", false, "tokenizer_config.json")) {
      if (m->eos < 0) r.fail("add_eos_token is true but the model has no EOS piece");
      m->suffix = {m->eos};
    }
  }
  return detail::TokenizerImpl::wrap(std::move(m));
}

}  // namespace attend::text
