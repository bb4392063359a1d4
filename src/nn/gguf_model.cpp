// load_gguf: a GGUF file as a Model. llama.cpp's names (token_embd, blk.N.attn_q, ...) bind to
// attend's parameters; the rows of attn_q / attn_k, which convert_hf_to_gguf.py reorders for
// llama.cpp's interleaved RoPE (LlamaModel.permute), are read back in Hugging Face order through a
// row map, so quantized blocks are never copied or rewritten.
#include "nn/gguf_model.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "attend/gguf.h"
#include "attend/tokenizer.h"
#include "core/check.h"
#include "io/files.h"
#include "nn/model_build.h"
#include "nn/token_codec.h"

namespace attend::nn {
namespace {

using I64 = std::int64_t;
constexpr const char* kFn = "Model::load";
std::string str(I64 v) { return std::to_string(v); }

SourceTensor describe(const gguf::File& f, const gguf::TensorInfo& t) {
  SourceTensor s;
  s.dtype_name = std::string(ggml_type_name(t.type));
  for (auto it = t.dims.rbegin(); it != t.dims.rend(); ++it) s.shape.push_back(*it);  // ggml dims[0] is the row
  s.data = f.tensor_data(t).data();
  s.supported = true;
  switch (t.type) {
    case GgmlType::f32: s.dtype = DType::f32; break;
    case GgmlType::f16: s.dtype = DType::f16; break;
    case GgmlType::bf16: s.dtype = DType::bf16; break;
    case GgmlType::q8_0:
    case GgmlType::q4_0:
    case GgmlType::q4_K:
    case GgmlType::q6_K: s.quant = t.type; break;
    default: s.supported = false;
  }
  return s;
}

// The tensors of a mapped GGUF file; the File (and its mapping) lives as long as the source.
class GgufSource final : public TensorMapSource {
 public:
  explicit GgufSource(gguf::File f) : file_(std::move(f)) {
    for (const gguf::TensorInfo& t : file_.tensors()) tensors_[t.name] = describe(file_, t);
  }
  const std::map<std::string, std::string>& metadata() const override { return metadata_; }
  const gguf::File& file() const { return file_; }

