// libFuzzer target for deepsc::npy::parse. Any input must either parse into an Array that
// satisfies its invariant and round-trips through serialize(), or throw NpyError; any other
// exception, a crash, a sanitizer report, a hang or a huge allocation is a bug.
//
// Built with -DDEEPSC_FUZZ_WRITE_SEEDS (and without -fsanitize=fuzzer) the same file becomes the
// seed generator: `npy_seedgen DIR` writes a few valid .npy files into DIR (see CMakeLists.txt).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "deepsc/data/npy.h"

namespace {

// Aborts (which libFuzzer reports with the input) when an invariant does not hold.
void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "npy_fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  deepsc::npy::Array a;
  try {
    a = deepsc::npy::parse(data, size, "fuzz-input");
  } catch (const deepsc::npy::NpyError& e) {
    const std::string msg = e.what();
    require(msg.rfind("fuzz-input: ", 0) == 0, "error message does not start with the label");
    require(msg.find('\n') == std::string::npos, "error message spans several lines");
    return 0;
  }
  require(a.data.size() <= size, "data larger than the input");
  require(a.data.size() == static_cast<size_t>(a.numel()) * deepsc::npy::dtype_size(a.dtype),
          "data size does not match shape and dtype");
  // What we accept we must be able to write back, and reading that gives the same array.
  const std::vector<uint8_t> again = deepsc::npy::serialize(a);
  const deepsc::npy::Array b = deepsc::npy::parse(again.data(), again.size(), "round-trip");
  require(b.dtype == a.dtype && b.shape == a.shape && b.data == a.data, "round trip differs");
  // Every accepted array converts to floats (float16 decoding, integer widening) of the same shape.
  const deepsc::npy::Array f = deepsc::npy::to_floating(a, deepsc::npy::DType::Float32);
  require(f.shape == a.shape && f.data.size() == static_cast<size_t>(a.numel()) * 4, "to_floating size");
  return 0;
}

#ifdef DEEPSC_FUZZ_WRITE_SEEDS
namespace {

void write_seed(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::fprintf(stderr, "npy_seedgen: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}

// A hand-built file with a given version and header text, for what serialize() never writes.
std::vector<uint8_t> raw(int major, const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i)
    out.push_back(static_cast<uint8_t>((header.size() >> (8 * i)) & 0xff));
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + data_bytes, 1);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  using deepsc::npy::DType;
  const std::vector<std::vector<int64_t>> shapes = {{}, {3}, {2, 3}, {2, 1, 2}};
  int i = 0;
  for (const DType t : {DType::Float16, DType::Float32, DType::Float64, DType::Int8, DType::Int16,
                        DType::Int32, DType::Int64, DType::UInt8, DType::UInt16, DType::UInt32,
                        DType::UInt64, DType::Bool}) {
    for (const auto& shape : shapes) {
      deepsc::npy::Array a;
      a.dtype = t;
      a.shape = shape;
      a.data.assign(static_cast<size_t>(a.numel()) * deepsc::npy::dtype_size(t), 1);
      write_seed(dir + "/seed" + std::to_string(i++) + ".npy", deepsc::npy::serialize(a));
    }
  }
  write_seed(dir + "/v2.npy",
             raw(2, "{'shape': (2,), 'descr': '<i4', 'fortran_order': False}\n", 8));
  write_seed(dir + "/v3.npy",
             raw(3, "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1, 1,), }  \n", 8));
  // Layouts NumPy writes that are converted on load: Fortran order, big-endian.
  write_seed(dir + "/fortran.npy",
             raw(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }\n", 48));
  write_seed(dir + "/fortran3.npy",
             raw(1, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 2), }\n", 24));
  write_seed(dir + "/big.npy",
             raw(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }\n", 12));
  write_seed(dir + "/empty.npy",
             raw(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 5), }\n", 0));
  return 0;
}
#endif
