// Tests for tiling, dictionary pictures and PNG input/output (deepsc/viz/image_grid.h).

#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "deepsc/viz/image_grid.h"

namespace fs = std::filesystem;
using deepsc::viz::dictionary_tiles;
using deepsc::viz::read_png;
using deepsc::viz::tile_grid;
using deepsc::viz::write_dictionary_png;
using deepsc::viz::write_png;
using torch::indexing::Slice;

namespace {

fs::path fresh_dir(const std::string& name) { return deepsc::testing::fresh_dir("viz_" + name); }

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

template <class E>
void expect_throw_mentioning(const std::function<void()>& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

// Largest absolute difference, for the 8-bit quantisation checks.
double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST(Png, GreyAndColourRoundTripWithin8BitPrecision) {
  torch::manual_seed(1);
  const fs::path dir = fresh_dir("roundtrip");
  for (const int64_t C : {1, 3}) {
    SCOPED_TRACE(C);
    const torch::Tensor image = torch::rand({C, 5, 7});
    const std::string path = (dir / ("img" + std::to_string(C) + ".png")).string();
    write_png(path, image);
    const torch::Tensor back = read_png(path);
    ASSERT_EQ(back.sizes(), image.sizes());
    EXPECT_EQ(back.scalar_type(), torch::kFloat);
    EXPECT_LE(max_diff(back, image), 0.5 / 255 + 1e-6);  // rounded to the nearest level
  }
  EXPECT_EQ(list_dir(dir).size(), 2u);  // no temporary files left over
}

TEST(Png, TwoDimensionalUint8AndOutOfRangeImages) {
  const fs::path dir = fresh_dir("kinds");
  const std::string path = (dir / "img.png").string();
  const torch::Tensor bytes = torch::arange(0, 240, 10, torch::kLong).reshape({4, 6}).to(torch::kByte);
  write_png(path, bytes);
  EXPECT_TRUE(torch::equal(read_png(path), bytes.unsqueeze(0).to(torch::kFloat) / 255));
  // Overwriting an existing file works; values outside [0, 1] (and NaN → 0) are clamped.
  write_png(path, torch::tensor({{-2.0, 0.5, 7.0, std::nan("")}}, torch::kDouble));
  const torch::Tensor back = read_png(path);
  ASSERT_EQ(back.sizes(), (std::vector<int64_t>{1, 1, 4}));
  EXPECT_LE(max_diff(back[0][0], torch::tensor({0.0f, 0.5f, 1.0f, 0.0f})), 0.5 / 255 + 1e-6);
}

TEST(Png, WriteIntoMissingDirectoryThrowsAndLeavesNoFile) {
  const fs::path dir = fresh_dir("missing");
  const fs::path path = dir / "no_such_dir" / "img.png";
  expect_throw_mentioning<std::runtime_error>([&] { write_png(path.string(), torch::rand({1, 3, 3})); },
                                              path.string());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(list_dir(dir).empty());
}

TEST(Png, FailedRenameRemovesTemporaryFile) {
  // The target is a non-empty directory: the temporary file is written, the rename fails.
  const fs::path dir = fresh_dir("rename");
  fs::create_directories(dir / "target" / "occupant");
  const std::string path = (dir / "target").string();
  expect_throw_mentioning<std::runtime_error>([&] { write_png(path, torch::rand({3, 2, 2})); }, path);
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"target"});
}

TEST(Png, BadImagesAndFilesThrow) {
  const fs::path dir = fresh_dir("bad");
  const std::string path = (dir / "x.png").string();
  expect_throw_mentioning<std::invalid_argument>([&] { write_png(path, torch::rand({2, 3, 3})); }, "1 or 3 channels");
  expect_throw_mentioning<std::invalid_argument>([&] { write_png(path, torch::rand({3})); }, "[C, H, W]");
  expect_throw_mentioning<std::invalid_argument>([&] { write_png(path, torch::ones({3, 3}, torch::kInt)); }, "uint8");
  expect_throw_mentioning<std::runtime_error>([&] { read_png(path); }, path);  // missing file
  { std::FILE* f = std::fopen(path.c_str(), "wb"); std::fputs("not a png", f); std::fclose(f); }
  expect_throw_mentioning<std::runtime_error>([&] { read_png(path); }, "'" + path + "': ");
}

