// Process-wide numerics choices (attend/runtime.h): one atomic each, read once per kernel call.
#include <atomic>

#include "attend/runtime.h"

namespace attend {
namespace {

std::atomic<bool> g_int8_activations{true};  // q8_0 decode products in integers (llama.cpp's scheme)

}  // namespace

void set_int8_activations(bool on) { g_int8_activations.store(on, std::memory_order_relaxed); }
bool int8_activations() { return g_int8_activations.load(std::memory_order_relaxed); }

}  // namespace attend
