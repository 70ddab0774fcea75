// libFuzzer target for the IDX reader. Any input must either decode into an Array that satisfies
// its invariant or throw IdxError; any other exception, a crash, a sanitizer report, a hang or a
// huge allocation is a bug.
//
// Inputs go through deepsc::idx::parse; inputs that start with the gzip magic also go through
// deepsc::idx::read (via an in-memory file) to fuzz the streaming gunzip path with its size caps.
//
// Built with -DDEEPSC_FUZZ_WRITE_SEEDS (and without -fsanitize=fuzzer) the same file becomes the
// seed generator: `idx_seedgen DIR` writes a few valid IDX files, plain and gzipped, into DIR.

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "deepsc/data/idx.h"

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "idx_fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

void check(const deepsc::idx::Array& a) {
  require(!a.shape.empty() && a.shape.size() <= static_cast<size_t>(deepsc::idx::kMaxRank),
          "rank out of range");
  require(a.data.size() == static_cast<size_t>(a.numel()) * deepsc::idx::type_size(a.type),
          "data size does not match shape and type");
}

void check_error(const deepsc::idx::IdxError& e, const std::string& name) {
  const std::string msg = e.what();
  require(msg.rfind(name + ": ", 0) == 0, "error message does not start with the name");
  require(msg.find('\n') == std::string::npos, "error message spans several lines");
}

// Runs idx::read on the bytes through a memfd, so no real file is written per input.
void fuzz_read(const uint8_t* data, size_t size) {
  const int fd = memfd_create("idx_fuzz", 0);
  if (fd < 0) return;
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (done == size) {
    try {
      check(deepsc::idx::read(path));
    } catch (const deepsc::idx::IdxError& e) {
      check_error(e, path);
    }
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const deepsc::idx::Array a = deepsc::idx::parse(data, size, "fuzz-input");
    require(a.data.size() <= size, "data larger than the input");
    check(a);
  } catch (const deepsc::idx::IdxError& e) {
    check_error(e, "fuzz-input");
  }
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) fuzz_read(data, size);
  return 0;
}

#ifdef DEEPSC_FUZZ_WRITE_SEEDS
namespace {

std::vector<uint8_t> make_idx(uint8_t type, const std::vector<uint32_t>& dims, size_t elem) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  size_t n = 1;
  for (const uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>((d >> s) & 0xff));
    n *= d;
  }
  for (size_t i = 0; i < n * elem; ++i) out.push_back(static_cast<uint8_t>(i * 37));
  return out;
}

void write_seed(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip) {
  bool ok = false;
  if (gzip) {
    gzFile gz = gzopen(path.c_str(), "wb9");
    ok = gz != nullptr &&
         gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) ==
             static_cast<int>(bytes.size());
    if (gz != nullptr) ok = gzclose(gz) == Z_OK && ok;
  } else {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ok = f != nullptr && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  }
  if (!ok) {
    std::fprintf(stderr, "idx_seedgen: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::vector<std::vector<uint8_t>> seeds = {
      make_idx(0x08, {3, 4, 4}, 1),  // images
      make_idx(0x08, {10}, 1),       // labels
      make_idx(0x09, {2, 2}, 1),    make_idx(0x0B, {3}, 2), make_idx(0x0C, {2, 1}, 4),
      make_idx(0x0D, {1, 2, 2}, 4), make_idx(0x0E, {2}, 8), make_idx(0x08, {0, 28, 28}, 1),
  };
  for (size_t i = 0; i < seeds.size(); ++i) {
    write_seed(dir + "/seed" + std::to_string(i) + ".idx", seeds[i], false);
    write_seed(dir + "/seed" + std::to_string(i) + ".idx.gz", seeds[i], true);
  }
  return 0;
}
#endif