TEST(TileGrid, PlacesTilesAndPaddingAndStretchesEachTile) {
  torch::manual_seed(2);
  const int64_t K = 5, h = 2, w = 3, columns = 3, pad = 1;
  torch::Tensor tiles = torch::randn({K, 1, h, w}) * 4 + 1;
  tiles[3].fill_(-7.0);  // a flat tile
  const double pad_value = 0.25;
  const torch::Tensor grid = tile_grid(tiles, columns, pad, /*normalise_each=*/true, pad_value);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{1, pad + 2 * (h + pad), pad + columns * (w + pad)}));

  torch::Tensor is_tile = torch::zeros(grid.sizes(), torch::kBool);
  for (int64_t k = 0; k < K; ++k) {
    SCOPED_TRACE(k);
    const int64_t top = pad + (k / columns) * (h + pad), left = pad + (k % columns) * (w + pad);
    const auto where = std::vector<torch::indexing::TensorIndex>{Slice(), Slice(top, top + h), Slice(left, left + w)};
    is_tile.index_put_(where, true);
    const torch::Tensor shown = grid.index(where);
    if (k == 3) {
      EXPECT_TRUE(torch::equal(shown, torch::full({1, h, w}, 0.5f)));
      continue;
    }
    EXPECT_EQ(shown.min().item<float>(), 0.0f);
    EXPECT_EQ(shown.max().item<float>(), 1.0f);
    const torch::Tensor t = tiles[k];
    EXPECT_TRUE(torch::allclose(shown, (t - t.min()) / (t.max() - t.min())));
  }
  // Everything else — borders, gaps and the empty sixth slot — is padding.
  const torch::Tensor padding = grid.masked_select(is_tile.logical_not());
  EXPECT_EQ(padding.numel(), grid.numel() - K * h * w);
  EXPECT_TRUE(torch::equal(padding, torch::full_like(padding, pad_value)));
}

TEST(TileGrid, JointNormalisationAndColour) {
  const torch::Tensor tiles = torch::stack({torch::zeros({3, 2, 2}), torch::full({3, 2, 2}, 2.0)}) +
                              torch::tensor({0.0f, 1.0f, 2.0f}).view({1, 3, 1, 1});  // values 0..4
  const torch::Tensor grid = tile_grid(tiles, 2, /*pad=*/0, /*normalise_each=*/false);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{3, 2, 4}));
  // Jointly: x / 4, so tile 0 channel c is c/4 and tile 1 channel c is (c + 2)/4.
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_TRUE(torch::allclose(grid[c].index({Slice(), Slice(0, 2)}), torch::full({2, 2}, c / 4.0f)));
    EXPECT_TRUE(torch::allclose(grid[c].index({Slice(), Slice(2, 4)}), torch::full({2, 2}, (c + 2) / 4.0f)));
  }
  // columns 0 means ceil(sqrt(K)): 5 tiles → 3 columns, 2 rows.
  EXPECT_EQ(tile_grid(torch::rand({5, 1, 2, 2}), 0).sizes(), (std::vector<int64_t>{1, 1 + 2 * 3, 1 + 3 * 3}));
  expect_throw_mentioning<std::invalid_argument>([] { tile_grid(torch::rand({2, 2, 3, 3}), 1); }, "1 or 3 channels");
  expect_throw_mentioning<std::invalid_argument>([] { tile_grid(torch::rand({2, 3, 3}), 1); }, "[K, C, h, w]");
  expect_throw_mentioning<std::invalid_argument>([] { tile_grid(torch::rand({2, 1, 3, 3}), 1, -1); }, "pad");
}

TEST(DictionaryTiles, ShapesAndErrors) {
  torch::manual_seed(3);
  const torch::Tensor D = torch::randn({2 * 3 * 3, 5});
  const torch::Tensor tiles = dictionary_tiles(D, 2);
  ASSERT_EQ(tiles.sizes(), (std::vector<int64_t>{5, 2, 3, 3}));
  for (int64_t k = 0; k < 5; ++k) EXPECT_TRUE(torch::equal(tiles[k].reshape(-1), D.index({Slice(), k})));
  EXPECT_EQ(dictionary_tiles(torch::randn({64, 10})).sizes(), (std::vector<int64_t>{10, 1, 8, 8}));

  const torch::Tensor W = torch::randn({4, 3, 5, 5});
  EXPECT_TRUE(dictionary_tiles(W).is_same(W));

  expect_throw_mentioning<std::invalid_argument>([] { dictionary_tiles(torch::randn({10, 4})); }, "not channels·p²");
  expect_throw_mentioning<std::invalid_argument>([] { dictionary_tiles(torch::randn({9, 4}), 2); }, "not channels·p²");
  expect_throw_mentioning<std::invalid_argument>([] { dictionary_tiles(torch::randn({9, 4}), 0); }, "channels");
  expect_throw_mentioning<std::invalid_argument>([] { dictionary_tiles(torch::randn({9, 4, 2})); }, "[n, m]");
}

