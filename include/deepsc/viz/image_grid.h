#pragma once
/// Pictures of dictionaries and images: tiling many small images into one grid, PNG output and
/// input. Pixel values of float images are in [0, 1]; PNG files are 8-bit grey or RGB.

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace deepsc::viz {

/// Lays `tiles` out row by row, `columns` per row, separated (and surrounded) by `pad` pixels of
/// `pad_value`; grid slots after the last tile are filled with pad_value too.
///
/// Requires: tiles real, of shape [K, C, h, w] with K ≥ 1, C ∈ {1, 3}, h, w ≥ 1; columns ≥ 1
/// (or 0 for ceil(√K)); pad ≥ 0. Throws std::invalid_argument otherwise.
/// Ensures: float32 image [C, H, W] on tiles' device, R = ceil(K / columns) grid rows,
/// H = pad + R·(h + pad), W = pad + columns·(w + pad); tile k occupies rows
/// pad + (k / columns)·(h + pad) + [0, h) and columns pad + (k % columns)·(w + pad) + [0, w).
/// With normalise_each every tile is min/max-stretched to [0, 1] on its own (all channels
/// together; a constant tile becomes 0.5), otherwise all tiles share one stretch — so sign and
/// relative magnitude stay comparable across tiles. Padding is pad_value either way.
torch::Tensor tile_grid(const torch::Tensor& tiles, int64_t columns, int64_t pad = 1, bool normalise_each = true,
                        double pad_value = 1.0);

/// Dictionary atoms as image tiles for tile_grid.
///
/// Dense dictionary D [n, m] (atoms are columns, each a patch in deepsc::data::extract_patches
/// layout, n = channels·p·p): returns tiles [m, channels, p, p] of D's dtype, tile k = D[:, k].
/// Convolutional dictionary W [M, C, k, k] (rank 4): returned as is.
/// Requires: rank 2 or 4; for rank 2, channels ≥ 1 and n = channels·p² for an integer p ≥ 1.
/// Throws std::invalid_argument otherwise.
torch::Tensor dictionary_tiles(const torch::Tensor& atoms, int64_t channels = 1);

/// Writes an 8-bit PNG (grey for C = 1, RGB for C = 3).
///
/// Requires: image [C, H, W] or [H, W] (C = 1), C ∈ {1, 3}, H, W ≥ 1, either floating (values
/// in [0, 1]; clamped, then rounded to the nearest of 256 levels) or uint8 (written as is).
/// Throws std::invalid_argument for a bad image.
/// Ensures: `path` is replaced atomically (data::write_file_atomically_with: a temporary file
/// beside it, then a rename), so readers never see a partial file. On failure throws
/// std::runtime_error naming `path`, and leaves neither the temporary file nor a new `path` behind.
void write_png(const std::string& path, const torch::Tensor& image);

/// tile_grid(dictionary_tiles(atoms, channels), columns) in white, each atom stretched on its own
/// and every tile pixel enlarged to scale×scale (nearest neighbour), written with write_png. Below
/// scale 4 the grid lines are white and 1 pixel wide; from scale 4 on the picture is RGB with a
/// steel-blue grid (0.27, 0.51, 0.71) of min(4, max(2, scale/4)) pixels, so that enlarged atoms, whose
/// pixels run from black to white, stay visibly apart.
/// Requires: as dictionary_tiles and tile_grid (columns 0: ceil(√atom count)); scale ≥ 1.
void write_dictionary_png(const std::string& path, const torch::Tensor& atoms, int64_t channels = 1,
                          int64_t columns = 0, int64_t scale = 1);

/// The smallest scale ≥ 1 at which an atom of `atom_side` pixels is drawn at least `min_pixels`
/// wide: ⌈min_pixels / atom_side⌉ (3 × 3 atoms: 16, 12 × 12: 4, ≥ 48: 1). Pictures of atoms and
/// filters use it so that small atoms can be seen.
/// Requires: atom_side ≥ 1, min_pixels ≥ 1; throws std::invalid_argument otherwise.
int64_t visible_scale(int64_t atom_side, int64_t min_pixels = 48);

/// Reads an image file (PNG; also anything else stb_image decodes, e.g. JPEG) as float32 on CPU.
///
/// Ensures: [C, H, W] with the file's own channel count C (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)
/// and values v/255 ∈ [0, 1] (16-bit files are reduced to 8 bits).
/// Throws std::runtime_error naming the file and stb's reason when it cannot be read or decoded.
torch::Tensor read_png(const std::string& path);

}  // namespace deepsc::viz
