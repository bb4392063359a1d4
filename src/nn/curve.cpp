// The loss curve as CSV and as a PNG plot (axes, ticks, the curve; no text).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "attend/image.h"
#include "attend/io.h"
#include "attend/train.h"

namespace attend::nn {

void write_curve_csv(const std::string& path, const std::vector<CurvePoint>& curve) {
  std::string s = "step,loss,lr,tokens_per_s,grad_norm,train_accuracy,level\n";
  char line[200];
  for (const CurvePoint& p : curve) {
    std::snprintf(line, sizeof line, "%lld,%.6f,%.6g,%.1f,%.4f,%.4f,%d\n", static_cast<long long>(p.step), p.loss, p.lr,
                  p.tokens_per_s, p.grad_norm, p.accuracy, p.level);
    s += line;
  }
  write_file_atomically(path, s);
}

// Plot area [60, W − 20] x [20, H − 40]; y from 0 to the largest loss (linear).
void write_curve_png(const std::string& path, const std::vector<CurvePoint>& curve) {
  constexpr int kW = 720, kH = 420, kX0 = 60, kX1 = kW - 20, kY0 = 20, kY1 = kH - 40;
  Image img(kW, kH);
  const Rgb axis{40, 40, 40}, grid{225, 225, 225}, line{31, 119, 180};
  for (int i = 0; i <= 5; ++i) {  // grid lines and ticks at fifths
    const int y = kY1 - (kY1 - kY0) * i / 5, x = kX0 + (kX1 - kX0) * i / 5;
    img.line(kX0, y, kX1, y, grid);
    img.line(kX0 - 5, y, kX0, y, axis);
    img.line(x, kY1, x, kY1 + 5, axis);
  }
  img.line(kX0, kY0, kX0, kY1, axis);
  img.line(kX0, kY1, kX1, kY1, axis);
  if (!curve.empty()) {
    double ymax = 0;
    for (const CurvePoint& p : curve)
      if (std::isfinite(p.loss)) ymax = std::max(ymax, p.loss);
    if (ymax <= 0) ymax = 1;
    const double n = static_cast<double>(std::max<std::size_t>(curve.size() - 1, 1));
    int px = -1, py = -1;
    for (std::size_t i = 0; i < curve.size(); ++i) {
      const double l = std::isfinite(curve[i].loss) ? curve[i].loss : ymax;
      const int x = kX0 + static_cast<int>(std::lround((kX1 - kX0) * static_cast<double>(i) / n));
      const int y = kY1 - static_cast<int>(std::lround((kY1 - kY0) * l / ymax));
      if (px >= 0) {
        img.line(px, py, x, y, line);
        img.line(px, py + 1, x, y + 1, line);  // two pixels thick
      }
      px = x;
      py = y;
    }
  }
  write_png(path, img);
}

}  // namespace attend::nn
