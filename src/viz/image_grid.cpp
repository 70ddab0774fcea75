#include "deepsc/viz/image_grid.h"

#include "deepsc/data/atomic_file.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>

// stb is used header-only: the implementation is compiled here, into deepsc_viz, so neither this
// library nor its downstream users (find_package(deepsc)) need to link libstb. STATIC gives every
// stb function internal linkage, so a user program that compiles its own copy of stb cannot clash
// with ours at link time.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace deepsc::viz {

namespace {

std::string shape_of(c10::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

[[noreturn]] void invalid(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string(fn) + ": " + what);
}

// Smallest integer c with c·c ≥ k (k ≥ 1), computed without trusting floating-point sqrt.
int64_t ceil_sqrt(int64_t k) {
  auto c = static_cast<int64_t>(std::sqrt(static_cast<double>(k)));
  while (c * c < k) ++c;
  while (c > 1 && (c - 1) * (c - 1) >= k) --c;
  return c;
}

std::string errno_suffix(int err) { return err ? std::string(": ") + std::strerror(err) : std::string(); }

}  // namespace

torch::Tensor tile_grid(const torch::Tensor& tiles, int64_t columns, int64_t pad, bool normalise_each,
                        double pad_value) {
  const char* fn = "tile_grid";
  if (!tiles.defined()) invalid(fn, "tiles tensor is undefined");
  if (tiles.dim() != 4) invalid(fn, "tiles must have shape [K, C, h, w], got " + shape_of(tiles.sizes()));
  if (tiles.is_complex()) invalid(fn, "tiles must be real, got a complex tensor");
  const int64_t K = tiles.size(0), C = tiles.size(1), h = tiles.size(2), w = tiles.size(3);
  if (K < 1 || h < 1 || w < 1) invalid(fn, "tiles must be non-empty, got " + shape_of(tiles.sizes()));
  if (C != 1 && C != 3) invalid(fn, "tiles must have 1 or 3 channels, got " + std::to_string(C));
  if (columns < 0) invalid(fn, "columns must be >= 1 (or 0 for automatic), got " + std::to_string(columns));
  if (pad < 0) invalid(fn, "pad must be >= 0, got " + std::to_string(pad));
  if (columns == 0) columns = ceil_sqrt(K);
  const int64_t rows = (K + columns - 1) / columns, slots = rows * columns;

  // Pictures only: detach so that a trainable dictionary can be drawn without touching autograd.
  const torch::Tensor t = tiles.detach().to(torch::kFloat);
  torch::Tensor lo, hi;
  if (normalise_each) {
    const torch::Tensor flat = t.reshape({K, -1});
    lo = flat.amin(1).view({K, 1, 1, 1});
    hi = flat.amax(1).view({K, 1, 1, 1});
  } else {
    lo = t.min();
    hi = t.max();
  }
  const torch::Tensor range = hi - lo;
  // (x − lo)/range puts the minimum at exactly 0 and the maximum at exactly 1; flat tiles, whose
  // range is 0, would be 0/0 and are shown mid-grey instead.
  torch::Tensor stretched = ((t - lo) / range).masked_fill(range == 0, 0.5);
  if (slots > K)
    stretched = torch::cat({stretched, torch::full({slots - K, C, h, w}, pad_value, stretched.options())});

  // Pad every tile on its right and bottom, interleave the grid axes with the pixel axes, then
  // add the missing left and top border: one copy, no per-tile loop.
  const torch::Tensor cells = torch::constant_pad_nd(stretched, {0, pad, 0, pad}, pad_value);
  const torch::Tensor body = cells.view({rows, columns, C, h + pad, w + pad})
                                 .permute({2, 0, 3, 1, 4})
                                 .reshape({C, rows * (h + pad), columns * (w + pad)});
  return torch::constant_pad_nd(body, {pad, 0, pad, 0}, pad_value);
}

torch::Tensor dictionary_tiles(const torch::Tensor& atoms, int64_t channels) {
  const char* fn = "dictionary_tiles";
  if (!atoms.defined()) invalid(fn, "atoms tensor is undefined");
  if (atoms.dim() == 4) return atoms;
  if (atoms.dim() != 2)
    invalid(fn, "atoms must be a dense dictionary [n, m] or a convolutional dictionary [M, C, k, k], got " +
                    shape_of(atoms.sizes()));
  if (channels < 1) invalid(fn, "channels must be >= 1, got " + std::to_string(channels));
  const int64_t n = atoms.size(0), m = atoms.size(1);
  const int64_t per_channel = n % channels == 0 ? n / channels : 0;
  const int64_t p = per_channel > 0 ? ceil_sqrt(per_channel) : 0;
  if (p == 0 || p * p != per_channel)
    invalid(fn, "atom length " + std::to_string(n) + " is not channels·p² for channels = " + std::to_string(channels) +
                    " and an integer p");
  // Columns are atoms; each is laid out channel-major, then row-major (as extract_patches makes them).
  return atoms.t().reshape({m, channels, p, p});
}

