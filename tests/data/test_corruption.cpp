// Tests for the CIFAR-10-C noise corruptions (deepsc/data/corruption.h) and the CIFAR-10-C file
// reader (deepsc/data/cifar10c.h). Statistical checks compare sample moments with their exact
// values under a tolerance of 5 standard errors estimated from the same sample.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "deepsc/data/cifar10c.h"
#include "deepsc/data/corruption.h"
#include "deepsc/data/npy.h"
#include "deepsc/data/npy_tensor.h"

namespace fs = std::filesystem;
using deepsc::data::Noise;

namespace {

// The CIFAR-10-C table (Hendrycks & Dietterich 2019), severities 1..5.
constexpr std::array<double, 5> kGaussianSigma = {0.04, 0.06, 0.08, 0.09, 0.10};
constexpr std::array<double, 5> kShotRate = {500, 250, 100, 75, 50};
constexpr std::array<double, 5> kImpulseAmount = {0.01, 0.02, 0.03, 0.05, 0.07};
constexpr std::array<double, 5> kSpeckleSigma = {0.06, 0.10, 0.12, 0.16, 0.20};
constexpr std::array<Noise, 4> kNoises = {Noise::Gaussian, Noise::Shot, Noise::Impulse, Noise::Speckle};

// [50, 4, 32, 32] = 204800 elements, all equal to `value`.
torch::Tensor constant_images(double value) { return torch::full({50, 4, 32, 32}, value, torch::kFloat); }

// Images with values spread over [0, 1] (including the ends).
torch::Tensor varied_images() {
  torch::Tensor x = torch::rand({20, 3, 32, 32}, torch::kFloat);
  x.index_put_({0}, 0.0);
  x.index_put_({1}, 1.0);
  return x;
}

struct Moments {
  double n = 0, mean = 0, var = 0, mean_se = 0, var_se = 0;
};

// Sample mean and (population) variance with their standard errors:
// se(mean) = sqrt(var / n), se(var) = sqrt((m4 - var^2) / n) with m4 the 4th central moment.
Moments moments(const torch::Tensor& t) {
  const torch::Tensor x = t.to(torch::kDouble).flatten();
  Moments m;
  m.n = static_cast<double>(x.numel());
  m.mean = x.mean().item<double>();
  const torch::Tensor d = x - m.mean;
  m.var = d.square().mean().item<double>();
  const double m4 = d.pow(4).mean().item<double>();
  m.mean_se = std::sqrt(m.var / m.n);
  m.var_se = std::sqrt(std::max(m4 - m.var * m.var, 0.0) / m.n);
  return m;
}

template <typename F>
void expect_invalid(F&& f, const std::string& substring) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected std::invalid_argument containing '" << substring << "'";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(substring), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Severities and their levels.

TEST(Corruption, SeverityLevelsAreTheCifar10CTable) {
  for (int s = 1; s <= 5; ++s) {
    const auto i = static_cast<size_t>(s - 1);
    EXPECT_EQ(deepsc::data::severity_level(Noise::Gaussian, s), kGaussianSigma[i]);
    EXPECT_EQ(deepsc::data::severity_level(Noise::Shot, s), kShotRate[i]);
    EXPECT_EQ(deepsc::data::severity_level(Noise::Impulse, s), kImpulseAmount[i]);
    EXPECT_EQ(deepsc::data::severity_level(Noise::Speckle, s), kSpeckleSigma[i]);
  }
  for (const Noise n : kNoises) {
    expect_invalid([&] { deepsc::data::severity_level(n, 0); }, "severity 0");
    expect_invalid([&] { deepsc::data::severity_level(n, 6); }, "severity 6");
    expect_invalid([&] { deepsc::data::corrupt_severity(constant_images(0.5), n, 6, 1); }, "severity 6");
  }
}

// ---------------------------------------------------------------------------------------------
// Distributions at every severity.

TEST(Corruption, GaussianHasMeanXAndVarianceSigmaSquared) {
  const torch::Tensor x = constant_images(0.5);
  for (int s = 1; s <= 5; ++s) {
    SCOPED_TRACE("severity " + std::to_string(s));
    const double sigma = kGaussianSigma[static_cast<size_t>(s - 1)];
    const Moments m = moments(deepsc::data::corrupt_severity(x, Noise::Gaussian, s, 100 + s));
    EXPECT_NEAR(m.mean, 0.5, 5 * m.mean_se);
    EXPECT_NEAR(m.var, sigma * sigma, 5 * m.var_se);
  }
}

TEST(Corruption, SpeckleHasMeanXAndVarianceXSigmaSquared) {
  const torch::Tensor x = constant_images(0.5);
  for (int s = 1; s <= 5; ++s) {
    SCOPED_TRACE("severity " + std::to_string(s));
    const double sigma = kSpeckleSigma[static_cast<size_t>(s - 1)];
    const Moments m = moments(deepsc::data::corrupt_severity(x, Noise::Speckle, s, 200 + s));
    EXPECT_NEAR(m.mean, 0.5, 5 * m.mean_se);
    EXPECT_NEAR(m.var, (0.5 * sigma) * (0.5 * sigma), 5 * m.var_se);
  }
}

TEST(Corruption, SpeckleScalesWithTheImage) {
  // x = 0 has no speckle at all; x = 0.25 has half the standard deviation of x = 0.5.
  EXPECT_TRUE(torch::equal(deepsc::data::corrupt(constant_images(0), Noise::Speckle, 0.2, 5), constant_images(0)));
  const Moments m = moments(deepsc::data::corrupt(constant_images(0.25), Noise::Speckle, 0.2, 5));
  EXPECT_NEAR(m.var, 0.05 * 0.05, 5 * m.var_se);
}

TEST(Corruption, ShotIsPoissonOfXTimesCOverC) {
  const double x0 = 0.5;
  const torch::Tensor x = constant_images(x0);
  for (int s = 1; s <= 5; ++s) {
    SCOPED_TRACE("severity " + std::to_string(s));
    const double c = kShotRate[static_cast<size_t>(s - 1)];
    const torch::Tensor out = deepsc::data::corrupt_severity(x, Noise::Shot, s, 300 + s);
    const Moments m = moments(out);
    EXPECT_NEAR(m.mean, x0, 5 * m.mean_se);
    EXPECT_NEAR(m.var, x0 / c, 5 * m.var_se);
    // Every value is a count divided by c.
    const torch::Tensor counts = out.to(torch::kDouble) * c;
    EXPECT_LT((counts - counts.round()).abs().max().item<double>(), 1e-3);
  }
}

TEST(Corruption, ImpulseReplacesAFractionAmountByZerosAndOnesEqually) {
  const torch::Tensor x = constant_images(0.5);
  const double n = static_cast<double>(x.numel());
  for (int s = 1; s <= 5; ++s) {
    SCOPED_TRACE("severity " + std::to_string(s));
    const double amount = kImpulseAmount[static_cast<size_t>(s - 1)];
    const torch::Tensor out = deepsc::data::corrupt_severity(x, Noise::Impulse, s, 400 + s);
    const double changed = out.ne(0.5).sum().item<double>();
    const double zeros = out.eq(0).sum().item<double>();
    const double ones = out.eq(1).sum().item<double>();
    EXPECT_EQ(zeros + ones, changed) << "a changed element is neither 0 nor 1";
    EXPECT_NEAR(changed / n, amount, 5 * std::sqrt(amount * (1 - amount) / n));
    EXPECT_NEAR(ones / changed, 0.5, 5 * std::sqrt(0.25 / changed));
  }
  // amount 1 replaces everything.
  const torch::Tensor all = deepsc::data::corrupt(x, Noise::Impulse, 1.0, 9);
  EXPECT_EQ((all.eq(0) | all.eq(1)).sum().item<int64_t>(), x.numel());
}

// ---------------------------------------------------------------------------------------------
// Clipping, levels, dtypes.

TEST(Corruption, OutputsAreClippedToTheUnitInterval) {
  // Gaussian σ = 0.1 on x = 0.98: P(x + σz > 1) = P(z > 0.2) = 0.42074; those become exactly 1.
  const torch::Tensor x = constant_images(0.98);
  const torch::Tensor out = deepsc::data::corrupt_severity(x, Noise::Gaussian, 5, 11);
  EXPECT_LE(out.max().item<double>(), 1.0);
  const double n = static_cast<double>(x.numel());
  const double p = 0.5 * std::erfc(0.2 / std::sqrt(2.0));
  EXPECT_NEAR(out.eq(1).sum().item<double>() / n, p, 5 * std::sqrt(p * (1 - p) / n));

  torch::manual_seed(3);
  const torch::Tensor v = varied_images();
  for (const Noise noise : kNoises)
    for (int s = 1; s <= 5; ++s) {
      SCOPED_TRACE(std::string(deepsc::data::noise_name(noise)) + " severity " + std::to_string(s));
      const torch::Tensor o = deepsc::data::corrupt_severity(v, noise, s, 12);
      EXPECT_GE(o.min().item<double>(), 0.0);
      EXPECT_LE(o.max().item<double>(), 1.0);
      EXPECT_FALSE(torch::equal(o, v));
    }
}

TEST(Corruption, ArbitraryLevelWorks) {
  // Gaussian σ = 0.3 on 0.5: |out - 0.5| < 0.3 with probability erf(1/√2) = 0.682689 (clipping
  // only moves values farther than 0.5 from the centre).
  const torch::Tensor x = constant_images(0.5);
  const torch::Tensor out = deepsc::data::corrupt(x, Noise::Gaussian, 0.3, 21);
  const double n = static_cast<double>(x.numel());
  const double p = std::erf(1 / std::sqrt(2.0));
  EXPECT_NEAR((out - 0.5).abs().lt(0.3).sum().item<double>() / n, p, 5 * std::sqrt(p * (1 - p) / n));
  // Shot at c = 10000 (far beyond severity 1): variance x / c.
  const Moments m = moments(deepsc::data::corrupt(x, Noise::Shot, 10000, 22));
  EXPECT_NEAR(m.var, 0.5 / 10000, 5 * m.var_se);
}

TEST(Corruption, KeepsDtypeShapeAndDevice) {
  torch::manual_seed(4);
  const torch::Tensor v = varied_images();
  for (const auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf}) {
    const torch::Tensor x = v.to(dtype).permute({0, 2, 3, 1});  // non-contiguous too
    for (const Noise noise : kNoises) {
      const torch::Tensor o = deepsc::data::corrupt_severity(x, noise, 3, 1);
      EXPECT_EQ(o.scalar_type(), dtype);
      EXPECT_EQ(o.sizes(), x.sizes());
      EXPECT_EQ(o.device(), x.device());
    }
  }
  // Any shape, including a single value and an empty tensor.
  EXPECT_EQ(deepsc::data::corrupt(torch::full({1}, 0.5), Noise::Gaussian, 0.1, 1).sizes(), torch::IntArrayRef({1}));
  EXPECT_EQ(deepsc::data::corrupt(torch::empty({0, 3, 4, 4}), Noise::Shot, 10, 1).sizes(),
            torch::IntArrayRef({0, 3, 4, 4}));
}

