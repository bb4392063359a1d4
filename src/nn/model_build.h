#pragma once
// Building a Model from an architecture description and a tensor source, whatever the file format.
// A format reader produces the two: Hugging Face (config.json + safetensors, hf_model.cpp), attend's
// own layout and the legacy GPT-2 file (model_io.cpp), and later GGUF (a load_gguf(path) that reads
// the metadata into a ModelArchitecture and offers its tensors as a TensorSource); build_model
// binds one to the other, checks every shape against the configuration, and keeps the source alive
// while the model's weight views point into it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attend/dtype.h"
#include "attend/quant.h"
#include "attend/model.h"
#include "attend/safetensors.h"
#include "nn/model_impl.h"

namespace attend::nn {

// One stored tensor: its dtype, shape and bytes (row-major). `dtype_name` is the format's own name;
// `supported` says whether `dtype` (or `quant`) is one the model can use (f32, bf16, f16; GGUF's
// q8_0, q4_0, q4_K, q6_K blocks).
struct SourceTensor {
  std::string dtype_name;
  bool supported = false;
  DType dtype = DType::f32;
  GgmlType quant = GgmlType::f32;  // not f32: rows of ggml blocks (dtype unused)
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
};

// name -> tensor. The bytes stay valid for the lifetime of the source. Read-only, thread-safe.
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual const SourceTensor* find(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  virtual const std::map<std::string, std::string>& metadata() const = 0;  // e.g. safetensors __metadata__
};

// A source whose tensors sit in a name-ordered map, filled by the reader that derives from it.
class TensorMapSource : public TensorSource {
 public:
  const SourceTensor* find(const std::string& name) const override;
  std::vector<std::string> names() const override;

 protected:
  std::map<std::string, SourceTensor> tensors_;
};

// Safetensors sources, memory-mapped read-only: one file, or a Hugging Face shard index
// (model.safetensors.index.json: {"weight_map": {tensor: shard file in the same folder}}).
std::shared_ptr<const TensorSource> map_safetensors(const std::string& path);
std::shared_ptr<const TensorSource> map_safetensors_index(const std::string& index_path);
// A parsed, in-memory file (f32 values) as a source; the source keeps `file` alive.
std::shared_ptr<const TensorSource> safetensors_source(std::shared_ptr<const SafetensorsFile> file);

// Where one of the model's parameters (Model::Impl's ParamSpec, by its attend name) comes from.
struct TensorBinding {
  std::string tensor;           // the source's name, e.g. "model.layers.0.self_attn.q_proj.weight"
  bool transposed = false;      // a linear [I, O] stored [O, I] (nn.Linear); tables and vectors never are
  std::int64_t col0 = 0;        // a column slice: the parameter's columns start at stored column col0
  std::int64_t stored_cols = 0; //   of a stored tensor this many columns wide (GPT-2's fused c_attn); 0: no slice
  std::string why;              // what in the description fixes its shape, for messages ("32 heads of 64 = 2048")
  std::int64_t rope_heads = 0;  // > 0: stored rows in llama.cpp's RoPE order for this many heads (GGUF q/k), undone
};

struct ModelArchitecture {
  ModelConfig config;
  std::string described_by;                       // for messages: "config.json", "attend_config metadata", ...
  std::map<std::string, TensorBinding> bindings;  // attend parameter name -> source tensor
  std::vector<std::string> ignore_suffixes, ignore_prefixes;  // source tensors the model does not use (buffers)
};

// Binds every parameter of arch.config's layout to its source tensor (shape, dtype and alignment
// checked; vectors converted to f32; matrices viewed in place) and refuses unused source tensors
// not covered by the ignore lists. `where` prefixes messages (e.g. "Model::load: <folder>").
std::unique_ptr<Model::Impl> build_model(const ModelArchitecture& arch, std::shared_ptr<const TensorSource> source,
                                         const std::string& where);

std::string shape_string(const std::vector<std::int64_t>& shape);  // "[2048, 2048]"

}  // namespace attend::nn
