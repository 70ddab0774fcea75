// libFuzzer target for deepsc::cifar::parse. Every input is parsed as CIFAR-10 and as CIFAR-100;
// each must either decode into Records that satisfy their invariant and match the input byte for
// byte, or throw CifarError with a one-line message starting with the name; any other exception,
// a crash, a sanitizer report, a hang or a huge allocation is a bug.
//
// Built with -DDEEPSC_FUZZ_WRITE_SEEDS (and without -fsanitize=fuzzer) the same file becomes the
// seed generator: `cifar_seedgen DIR` writes a few valid CIFAR-10 and CIFAR-100 files into DIR.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "deepsc/data/cifar.h"

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cifar_fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

void check(const uint8_t* data, size_t size, deepsc::cifar::Variant v) {
  using deepsc::cifar::kImageBytes;
  try {
    const auto r = deepsc::cifar::parse(data, size, v, "fuzz-input");
    const bool c100 = v == deepsc::cifar::Variant::Cifar100;
    const size_t rb = deepsc::cifar::record_bytes(v), n = static_cast<size_t>(r.count);
    require(r.count > 0 && n * rb == size, "record count does not match the size");
    require(r.images.size() == n * kImageBytes, "image bytes do not match the count");
    require(r.labels.size() == n, "label count does not match");
    require(r.coarse_labels.size() == (c100 ? n : 0), "coarse label count does not match");
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* rec = data + i * rb;
      require(r.labels[i] == rec[c100 ? 1 : 0], "label differs from the input");
      require(r.labels[i] < (c100 ? 100 : 10), "label out of range");
      if (c100) require(r.coarse_labels[i] == rec[0] && rec[0] < 20, "coarse label wrong");
      require(std::memcmp(r.images.data() + i * kImageBytes, rec + (c100 ? 2 : 1), kImageBytes) == 0,
              "pixels differ from the input");
    }
  } catch (const deepsc::cifar::CifarError& e) {
    const std::string msg = e.what();
    require(msg.rfind("fuzz-input: ", 0) == 0, "error message does not start with the name");
    require(msg.find('\n') == std::string::npos, "error message spans several lines");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(data, size, deepsc::cifar::Variant::Cifar10);
  check(data, size, deepsc::cifar::Variant::Cifar100);
  return 0;
}

#ifdef DEEPSC_FUZZ_WRITE_SEEDS
int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  // One record of each variant, and two CIFAR-10 records; labels at the edges of their ranges.
  const std::vector<std::vector<uint8_t>> labels = {{9}, {19, 99}, {0}, {0, 0}};
  for (size_t s = 0; s < labels.size(); ++s) {
    std::vector<uint8_t> bytes;
    const int records = s == 2 ? 2 : 1;
    for (int r = 0; r < records; ++r) {
      bytes.insert(bytes.end(), labels[s].begin(), labels[s].end());
      for (size_t i = 0; i < deepsc::cifar::kImageBytes; ++i) bytes.push_back(static_cast<uint8_t>(i * 31 + r));
    }
    const std::string path = dir + "/seed" + std::to_string(s) + ".bin";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    const bool ok = f != nullptr && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (f == nullptr || std::fclose(f) != 0 || !ok) {
      std::fprintf(stderr, "cifar_seedgen: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
#endif