// ---------------------------------------------------------------------------------------------
// Reproducibility.

TEST(Corruption, SameSeedSameResultDifferentSeedDifferent) {
  torch::manual_seed(5);
  const torch::Tensor v = varied_images();
  for (const Noise noise : kNoises) {
    SCOPED_TRACE(deepsc::data::noise_name(noise));
    const torch::Tensor a = deepsc::data::corrupt_severity(v, noise, 4, 77);
    torch::manual_seed(123);  // the global generator plays no part
    const torch::Tensor b = deepsc::data::corrupt_severity(v, noise, 4, 77);
    const torch::Tensor c = deepsc::data::corrupt_severity(v, noise, 4, 78);
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::equal(a, c));
  }
}

TEST(Corruption, IndependentOfTheThreadCount) {
  const int saved = torch::get_num_threads();
  torch::manual_seed(6);
  const torch::Tensor v = torch::rand({64, 3, 32, 32});  // 196608 elements: several parallel grains
  std::vector<torch::Tensor> one, two;
  torch::set_num_threads(1);
  for (const Noise noise : kNoises) one.push_back(deepsc::data::corrupt_severity(v, noise, 5, 31));
  torch::set_num_threads(2);
  for (const Noise noise : kNoises) two.push_back(deepsc::data::corrupt_severity(v, noise, 5, 31));
  torch::set_num_threads(saved);
  for (size_t i = 0; i < kNoises.size(); ++i)
    EXPECT_TRUE(torch::equal(one[i], two[i])) << deepsc::data::noise_name(kNoises[i]);
}

