#include "attend/image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdlib>

#include "attend/io.h"
#include "core/check.h"

namespace attend {

Image::Image(int width, int height, Rgb background) : width_(width), height_(height) {
  if (width <= 0 || height <= 0 || width > 32768 || height > 32768)
    detail::fail("Image", "size ", width, "x", height, " is outside 1..32768");
  rgb_.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
  fill_rect(0, 0, width, height, background);
}

Rgb Image::at(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return {};
  const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3;
  rgb_[i] = c.r;
  rgb_[i + 1] = c.g;
  rgb_[i + 2] = c.b;
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  x0 = std::clamp(x0, 0, width_); x1 = std::clamp(x1, 0, width_);
  y0 = std::clamp(y0, 0, height_); y1 = std::clamp(y1, 0, height_);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) set(x, y, c);
}

void Image::line(int x0, int y0, int x1, int y1, Rgb c) {
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (int guard = 0; guard < 200000; ++guard) {
    set(x0, y0, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
  }
}

Rgb colormap(float t) {
  if (std::isnan(t)) return {128, 128, 128};
  t = std::clamp(t, 0.0f, 1.0f);
  // Viridis sampled at 6 stops, linearly interpolated.
  static const float stops[6][3] = {{68, 1, 84}, {65, 68, 135}, {42, 120, 142}, {34, 168, 132}, {122, 209, 81}, {253, 231, 37}};
  const float x = t * 5;
  const int i = std::min(4, static_cast<int>(x));
  const float f = x - static_cast<float>(i);
  auto mix = [&](int ch) { return static_cast<std::uint8_t>(std::lround(stops[i][ch] * (1 - f) + stops[i + 1][ch] * f)); };
  return {mix(0), mix(1), mix(2)};
}

namespace {
void append_bytes(png_structp png, png_bytep data, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), n);
}
void no_flush(png_structp) {}
}  // namespace

std::string png_bytes(const Image& image) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!png) detail::fail("write_png", "cannot create a PNG writer");
  png_infop info = png_create_info_struct(png);
  // libpng reports errors by longjmp (C code cannot unwind C++ exceptions): land here, then throw.
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    detail::fail("write_png", "libpng failed to encode a ", image.width(), "x", image.height(), " image");
  }
  {
    png_set_write_fn(png, &out, append_bytes, no_flush);
    png_set_IHDR(png, info, static_cast<png_uint_32>(image.width()), static_cast<png_uint_32>(image.height()), 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < image.height(); ++y)
      png_write_row(png, const_cast<png_bytep>(image.pixels().data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(image.width()) * 3));
    png_write_end(png, nullptr);
  }
  png_destroy_write_struct(&png, &info);
  return out;
}

void write_png(const std::string& path, const Image& image) { write_file_atomically(path, png_bytes(image)); }

}  // namespace attend
