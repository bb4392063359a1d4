// Writes the seed corpora of the parser fuzzers with attend's own writers (run once; the output
// is checked in under tests/fuzz/corpus/). Not part of the build:
//   g++ -std=c++20 -Iinclude -Isrc tests/fuzz/make_seeds.cpp build/libattend.a -lopenblas -lpng -o /tmp/make_seeds
//   /tmp/make_seeds tests/fuzz/corpus
#include <cstdint>
#include <string>
#include <vector>

#include "attend/io.h"
#include "attend/model.h"
#include "attend/safetensors.h"

using namespace attend;

namespace {

std::string raw(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

nn::ModelConfig tiny(nn::PositionKind pos) {
  nn::ModelConfig c;
  c.vocab = 6;
  c.context = 4;
  c.d_model = 4;
  c.layers = 1;
  c.heads = 2;
  c.kv_heads = pos == nn::PositionKind::rope ? 1 : 2;
  c.d_ff = 4;
  c.position = pos;
  if (pos == nn::PositionKind::rope) {
    c.norm = nn::NormKind::rmsnorm;
    c.mlp = nn::MlpKind::swiglu;
    c.bias = false;
    c.tied_embeddings = false;
  }
  return c;
}

// The GPT-2 (Hugging Face) layout of a tiny model: V = 6, context 4, E = 4, F = 8, one layer.
void write_gpt2(const std::string& path, bool prefixed) {
  const std::int64_t V = 6, C = 4, E = 4, F = 8;
  std::vector<std::vector<float>> store;
  std::vector<SafeTensorRef> refs;
  const std::string pre = prefixed ? "transformer." : "";
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    store.emplace_back(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) store.back()[static_cast<std::size_t>(i)] = 0.01f * static_cast<float>(i % 13) - 0.05f;
    refs.push_back({pre + name, std::move(shape), nullptr});
  };
  store.reserve(32);
  add("wte.weight", {V, E});
  add("wpe.weight", {C, E});
  add("h.0.ln_1.weight", {E});
  add("h.0.ln_1.bias", {E});
  add("h.0.attn.c_attn.weight", {E, 3 * E});
  add("h.0.attn.c_attn.bias", {3 * E});
  add("h.0.attn.c_proj.weight", {E, E});
  add("h.0.attn.c_proj.bias", {E});
  add("h.0.ln_2.weight", {E});
  add("h.0.ln_2.bias", {E});
  add("h.0.mlp.c_fc.weight", {E, F});
  add("h.0.mlp.c_fc.bias", {F});
  add("h.0.mlp.c_proj.weight", {F, E});
  add("h.0.mlp.c_proj.bias", {E});
  add("ln_f.weight", {E});
  add("ln_f.bias", {E});
  for (std::size_t i = 0; i < refs.size(); ++i) refs[i].data = store[i].data();
  // Both carry n_head: a lone GPT-2 file without it is refused (no tensor shows the head count).
  write_safetensors(path, refs, {{"n_head", "2"}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  // safetensors: F32 via the writer (with metadata, an empty tensor, a scalar), F16/BF16 by hand.
  const float a[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
  write_safetensors(dir + "/safetensors/f32_2x3.safetensors", {{"a", {2, 3}, a}}, {{"format", "pt"}});
  write_safetensors(dir + "/safetensors/f32_multi.safetensors", {{"w", {3}, a}, {"empty", {0, 4}, a}, {"s", {}, a + 3}}, {});
  write_file_atomically(dir + "/safetensors/f16_2.safetensors",
                        raw(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", std::string("\x00\x3c\x00\xc0", 4)));
  write_file_atomically(dir + "/safetensors/bf16_2.safetensors",
                        raw(R"({"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[0,4]}})", std::string("\x80\x3f\x00\xc0", 4)));
  write_file_atomically(dir + "/safetensors/bad_offsets.safetensors",
                        raw(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(8, '\0')));
  write_file_atomically(dir + "/safetensors/bad_dtype.safetensors",
                        raw(R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')));
  // model: attend layout (learned/GELU and RoPE/SwiGLU/GQA), GPT-2 layout (plain and prefixed).
  nn::Model(tiny(nn::PositionKind::learned), 1).save(dir + "/model/attend_learned.safetensors");
  nn::Model(tiny(nn::PositionKind::rope), 2).save(dir + "/model/attend_rope_gqa.safetensors");
  write_gpt2(dir + "/model/gpt2.safetensors", false);
  write_gpt2(dir + "/model/gpt2_prefixed.safetensors", true);
  // links: "<links>\0<stakes>"
  auto links = [&](const std::string& name, const std::string& l, const std::string& s) {
    write_file_atomically(dir + "/links/" + name, l + std::string(1, '\0') + s);
  };
  links("valid.csv", "neuron,from,to\nn1,a,b\nn2,b,c\nn1,c,a\n", "neuron,stake\nn1,10\nn2,3\n");
  links("crlf_no_header.csv", "n1,a,b\r\nn1,b,a\r\n", "n1,18446744073709551615\r\n");
  links("unknown_neuron.csv", "neuron,from,to\nn9,a,b\n", "neuron,stake\nn1,1\n");
  links("bad_stake.csv", "neuron,from,to\nn1,a,b\n", "neuron,stake\nn1,-4\n");
  return 0;
}
