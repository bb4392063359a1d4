#include "core/check.h"

namespace attend::detail {

void assert_failed(const char* expr, const char* file, int line) {
  throw Error(concat("internal error: assertion '", expr, "' failed at ", file, ":", line));
}

}  // namespace attend::detail
