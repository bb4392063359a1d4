#pragma once
// attend's error helpers (core/check.h) under attend::text::detail, where `detail::` would
// otherwise name this namespace.
#include "core/check.h"

namespace attend::text::detail {
using ::attend::detail::fail;
}  // namespace attend::text::detail
