#include "deepsc/data/corruption.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::data {
namespace {

constexpr std::array<Noise, 4> kAllNoises = {Noise::Gaussian, Noise::Shot, Noise::Impulse, Noise::Speckle};

// Hendrycks & Dietterich (2019), CIFAR-10-C: the level of severities 1..5 for each noise.
constexpr std::array<double, 5> kGaussianSigma = {0.04, 0.06, 0.08, 0.09, 0.10};
constexpr std::array<double, 5> kShotRate = {500, 250, 100, 75, 50};
constexpr std::array<double, 5> kImpulseAmount = {0.01, 0.02, 0.03, 0.05, 0.07};
constexpr std::array<double, 5> kSpeckleSigma = {0.06, 0.10, 0.12, 0.16, 0.20};

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Printable form of user text inside a one-line message: control characters become '?'.
std::string quoted(const std::string& text) {
  std::string s = "'";
  for (const char c : text) s += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
  return s + "'";
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// The comma-separated items of `text` (trimmed); empty items are kept so callers can reject them.
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    items.push_back(trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// A severity "1".."5" (digits only); anything else throws naming `whole`.
int parse_one_severity(const std::string& item, const std::string& whole) {
  if (item.empty() || item.size() > 3 ||
      !std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw std::invalid_argument("parse_severities: bad item " + quoted(item) + " in " + quoted(whole) +
                                " (expected severities 1..5 or ranges such as 1-5, comma-separated)");
  const int s = std::stoi(item);
  if (s < 1 || s > 5)
    throw std::invalid_argument("parse_severities: severity " + item + " in " + quoted(whole) +
                                " is outside 1..5");
  return s;
}

void check_level(Noise noise, double level) {
  if (!std::isfinite(level) || level <= 0)
    throw std::invalid_argument(std::string("corrupt: ") + noise_name(noise) +
                                " level must be a positive finite number, got " + number(level));
  if (noise == Noise::Impulse && level > 1)
    throw std::invalid_argument("corrupt: impulse level (the fraction of replaced elements) must be "
                                "at most 1, got " + number(level));
}

}  // namespace

Noise parse_noise(const std::string& name) {
  for (const Noise n : kAllNoises)
    if (name == noise_name(n)) return n;
  throw std::invalid_argument("unknown noise " + quoted(name) +
                              " (expected gaussian, shot, impulse or speckle)");
}

const char* noise_name(Noise noise) {
  switch (noise) {
    case Noise::Gaussian: return "gaussian";
    case Noise::Shot: return "shot";
    case Noise::Impulse: return "impulse";
    case Noise::Speckle: return "speckle";
  }
  return "unknown";
}

std::vector<Noise> parse_noise_list(const std::string& comma_separated) {
  if (trim(comma_separated) == "all") return {kAllNoises.begin(), kAllNoises.end()};
  std::vector<Noise> out;
  for (const std::string& item : split_commas(comma_separated)) {
    if (item.empty())
      throw std::invalid_argument("noise list " + quoted(comma_separated) +
                                  " has an empty item (expected e.g. gaussian,shot or all)");
    if (item == "all")
      throw std::invalid_argument("noise list " + quoted(comma_separated) +
                                  ": 'all' cannot be combined with other names");
    const Noise n = parse_noise(item);
    if (std::find(out.begin(), out.end(), n) != out.end())
      throw std::invalid_argument("noise list " + quoted(comma_separated) + " names " + item + " twice");
    out.push_back(n);
  }
  return out;
}

std::vector<int> parse_severities(const std::string& text) {
  std::vector<int> out;
  for (const std::string& item : split_commas(text)) {
    if (item.empty())
      throw std::invalid_argument("parse_severities: empty item in " + quoted(text) +
                                  " (expected severities 1..5 or ranges such as 1-5, comma-separated)");
    const size_t dash = item.find('-');
    if (dash == std::string::npos) {
      out.push_back(parse_one_severity(item, text));
      continue;
    }
    const int lo = parse_one_severity(trim(item.substr(0, dash)), text);
    const int hi = parse_one_severity(trim(item.substr(dash + 1)), text);
    if (lo > hi)
      throw std::invalid_argument("parse_severities: reversed range " + quoted(item) + " in " + quoted(text));
    for (int s = lo; s <= hi; ++s) out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double severity_level(Noise noise, int severity) {
  if (severity < 1 || severity > 5)
    throw std::invalid_argument("severity " + std::to_string(severity) + " is outside 1..5");
  const auto i = static_cast<size_t>(severity - 1);
  switch (noise) {
    case Noise::Gaussian: return kGaussianSigma[i];
    case Noise::Shot: return kShotRate[i];
    case Noise::Impulse: return kImpulseAmount[i];
    case Noise::Speckle: return kSpeckleSigma[i];
  }
  throw std::invalid_argument("severity_level: invalid Noise value");
}

torch::Tensor corrupt(const torch::Tensor& images, Noise noise, double level, uint64_t seed) {
  check_level(noise, level);
  if (!images.defined() || !images.is_floating_point())
    throw std::invalid_argument(
        "corrupt: images must be a floating-point tensor with values in [0, 1], got " +
        (images.defined() ? std::string(c10::toString(images.scalar_type())) : std::string("an undefined tensor")));
  if (images.numel() == 0) return images.detach().clone();

  const torch::ScalarType work = images.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  torch::Tensor x = images.detach().to(work);
  const torch::Tensor range = torch::stack({x.min(), x.max()}).to(torch::kCPU, torch::kDouble);
  const double lo = range[0].item<double>(), hi = range[1].item<double>();
  if (!(lo >= -1e-6 && hi <= 1 + 1e-6))  // also rejects NaN
    throw std::invalid_argument("corrupt: images must be in [0, 1] (before normalisation), got min " +
                                number(lo) + " max " + number(hi));
  x = x.clamp(0, 1);  // the tolerated rounding slack must not give Poisson a negative rate

  // All draws on the CPU, in float32, from one mt19937 seeded with `seed`; LibTorch's CPU
  // normal, uniform and Poisson kernels consume the generator serially in C order, so the result
  // does not depend on the thread count or on the images' device.
  torch::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto cpu_float = torch::TensorOptions().dtype(torch::kFloat).device(torch::kCPU);
  torch::Tensor out;
  switch (noise) {
    case Noise::Gaussian: {
      const torch::Tensor z = torch::randn(x.sizes(), gen, cpu_float).to(x.device(), work);
      out = x + z * level;
      break;
    }
    case Noise::Speckle: {
      const torch::Tensor z = torch::randn(x.sizes(), gen, cpu_float).to(x.device(), work);
      out = x + x * (z * level);
      break;
    }
    case Noise::Shot: {
      const torch::Tensor rate = x.to(torch::kCPU).contiguous() * level;
      out = (torch::poisson(rate, gen) / level).to(x.device());
      break;
    }
    case Noise::Impulse: {
      // One uniform u per element: u < amount/2 -> pepper (0), amount/2 <= u < amount -> salt (1).
      const torch::Tensor u = torch::rand(x.sizes(), gen, cpu_float).to(x.device());
      out = x.masked_fill(u < level / 2, 0).masked_fill((u >= level / 2) & (u < level), 1);
      break;
    }
  }
  return out.clamp_(0, 1).to(images.scalar_type());
}

torch::Tensor corrupt_severity(const torch::Tensor& images, Noise noise, int severity, uint64_t seed) {
  return corrupt(images, noise, severity_level(noise, severity), seed);
}

}  // namespace deepsc::data
