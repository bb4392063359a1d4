#pragma once
// Validation shared by every public entry point that takes TensorViews.
#include <initializer_list>
#include <utility>

#include "attend/tensor.h"

namespace attend::core {

// Throws attend::Error("<fn>: <name> ...") unless `t` is a non-null view of rank `rank` with
// non-negative extents, byte size that fits 64 bits, and (unless allow_broadcast) no zero stride
// on an extent > 1.
void check_view(const char* fn, const char* name, const TensorView& t, int rank, bool allow_broadcast = false);
// Throws if the memory `t` spans overlaps that of any input listed.
void check_no_overlap(const char* fn, const char* name, const TensorView& t,
                      std::initializer_list<std::pair<const char*, const TensorView*>> inputs);
// Throws if `t` could write one element twice (a zero stride on an extent > 1).
void check_writable(const char* fn, const char* name, const TensorView& t);
// Byte range [first, last) that a view touches (empty views: {0, 0}).
std::pair<const char*, const char*> byte_span(const TensorView& t);

}  // namespace attend::core
