// Rotary position embedding (GPT-NeoX half-split layout), in place.
#include <cmath>

#include "nn/layers.h"

namespace attend::nn {

// x: [R, H, D] = [B, T, H, D]; row r has position pos0 + r % T
void rope_apply(float* x, std::int64_t R, std::int64_t T, std::int64_t H, std::int64_t D,
                std::int64_t pos0, float base, bool inverse) {
  const std::int64_t half = D / 2;
  for (std::int64_t r = 0; r < R; ++r) {
    const double pos = static_cast<double>(pos0 + r % T);
    for (std::int64_t c = 0; c < half; ++c) {
      // (a, b) -> (a cos θ − b sin θ, a sin θ + b cos θ), θ = pos · base^(−2c/D)
      const double theta = pos * std::pow(static_cast<double>(base), -2.0 * static_cast<double>(c) / static_cast<double>(D));
      const float cs = static_cast<float>(std::cos(theta));
      const float sn = static_cast<float>(inverse ? -std::sin(theta) : std::sin(theta));
      for (std::int64_t h = 0; h < H; ++h) {
        float* p = x + (r * H + h) * D;
        const float a = p[c], b = p[c + half];
        p[c] = a * cs - b * sn;
        p[c + half] = a * sn + b * cs;
      }
    }
  }
}

}  // namespace attend::nn