 private:
  gguf::File file_;
  std::map<std::string, std::string> metadata_;
};

ModelArchitecture gguf_architecture(const gguf::File& f, const TensorSource& src, const std::string& where) {
  const std::string arch = f.has("general.architecture") ? f.get_string("general.architecture") : "";
  if (arch != "llama" && arch != "qwen2")
    detail::fail(kFn, where, ": general.architecture '", arch, "' is not supported (supported: llama — also Mistral, TinyLlama, ",
                 "SmolLM — and qwen2)");
  const std::string P = arch + ".";
  ModelArchitecture a;
  a.described_by = "the GGUF metadata";
  ModelConfig& c = a.config;
  c.d_model = static_cast<I64>(f.get_u64(P + "embedding_length"));
  c.layers = static_cast<I64>(f.get_u64(P + "block_count"));
  c.d_ff = static_cast<I64>(f.get_u64(P + "feed_forward_length"));
  c.heads = static_cast<I64>(f.get_u64(P + "attention.head_count"));
  c.kv_heads = f.has(P + "attention.head_count_kv") ? static_cast<I64>(f.get_u64(P + "attention.head_count_kv")) : c.heads;
  c.context = static_cast<I64>(f.get_u64(P + "context_length"));
  if (c.heads < 1) detail::fail(kFn, where, ": ", P, "attention.head_count is ", c.heads);
  if (f.has(P + "attention.key_length")) {
    const I64 d = static_cast<I64>(f.get_u64(P + "attention.key_length"));
    if (d != c.d_model / c.heads || c.d_model % c.heads != 0) c.head_dim = d;
  } else if (c.d_model % c.heads != 0) {
    detail::fail(kFn, where, ": ", P, "attention.head_count ", c.heads, " does not divide ", P, "embedding_length ", c.d_model);
  }
  if (f.has(P + "attention.value_length") && static_cast<I64>(f.get_u64(P + "attention.value_length")) != c.head_size())
    detail::fail(kFn, where, ": ", P, "attention.value_length ", f.get_u64(P + "attention.value_length"), " differs from the key length ",
                 c.head_size(), " (not supported)");
  if (f.has(P + "rope.dimension_count") && static_cast<I64>(f.get_u64(P + "rope.dimension_count")) != c.head_size())
    detail::fail(kFn, where, ": ", P, "rope.dimension_count ", f.get_u64(P + "rope.dimension_count"), " is not the head size ",
                 c.head_size(), " (partial rotary embeddings are not supported)");
  c.norm_eps = f.has(P + "attention.layer_norm_rms_epsilon") ? f.get_f32(P + "attention.layer_norm_rms_epsilon") : 1e-5f;
  c.rope_base = f.has(P + "rope.freq_base") ? f.get_f32(P + "rope.freq_base") : 10000.0f;
  const std::string scaling = f.has(P + "rope.scaling.type") ? f.get_string(P + "rope.scaling.type") : "none";
  if (scaling == "linear") {
    c.rope_scaling.kind = RopeScalingKind::linear;
    c.rope_scaling.factor = f.get_f32(P + "rope.scaling.factor");
  } else if (scaling != "none") {
    detail::fail(kFn, where, ": ", P, "rope.scaling.type '", scaling, "' is not supported (none, linear)");
  }
  if (const SourceTensor* rf = src.find("rope_freqs.weight")) {  // Llama 3 scaling, as per-frequency divisors
    if (rf->quant != GgmlType::f32 || rf->dtype != DType::f32 || rf->shape != std::vector<I64>{c.head_size() / 2})
      detail::fail(kFn, where, ": tensor 'rope_freqs.weight' should be F32 ", shape_string({c.head_size() / 2}), " (half the head size ",
                   c.head_size(), "), but it is ", rf->dtype_name, " ", shape_string(rf->shape));
    a.ignore_prefixes.push_back("rope_freqs.weight");
  }
  const SourceTensor* emb = src.find("token_embd.weight");
  if (!emb || emb->shape.size() != 2) detail::fail(kFn, where, ": no 2-D tensor 'token_embd.weight'");
  c.vocab = emb->shape[0];
  c.norm = NormKind::rmsnorm;
  c.position = PositionKind::rope;
  c.mlp = MlpKind::swiglu;
  c.bias = false;
  c.qkv_bias = arch == "qwen2" || src.find("blk.0.attn_q.bias") != nullptr;
  c.out_bias = src.find("blk.0.attn_output.bias") != nullptr;
  c.mlp_bias = src.find("blk.0.ffn_up.bias") != nullptr;
  c.tied_embeddings = src.find("output.weight") == nullptr;
  if (c.layers < 1 || !src.find("blk." + str(c.layers - 1) + ".attn_q.weight") || src.find("blk." + str(c.layers) + ".attn_q.weight"))
    detail::fail(kFn, where, ": ", P, "block_count is ", c.layers, " but the file's blk.N tensors disagree");

  // llama.cpp stores Llama's q/k rows in its RoPE order (LLAMA_ROPE_TYPE_NORM); Qwen2 uses the
  // Hugging Face order (NEOX) and is not permuted.
  const bool permuted = arch == "llama";
  const I64 E = c.d_model, D = c.head_size(), H = c.heads, G = c.kv_heads, F = c.d_ff, V = c.vocab;
  const std::string hidden = P + "embedding_length " + str(E), inter = P + "feed_forward_length " + str(F);
  const std::string q = str(H) + " heads of " + str(D) + " = " + str(H * D), kv = str(G) + " key/value heads of " + str(D) + " = " + str(G * D);
  auto& b = a.bindings;
  b["tok_emb"] = {"token_embd.weight", false, 0, 0, str(V) + " tokens by " + hidden};
  for (I64 l = 0; l < c.layers; ++l) {
    const std::string h = "h." + str(l) + ".", m = "blk." + str(l) + ".";
    b[h + "ln1.w"] = {m + "attn_norm.weight", false, 0, 0, hidden};
    b[h + "attn.wq"] = {m + "attn_q.weight", true, 0, 0, q + " by " + hidden, permuted ? H : 0};
    b[h + "attn.bq"] = {m + "attn_q.bias", false, 0, 0, q, permuted ? H : 0};
    b[h + "attn.wk"] = {m + "attn_k.weight", true, 0, 0, kv + " by " + hidden, permuted ? G : 0};
    b[h + "attn.bk"] = {m + "attn_k.bias", false, 0, 0, kv, permuted ? G : 0};
    b[h + "attn.wv"] = {m + "attn_v.weight", true, 0, 0, kv + " by " + hidden};
    b[h + "attn.bv"] = {m + "attn_v.bias", false, 0, 0, kv};
    b[h + "attn.wo"] = {m + "attn_output.weight", true, 0, 0, hidden + " by " + q};
    b[h + "attn.bo"] = {m + "attn_output.bias", false, 0, 0, hidden};
    b[h + "ln2.w"] = {m + "ffn_norm.weight", false, 0, 0, hidden};
    b[h + "mlp.fc"] = {m + "ffn_gate.weight", true, 0, 0, inter + " by " + hidden};
    b[h + "mlp.fc_b"] = {m + "ffn_gate.bias", false, 0, 0, inter};
    b[h + "mlp.up"] = {m + "ffn_up.weight", true, 0, 0, inter + " by " + hidden};
    b[h + "mlp.up_b"] = {m + "ffn_up.bias", false, 0, 0, inter};
    b[h + "mlp.proj"] = {m + "ffn_down.weight", true, 0, 0, hidden + " by " + inter};
    b[h + "mlp.proj_b"] = {m + "ffn_down.bias", false, 0, 0, hidden};
  }
  b["ln_f.w"] = {"output_norm.weight", false, 0, 0, hidden};
  b["lm_head"] = {"output.weight", false, 0, 0, str(V) + " tokens by " + hidden};
  return a;
}

}  // namespace

bool is_gguf_file(const std::string& path) {
  std::uint64_t size = 0;
  const int fd = io::open_regular_file(path, "Model::load", size);  // a FIFO or a device is refused, never read
  char magic[4] = {};
  const bool ok = size >= 4 && io::read_at(fd, 0, magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
  ::close(fd);
  return ok;
}

Model load_gguf(const std::string& path) {
  auto source = std::make_shared<GgufSource>(gguf::File::open(path));
  const gguf::File& f = source->file();
  const ModelArchitecture arch = gguf_architecture(f, *source, path);
  const std::optional<text::VocabSpec> vocab = text::gguf_vocab_spec(f);
  std::unique_ptr<Model::Impl> impl = build_model(arch, source, path);
  impl->origin = path;
  // llama.cpp's rope_freqs (convert_hf_to_gguf.py's Llama 3 rope factors): inverse frequency i is
  // divided by factor i (llama.cpp: theta / freq_factors[i]).
  if (const SourceTensor* rf = source->find("rope_freqs.weight")) {
    const I64 n = rf->shape[0];
    std::vector<float> factors(static_cast<std::size_t>(n));
    std::memcpy(factors.data(), rf->data, factors.size() * sizeof(float));
    for (I64 i = 0; i < n; ++i) {
      const float fi = factors[static_cast<std::size_t>(i)];
      if (!(fi > 0.0f) || !std::isfinite(fi)) detail::fail(kFn, path, ": rope_freqs.weight[", i, "] is ", fi, " (must be positive)");
      impl->rope_freq[static_cast<std::size_t>(i)] /= static_cast<double>(fi);
    }
    impl->rope_factors = true;
  }
  if (vocab) impl->codec = tokenizer_codec(text::Tokenizer::from_vocab(*vocab), impl->config.vocab, path);
  else impl->codec = byte_codec(impl->config.vocab, true);  // no tokenizer.ggml.* keys: byte b is token b
  return Model::from_impl(std::move(impl));
}

}  // namespace attend::nn