TEST(Corruption, DoesNotModifyItsInput) {
  torch::manual_seed(7);
  const torch::Tensor v = varied_images();
  const torch::Tensor copy = v.clone();
  for (const Noise noise : kNoises) {
    const torch::Tensor o = deepsc::data::corrupt_severity(v, noise, 5, 1);
    EXPECT_NE(o.data_ptr(), v.data_ptr());
    EXPECT_TRUE(torch::equal(v, copy)) << deepsc::data::noise_name(noise);
  }
}

TEST(Corruption, CudaGivesTheCpuResult) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(8);
  const torch::Tensor v = varied_images();
  for (const Noise noise : kNoises) {
    const torch::Tensor cpu = deepsc::data::corrupt_severity(v, noise, 3, 41);
    const torch::Tensor gpu = deepsc::data::corrupt_severity(v.to(torch::kCUDA), noise, 3, 41);
    EXPECT_TRUE(gpu.is_cuda());
    EXPECT_TRUE(torch::allclose(cpu, gpu.cpu(), 0, 1e-6)) << deepsc::data::noise_name(noise);
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input.

TEST(Corruption, RejectsBadImagesAndLevels) {
  const torch::Tensor ok = constant_images(0.5);
  expect_invalid([] { deepsc::data::corrupt(torch::zeros({2, 3}, torch::kInt), Noise::Gaussian, 0.1, 1); },
                 "floating-point");
  expect_invalid([] { deepsc::data::corrupt(torch::Tensor(), Noise::Gaussian, 0.1, 1); }, "floating-point");
  expect_invalid([] { deepsc::data::corrupt(torch::full({2, 3}, 255.0), Noise::Gaussian, 0.1, 1); },
                 "must be in [0, 1] (before normalisation)");
  expect_invalid([] { deepsc::data::corrupt(torch::full({2, 3}, -0.01), Noise::Shot, 10, 1); }, "min -0.01");
  expect_invalid([] { deepsc::data::corrupt(torch::full({2, 3}, NAN), Noise::Impulse, 0.1, 1); }, "[0, 1]");
  // Rounding slack of 1e-6 is tolerated (and clipped away).
  const torch::Tensor near = deepsc::data::corrupt(torch::full({2, 3}, 1 + 1e-7), Noise::Shot, 10, 1);
  EXPECT_LE(near.max().item<double>(), 1.0);
  for (const Noise noise : kNoises) {
    expect_invalid([&] { deepsc::data::corrupt(ok, noise, 0, 1); }, "level");
    expect_invalid([&] { deepsc::data::corrupt(ok, noise, -0.1, 1); }, "level");
    expect_invalid([&] { deepsc::data::corrupt(ok, noise, NAN, 1); }, "level");
    expect_invalid([&] { deepsc::data::corrupt(ok, noise, INFINITY, 1); }, "level");
  }
  expect_invalid([&] { deepsc::data::corrupt(ok, Noise::Impulse, 1.5, 1); }, "at most 1");
}

// ---------------------------------------------------------------------------------------------
// Parsing.

TEST(Corruption, ParseNoise) {
  for (const Noise n : kNoises) EXPECT_EQ(deepsc::data::parse_noise(deepsc::data::noise_name(n)), n);
  EXPECT_STREQ(deepsc::data::noise_name(Noise::Gaussian), "gaussian");
  EXPECT_STREQ(deepsc::data::noise_name(Noise::Shot), "shot");
  EXPECT_STREQ(deepsc::data::noise_name(Noise::Impulse), "impulse");
  EXPECT_STREQ(deepsc::data::noise_name(Noise::Speckle), "speckle");
  expect_invalid([] { deepsc::data::parse_noise("blur"); }, "gaussian, shot, impulse or speckle");
  expect_invalid([] { deepsc::data::parse_noise(""); }, "unknown noise");
  expect_invalid([] { deepsc::data::parse_noise("Gaussian"); }, "'Gaussian'");
}

TEST(Corruption, ParseNoiseList) {
  EXPECT_EQ(deepsc::data::parse_noise_list("gaussian,shot"), (std::vector<Noise>{Noise::Gaussian, Noise::Shot}));
  EXPECT_EQ(deepsc::data::parse_noise_list("speckle"), (std::vector<Noise>{Noise::Speckle}));
  EXPECT_EQ(deepsc::data::parse_noise_list("impulse, gaussian"), (std::vector<Noise>{Noise::Impulse, Noise::Gaussian}));
  EXPECT_EQ(deepsc::data::parse_noise_list("all"), (std::vector<Noise>(kNoises.begin(), kNoises.end())));
  expect_invalid([] { deepsc::data::parse_noise_list(""); }, "empty item");
  expect_invalid([] { deepsc::data::parse_noise_list("gaussian,,shot"); }, "empty item");
  expect_invalid([] { deepsc::data::parse_noise_list("gaussian,"); }, "empty item");
  expect_invalid([] { deepsc::data::parse_noise_list("shot,gaussian,shot"); }, "twice");
  expect_invalid([] { deepsc::data::parse_noise_list("all,shot"); }, "'all'");
  expect_invalid([] { deepsc::data::parse_noise_list("gaussian,fog"); }, "'fog'");
}

TEST(Corruption, ParseSeverities) {
  using V = std::vector<int>;
  EXPECT_EQ(deepsc::data::parse_severities("1-5"), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(deepsc::data::parse_severities("1,3,5"), (V{1, 3, 5}));
  EXPECT_EQ(deepsc::data::parse_severities("2"), (V{2}));
  EXPECT_EQ(deepsc::data::parse_severities("5,1"), (V{1, 5}));
  EXPECT_EQ(deepsc::data::parse_severities("4-5, 1-2, 2"), (V{1, 2, 4, 5}));
  EXPECT_EQ(deepsc::data::parse_severities("3-3"), (V{3}));
  for (const char* bad : {"", "0", "6", "1-6", "0-2", "a", "1,", ",1", "1,,2", "4-2", "1-", "-3", "1.5",
                          "1-2-3", "+2", "2x"}) {
    SCOPED_TRACE(bad);
    expect_invalid([&] { deepsc::data::parse_severities(bad); }, "parse_severities");
  }
  expect_invalid([] { deepsc::data::parse_severities("7"); }, "outside 1..5");
  expect_invalid([] { deepsc::data::parse_severities("4-2"); }, "reversed");
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10-C files.

namespace {

constexpr int64_t kRows = 20;  // 5 severities x 4 images

fs::path fresh_dir(const std::string& name) { return deepsc::testing::fresh_dir("cifar10c_" + name); }

// [kRows, 32, 32, 3] uint8 with a different pattern in every row and channel.
torch::Tensor raw_images() {
  return (torch::arange(kRows * 32 * 32 * 3, torch::kLong).reshape({kRows, 32, 32, 3}) * 7 +
          torch::arange(kRows, torch::kLong).reshape({kRows, 1, 1, 1}) * 13)
      .remainder(256)
      .to(torch::kByte);
}

torch::Tensor raw_labels(torch::ScalarType dtype = torch::kByte) {
  return (torch::arange(kRows, torch::kLong) * 3).remainder(10).to(dtype);
}

// A CIFAR-10-C folder with shot_noise.npy and labels.npy.
fs::path write_folder(const std::string& name, const torch::Tensor& images, const torch::Tensor& labels) {
  const fs::path dir = fresh_dir(name);
  deepsc::data::save_npy((dir / "shot_noise.npy").string(), images);
  deepsc::data::save_npy((dir / "labels.npy").string(), labels);
  return dir;
}

}  // namespace

TEST(Cifar10C, FileNames) {
  EXPECT_EQ(deepsc::data::cifar10c_file_name(Noise::Gaussian), "gaussian_noise.npy");
  EXPECT_EQ(deepsc::data::cifar10c_file_name(Noise::Shot), "shot_noise.npy");
  EXPECT_EQ(deepsc::data::cifar10c_file_name(Noise::Impulse), "impulse_noise.npy");
  EXPECT_EQ(deepsc::data::cifar10c_file_name(Noise::Speckle), "speckle_noise.npy");
}

TEST(Cifar10C, SeverityTakesItsFifthAsNchw) {
  const torch::Tensor images = raw_images();
  for (const auto label_type : {torch::kByte, torch::kLong}) {
    const torch::Tensor labels = raw_labels(label_type);
    const fs::path dir = write_folder("good", images, labels);
    for (int s = 1; s <= 5; ++s) {
      SCOPED_TRACE("severity " + std::to_string(s));
      const auto ds = deepsc::data::load_cifar10c(dir.string(), Noise::Shot, s);
      const int64_t first = (s - 1) * 4;
      ASSERT_EQ(ds->size(), 4);
      EXPECT_EQ(ds->num_classes(), 10);
      EXPECT_EQ(ds->channels(), 3);
      EXPECT_EQ(ds->images().sizes(), torch::IntArrayRef({4, 3, 32, 32}));
      EXPECT_EQ(ds->images().scalar_type(), torch::kByte);
      EXPECT_EQ(ds->labels().scalar_type(), torch::kLong);
      // Element by element: image i, channel c, row y, column x is file row first+i at (y, x, c).
      for (int64_t i = 0; i < 4; ++i)
        for (const auto& [c, y, x] : std::vector<std::array<int64_t, 3>>{{0, 0, 0}, {2, 5, 7}, {1, 31, 30}})
          EXPECT_EQ(ds->images()[i][c][y][x].item<int64_t>(), images[first + i][y][x][c].item<int64_t>());
      EXPECT_TRUE(torch::equal(ds->images(), images.slice(0, first, first + 4).permute({0, 3, 1, 2})));
      EXPECT_TRUE(torch::equal(ds->labels(), labels.slice(0, first, first + 4).to(torch::kLong)));
      // What the loader feeds a model: the same values scaled by 1/255, in [0, 1].
      const torch::Tensor scaled = ds->get(1).image.to(torch::kFloat).div(255);
      EXPECT_FLOAT_EQ(scaled[2][5][7].item<float>(), images[first + 1][5][7][2].item<float>() / 255.0f);
      EXPECT_EQ(ds->get(1).label, labels[first + 1].item<int64_t>());
    }
  }
}

TEST(Cifar10C, ClearErrors) {
  const torch::Tensor images = raw_images();
  const torch::Tensor labels = raw_labels();
  {  // missing noise file (only shot is there), missing labels
    const fs::path dir = write_folder("missing", images, labels);
    expect_invalid([&] { deepsc::data::load_cifar10c(dir.string(), Noise::Gaussian, 1); },
                   "missing " + (dir / "gaussian_noise.npy").string());
    fs::remove(dir / "labels.npy");
    expect_invalid([&] { deepsc::data::load_cifar10c(dir.string(), Noise::Shot, 1); }, "labels.npy");
  }
  {  // wrong image shape and dtype
    const fs::path dir = write_folder("shape", images.slice(3, 0, 1), labels);
    expect_invalid([&] { deepsc::data::load_cifar10c(dir.string(), Noise::Shot, 1); },
                   "shot_noise.npy: expected uint8 images [R, 32, 32, 3], got Byte [20, 32, 32, 1]");
    const fs::path dir2 = write_folder("dtype", images.to(torch::kFloat), labels);
    expect_invalid([&] { deepsc::data::load_cifar10c(dir2.string(), Noise::Shot, 1); }, "got Float");
  }
  {  // bad labels: wrong dtype, wrong count, out of range
    expect_invalid([&] {
      deepsc::data::load_cifar10c(write_folder("ldtype", images, labels.to(torch::kFloat)).string(), Noise::Shot, 1);
    }, "labels.npy: expected uint8 or int64 labels");
    expect_invalid([&] {
      deepsc::data::load_cifar10c(write_folder("lcount", images, labels.slice(0, 0, 15)).string(), Noise::Shot, 1);
    }, "holds 15 labels but");
    torch::Tensor bad = labels.clone();
    bad[9] = 10;
    const fs::path dir = write_folder("lrange", images, bad);
    expect_invalid([&] { deepsc::data::load_cifar10c(dir.string(), Noise::Shot, 3); }, "outside 0..9");
  }
  {  // row count not a multiple of 5
    const fs::path dir = write_folder("rows", images.slice(0, 0, 19), labels.slice(0, 0, 19));
    expect_invalid([&] { deepsc::data::load_cifar10c(dir.string(), Noise::Shot, 1); }, "multiple of 5");
  }
  {  // bad severity
    const fs::path dir = write_folder("severity", images, labels);
    expect_invalid([&] { deepsc::data::load_cifar10c(dir.string(), Noise::Shot, 0); }, "severity 0");
    expect_invalid([&] { deepsc::data::load_cifar10c(dir.string(), Noise::Shot, 6); }, "severity 6");
  }
  {  // truncated file: the .npy reader's error names the file
    const fs::path dir = write_folder("truncated", images, labels);
    const fs::path file = dir / "shot_noise.npy";
    fs::resize_file(file, fs::file_size(file) - 100);
    try {
      deepsc::data::load_cifar10c(dir.string(), Noise::Shot, 1);
      ADD_FAILURE() << "no exception for a truncated file";
    } catch (const deepsc::npy::NpyError& e) {
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    }
  }
}
