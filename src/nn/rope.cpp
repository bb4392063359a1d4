// Rotary position embedding (GPT-NeoX half-split layout, as Llama's rotate_half), in place, and its
// frequencies with Hugging Face's linear and llama3 scaling.
#include <cmath>
#include <numbers>

#include "nn/layers.h"

namespace attend::nn {

std::vector<double> rope_frequencies(const ModelConfig& c) {
  const std::int64_t D = c.head_size(), half = D / 2;
  const RopeScaling& s = c.rope_scaling;
  std::vector<double> f(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < half; ++i) {
    double inv = std::pow(static_cast<double>(c.rope_base), -2.0 * static_cast<double>(i) / static_cast<double>(D));
    if (s.kind == RopeScalingKind::linear) {
      inv /= s.factor;
    } else if (s.kind == RopeScalingKind::llama3) {  // transformers' _compute_llama3_parameters
      const double old_ctx = static_cast<double>(s.original_context);
      const double low_wavelen = old_ctx / s.low_freq_factor, high_wavelen = old_ctx / s.high_freq_factor;
      const double wavelen = 2 * std::numbers::pi / inv;
      if (wavelen > low_wavelen) {
        inv /= s.factor;  // low frequencies: scaled
      } else if (wavelen >= high_wavelen) {  // medium: blended between scaled and unscaled
        const double smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        inv = (1 - smooth) * inv / s.factor + smooth * inv;
      }  // high frequencies (wavelen < high_wavelen): unchanged
    }
    f[static_cast<std::size_t>(i)] = inv;
  }
  return f;
}

// x: [R, H, D] = [B, T, H, D]; row r has position pos0 + r % T
void rope_apply(float* x, std::int64_t R, std::int64_t T, std::int64_t H, std::int64_t D,
                std::int64_t pos0, const double* inv_freq, bool inverse) {
  const std::int64_t half = D / 2;
  for (std::int64_t r = 0; r < R; ++r) {
    const double pos = static_cast<double>(pos0 + r % T);
    for (std::int64_t c = 0; c < half; ++c) {
      // (a, b) -> (a cos θ − b sin θ, a sin θ + b cos θ), θ = pos · inv_freq[c]
      const double theta = pos * inv_freq[c];
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

void rope_apply(float* x, std::int64_t R, std::int64_t T, std::int64_t H, std::int64_t D,
                std::int64_t pos0, float base, bool inverse) {
  std::vector<double> f(static_cast<std::size_t>(D / 2));
  for (std::int64_t c = 0; c < D / 2; ++c)
    f[static_cast<std::size_t>(c)] = std::pow(static_cast<double>(base), -2.0 * static_cast<double>(c) / static_cast<double>(D));
  rope_apply(x, R, T, H, D, pos0, f.data(), inverse);
}

}  // namespace attend::nn
