#pragma once
// File formats: NumPy .npy arrays (f32 and f16; rank <= 4) and atomic file writes.
#include <initializer_list>
#include "attend/span.h"
#include <string>
#include <string_view>

#include "attend/tensor.h"

namespace attend {

// Reads a little-endian C-order .npy file of dtype <f4 or <f2. Throws attend::Error naming the
// file and the problem (missing, truncated, unsupported dtype, Fortran order, bad header...).
Tensor read_npy(const std::string& path);
// Parses .npy bytes held in memory (`name` is used in messages).
Tensor parse_npy(std::string_view bytes, const std::string& name);
// Writes a view (any strides; f32 or f16) as a C-order .npy file, atomically.
void write_npy(const std::string& path, const TensorView& t);
std::string npy_bytes(const TensorView& t);

// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename, fsync
// of the folder. On any error (full disk included) the old file is untouched and this throws.
void write_file_atomically(const std::string& path, std::string_view bytes);
// The same for content in several pieces written one after another (no concatenated copy).
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces);
void write_file_atomically(const std::string& path, Span<const std::string_view> pieces);
std::string read_file(const std::string& path);

}  // namespace attend
