#pragma once
// The C API's plumbing: the thread-local last error, the exception barrier every entry point runs
// its body through, and the conversions from C descriptors to attend's C++ types.
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include "attend/span.h"

#include "attend/attend_c.h"
#include "attend/attention.h"
#include "attend/decode.h"
#include "attend/error.h"
#include "attend/tensor.h"

namespace attend::capi {

void clear_error() noexcept;
const char* last_error_message() noexcept;
attend_status set_error(attend_status status, const char* message) noexcept;
attend_status status_of(const attend::Error& e) noexcept;  // "internal error: ..." -> ATTEND_ERROR_INTERNAL

// Runs body(); maps every exception to a status and the last-error message, so that nothing
// thrown in C++ crosses the C boundary (unwinding into C code is undefined behaviour).
template <typename Body>
attend_status guarded(Body&& body) noexcept {
  clear_error();
  try {
    body();
    return ATTEND_OK;
  } catch (const attend::Error& e) {
    return set_error(status_of(e), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(ATTEND_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(ATTEND_ERROR_INTERNAL, e.what());
  } catch (...) {
    return set_error(ATTEND_ERROR_INTERNAL, "unknown exception");
  }
}

// The C dtype value as attend::DType (throws "<fn>: <name> has dtype 7, not ...").
DType dtype_of(const char* fn, const char* name, std::int32_t dtype);

// A required tensor (throws "<fn>: <name> is NULL" / bad rank or dtype) or an optional one
// (NULL pointer or NULL data: the empty view).
TensorView required_view(const char* fn, const char* name, const attend_tensor* t);
TensorView optional_view(const char* fn, const char* name, const attend_tensor* t);

// The C++ options for attend_attention*(); the spans point into the caller's arrays.
AttentionOptions attention_options(const char* fn, const attend_options* opts);
DecodeOptions decode_options(const char* fn, const attend_decode_options* opts);

// scale field: 0 means the default 1/sqrt(D).
std::optional<float> scale_of(float scale);

}  // namespace attend::capi
