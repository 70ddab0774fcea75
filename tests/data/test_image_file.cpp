// Tests for the stb-based image decoder (deepsc/data/image_file.h): PNG exact, JPEG close, grey
// and alpha to RGB, and one-line errors naming the file for corrupt and truncated input.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "data/format_writers.h"
#include "deepsc/data/image_file.h"

using deepsc::image::ImageError;

namespace {

std::string dir_file(const std::string& name) {
  return (deepsc::testing::scratch_dir("image_file") / name).string();
}

// A smooth colour image (JPEG-friendly), [3, h, w].
std::vector<uint8_t> smooth_rgb(int h, int w) {
  std::vector<uint8_t> out(static_cast<size_t>(3 * h * w));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        out[static_cast<size_t>((c * h + y) * w + x)] = static_cast<uint8_t>(40 + 60 * c + 3 * y + 2 * x);
  return out;
}

void expect_error(const std::string& path, const std::string& needle) {
  try {
    deepsc::image::read(path);
    ADD_FAILURE() << "expected ImageError containing \"" << needle << "\"";
  } catch (const ImageError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(ImageFile, PngRgbIsExact) {
  const auto pixels = deepsc::testing::random_bytes(3 * 5 * 7, 21);
  const std::string p = dir_file("rgb.png");
  deepsc::testing::write_png(p, pixels, 3, 5, 7);
  const auto img = deepsc::image::read(p);
  EXPECT_EQ(img.height, 5);
  EXPECT_EQ(img.width, 7);
  EXPECT_EQ(img.pixels, pixels);
}

TEST(ImageFile, PngGreyIsReplicatedAndAlphaDropped) {
  const auto grey = deepsc::testing::random_bytes(4 * 6, 22);
  std::string p = dir_file("grey.png");
  deepsc::testing::write_png(p, grey, 1, 4, 6);
  auto img = deepsc::image::read(p);
  ASSERT_EQ(img.pixels.size(), 3u * 24u);
  for (size_t c = 0; c < 3; ++c)
    EXPECT_EQ(std::vector<uint8_t>(img.pixels.begin() + c * 24, img.pixels.begin() + (c + 1) * 24), grey);

  const auto rgba = deepsc::testing::random_bytes(4 * 3 * 3, 23);
  p = dir_file("rgba.png");
  deepsc::testing::write_png(p, rgba, 4, 3, 3);
  img = deepsc::image::read(p);
  EXPECT_EQ(img.pixels, std::vector<uint8_t>(rgba.begin(), rgba.begin() + 27));
}

TEST(ImageFile, JpegIsClose) {
  const auto pixels = smooth_rgb(16, 24);
  const std::string p = dir_file("rgb.jpg");
  deepsc::testing::write_jpeg(p, pixels, 3, 16, 24);
  const auto img = deepsc::image::read(p);
  ASSERT_EQ(img.height, 16);
  ASSERT_EQ(img.width, 24);
  double err = 0;
  for (size_t i = 0; i < pixels.size(); ++i) err += std::abs(int(img.pixels[i]) - int(pixels[i]));
  EXPECT_LT(err / static_cast<double>(pixels.size()), 4.0);
}

TEST(ImageFile, CorruptTruncatedMissing) {
  std::string p = dir_file("garbage.png");
  deepsc::testing::write_file(p, std::vector<uint8_t>(100, 0x42));
  expect_error(p, "cannot decode image");
  p = dir_file("empty.jpg");
  deepsc::testing::write_file(p, {});
  expect_error(p, "empty file");

  const std::string whole = dir_file("whole.png");
  deepsc::testing::write_png(whole, deepsc::testing::random_bytes(3 * 20 * 20, 24), 3, 20, 20);
  auto bytes = deepsc::testing::read_file(whole);
  bytes.resize(bytes.size() / 2);
  p = dir_file("truncated.png");
  deepsc::testing::write_file(p, bytes);
  expect_error(p, "cannot decode image");

  expect_error(dir_file("missing.png"), "cannot open");
}
