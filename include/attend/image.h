#pragma once
// A small RGB raster and a PNG writer (libpng), for heatmaps and plots. Files are written
// atomically. Drawing clips to the image; nothing here allocates per pixel.
#include <cstdint>
#include <string>
#include <vector>

namespace attend {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

class Image {
 public:
  Image(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return width_; }
  int height() const { return height_; }
  Rgb at(int x, int y) const;
  void set(int x, int y, Rgb c);                       // ignored outside the image
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // [x0, x1) x [y0, y1), clipped
  void line(int x0, int y0, int x1, int y1, Rgb c);      // Bresenham, clipped
  const std::vector<std::uint8_t>& pixels() const { return rgb_; }  // row-major RGB8

 private:
  int width_, height_;
  std::vector<std::uint8_t> rgb_;
};

// Perceptual colour map (viridis-like) for t in [0, 1]; NaN maps to grey.
Rgb colormap(float t);

std::string png_bytes(const Image& image);
void write_png(const std::string& path, const Image& image);  // atomically

}  // namespace attend
