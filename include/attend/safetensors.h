#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
// and the data section. The reader validates every header field (dtype, shape, offsets within the
// data section, size = numel · dtype size, no overlaps, data fully covered) and never trusts an
// offset; F32, F16 and BF16 tensors are read and converted to f32. The writer writes F32,
// atomically (temporary file, fsync, rename). parse_safetensors_header validates the same header
// without reading the data, for readers that map the file and keep tensors in their stored dtype.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace attend {

struct SafeTensor {
  std::string dtype;                 // as stored: "F32", "F16" or "BF16"
  std::vector<std::int64_t> shape;
  std::vector<float> values;         // converted to f32, row-major
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::map<std::string, SafeTensor> tensors;
};

// One tensor of a header: where its bytes lie in the data section (validated).
struct SafeTensorEntry {
  std::string dtype;                 // as stored: "F32", "F16", "BF16", "F64", "I64", "BOOL", ...
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets within the data section
};

struct SafetensorsHeader {
  std::map<std::string, std::string> metadata;
  std::map<std::string, SafeTensorEntry> tensors;
  std::uint64_t data_offset = 0;     // where the data section starts in the file (8 + header length)
};

// Validates the header of a whole file held in `bytes` (offsets are checked against its data
// section). Every dtype of the safetensors format is accepted here; the caller decides which it
// can use (parse_safetensors refuses all but F32, F16 and BF16).
SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& name);

// Parses a whole file held in memory (`name` is used in error messages).
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name);
SafetensorsFile read_safetensors(const std::string& path);

// One tensor to write: f32 data of numel(shape) elements.
struct SafeTensorRef {
  std::string name;
  std::vector<std::int64_t> shape;
  const float* data = nullptr;
};
std::string safetensors_bytes(const std::vector<SafeTensorRef>& tensors,
                              const std::map<std::string, std::string>& metadata);
void write_safetensors(const std::string& path, const std::vector<SafeTensorRef>& tensors,
                       const std::map<std::string, std::string>& metadata);  // atomically

}  // namespace attend