TEST(DictionaryPng, WritesScaledGrid) {
  const fs::path dir = fresh_dir("dictionary");
  const std::string path = (dir / "dict.png").string();
  torch::manual_seed(4);
  write_dictionary_png(path, torch::randn({16, 6}), /*channels=*/1, /*columns=*/0, /*scale=*/2);
  const torch::Tensor back = read_png(path);
  // 6 atoms of 4 × 4 → 3 columns × 2 rows of 8 × 8 tiles with 1-pixel white borders.
  ASSERT_EQ(back.sizes(), (std::vector<int64_t>{1, 1 + 2 * 9, 1 + 3 * 9}));
  EXPECT_EQ(back[0][0][0].item<float>(), 1.0f);
  // Nearest-neighbour upscaling: each atom pixel is a 2 × 2 block.
  const torch::Tensor first = back[0].index({Slice(1, 9), Slice(1, 9)});
  EXPECT_TRUE(torch::equal(first.index({Slice(0, 8, 2), Slice(0, 8, 2)}), first.index({Slice(1, 8, 2), Slice(1, 8, 2)})));
  expect_throw_mentioning<std::invalid_argument>([&] { write_dictionary_png(path, torch::randn({16, 6}), 1, 0, 0); },
                                                 "scale");
}

TEST(DictionaryPng, SmallAtomsAreDrawnVisiblyWithAWideGrid) {
  EXPECT_EQ(deepsc::viz::visible_scale(3), 16);
  EXPECT_EQ(deepsc::viz::visible_scale(12), 4);
  EXPECT_EQ(deepsc::viz::visible_scale(7), 7);  // ⌈48 / 7⌉: 49 pixels, never fewer than 48
  EXPECT_EQ(deepsc::viz::visible_scale(64), 1);
  expect_throw_mentioning<std::invalid_argument>([] { deepsc::viz::visible_scale(0); }, "atom_side");
  // 16 atoms of 3 × 3 (a CSC stem) at the visible scale: each atom 48 pixels, 4-pixel steel-blue lines.
  const fs::path dir = fresh_dir("visible");
  const std::string path = (dir / "atoms.png").string();
  torch::manual_seed(5);
  write_dictionary_png(path, torch::randn({16, 1, 3, 3}), 1, 0, deepsc::viz::visible_scale(3));
  const torch::Tensor back = read_png(path);
  ASSERT_EQ(back.sizes(), (std::vector<int64_t>{3, 4 + 4 * 52, 4 + 4 * 52}));
  // Grid lines between the first and second atom: columns 52 to 55 are steel blue on every row of an atom.
  const auto line = back.index({Slice(), Slice(4, 52), Slice(52, 56)});
  EXPECT_NEAR(line[0].mean().item<float>(), 69.0f / 255, 1e-6);
  EXPECT_NEAR(line[2].mean().item<float>(), 181.0f / 255, 1e-6);
  EXPECT_EQ(line.amax({1, 2}).sub(line.amin({1, 2})).abs().max().item<float>(), 0.0f);
  // The atoms are grey (equal channels), and each 3 × 3 pixel becomes a 16 × 16 block.
  const torch::Tensor atoms = back.index({Slice(), Slice(4, 52), Slice(4, 52)});
  EXPECT_TRUE(torch::equal(atoms[0], atoms[1]) && torch::equal(atoms[1], atoms[2]));
  const torch::Tensor first = atoms[0];
  EXPECT_TRUE(torch::equal(first.index({Slice(0, 48, 16), Slice(0, 48, 16)}), first.index({Slice(15, 48, 16), Slice(15, 48, 16)})));
}