void write_png(const std::string& path, const torch::Tensor& image) {
  const char* fn = "write_png";
  if (!image.defined()) invalid(fn, "image tensor is undefined");
  if (image.dim() != 2 && image.dim() != 3)
    invalid(fn, "image must have shape [C, H, W] or [H, W], got " + shape_of(image.sizes()));
  const torch::Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image;
  const int64_t C = chw.size(0), H = chw.size(1), W = chw.size(2);
  if (C != 1 && C != 3) invalid(fn, "image must have 1 or 3 channels, got " + std::to_string(C));
  if (H < 1 || W < 1) invalid(fn, "image must be non-empty, got " + shape_of(image.sizes()));
  if (H > INT_MAX || W > INT_MAX / C) invalid(fn, "image " + shape_of(image.sizes()) + " is too large for PNG output");
  if (!chw.is_floating_point() && chw.scalar_type() != torch::kByte)
    invalid(fn, std::string("image must be floating point in [0, 1] or uint8, got ") + c10::toString(chw.scalar_type()));

  torch::Tensor px = chw.detach();
  if (px.is_floating_point())  // NaN → 0 so that no undefined float→uint8 conversion happens
    px = torch::nan_to_num(px.to(torch::kFloat), 0.0, 1.0, 0.0).clamp(0, 1).mul(255).round().to(torch::kByte);
  px = px.to(torch::kCPU).permute({1, 2, 0}).contiguous();  // stb wants interleaved [H, W, C] rows

  const int w = static_cast<int>(W), h = static_cast<int>(H), c = static_cast<int>(C);
  data::write_file_atomically_with(path, [&](const std::string& tmp) {
    errno = 0;
    if (!stbi_write_png(tmp.c_str(), w, h, c, px.data_ptr(), w * c))
      throw data::FileWriteError(path, "write_png: cannot write the PNG" + errno_suffix(errno));
  });
}

void write_dictionary_png(const std::string& path, const torch::Tensor& atoms, int64_t channels, int64_t columns,
                          int64_t scale) {
  if (scale < 1) invalid("write_dictionary_png", "scale must be >= 1, got " + std::to_string(scale));
  torch::Tensor tiles = dictionary_tiles(atoms, channels);
  if (scale > 1) tiles = tiles.repeat_interleave(scale, 2).repeat_interleave(scale, 3);
  if (scale < 4) {
    write_png(path, tile_grid(tiles, columns, /*pad=*/1, /*normalise_each=*/true, /*pad_value=*/1.0));
    return;
  }
  // Enlarged atoms are drawn in colour on a steel-blue grid a quarter of the scale wide (2 to 4
  // pixels): an atom stretched to [0, 1] has white and black pixels, so no grey line stands out.
  const int64_t pad = std::min<int64_t>(4, std::max<int64_t>(2, scale / 4));
  auto picture = tile_grid(tiles, columns, pad, /*normalise_each=*/true, /*pad_value=*/-1.0);  // -1 marks the grid
  const auto line = picture.lt(0).any(0, /*keepdim=*/true);                                    // [1, H, W]
  const auto steel_blue = torch::tensor({0.27f, 0.51f, 0.71f}).view({3, 1, 1});
  write_png(path, torch::where(line, steel_blue, picture.expand({3, -1, -1})));
}

int64_t visible_scale(int64_t atom_side, int64_t min_pixels) {
  if (atom_side < 1) invalid("visible_scale", "atom_side must be >= 1, got " + std::to_string(atom_side));
  if (min_pixels < 1) invalid("visible_scale", "min_pixels must be >= 1, got " + std::to_string(min_pixels));
  return std::max<int64_t>(1, (min_pixels + atom_side - 1) / atom_side);
}

torch::Tensor read_png(const std::string& path) {
  int w = 0, h = 0, c = 0;
  const std::unique_ptr<stbi_uc, void (*)(void*)> data(stbi_load(path.c_str(), &w, &h, &c, 0), stbi_image_free);
  if (!data) {
    const char* reason = stbi_failure_reason();
    throw std::runtime_error("read_png: cannot read '" + path + "': " + (reason ? reason : "unknown error"));
  }
  // from_blob only borrows the pixels; the float conversion copies them before `data` is freed.
  return torch::from_blob(data.get(), {h, w, c}, torch::kByte).permute({2, 0, 1}).to(torch::kFloat).div(255).contiguous();
}

}  // namespace deepsc::viz
