// The command line reads .npy files as NumPy writes them: a Fortran-ordered dictionary
// (np.save("D.npy", components.T)), big-endian, float16, uint8 and bool signals give the same codes
// as the plain float32 files; an empty signal file gives an empty code file, not LibTorch's text.
#include "deepsc/data/npy_tensor.h"

#include "support/cli_runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using deepsc::testing::run;

namespace {

// A .npy file as numpy.save writes it: `values` (a CPU tensor of the element type of `descr`)
// stored in Fortran order when `fortran`, big-endian when descr starts with '>'.
void save_as_numpy(const std::string& path, const torch::Tensor& values, const std::string& descr, bool fortran) {
  torch::Tensor t = fortran ? values.t().contiguous() : values.contiguous();  // column-major memory
  std::vector<uint8_t> data(static_cast<size_t>(t.numel() * t.element_size()));
  if (!data.empty()) std::memcpy(data.data(), t.data_ptr(), data.size());
  const size_t width = static_cast<size_t>(t.element_size());
  if (descr[0] == '>')
    for (size_t i = 0; i < data.size(); i += width) std::reverse(data.begin() + i, data.begin() + i + width);
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" +
                       std::to_string(values.size(0)) + ", " + std::to_string(values.size(1)) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xff) +
                      static_cast<char>(header.size() >> 8) + header;
  bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
  std::ofstream(path, std::ios::binary) << bytes;
}

torch::Tensor encode(const fs::path& dir, const std::string& dict, const std::string& signals, const std::string& name,
                     const std::string& solver = "fista") {
  const auto out = (dir / name).string();
  const auto r = run({"encode", "--dict", dict, "--signals", signals, "--out", out, "--solver", solver, "--lambda",
                      "0.1", "--beta", "0.1"});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.code == 0 ? deepsc::data::load_npy(out) : torch::Tensor();
}

}  // namespace

TEST(CliFiles, NumpyLayoutsGiveTheSameCodesAsPlainFloat32Files) {
  const auto dir = deepsc::testing::test_dir("cli_files_");
  torch::manual_seed(5);
  const auto d = torch::randn({16, 32});                                        // [n, m]
  const auto y = torch::randint(0, 2, {6, 16}, torch::kLong).to(torch::kFloat);  // 0/1: every dtype holds it
  deepsc::data::save_npy((dir / "D.npy").string(), d);
  deepsc::data::save_npy((dir / "Y.npy").string(), y);
  const auto reference = encode(dir, (dir / "D.npy").string(), (dir / "Y.npy").string(), "X.npy");
  ASSERT_TRUE(reference.defined());
  ASSERT_EQ(reference.sizes(), (std::vector<int64_t>{6, 32}));
  ASSERT_GT(reference.abs().sum().item<double>(), 0);

  // np.save("D.npy", components.T): components [m, n] with atoms in rows, saved transposed.
  save_as_numpy((dir / "D_fortran.npy").string(), d, "<f4", /*fortran=*/true);
  struct Case {
    const char* descr;
    torch::ScalarType type;
  };
  for (const Case c : {Case{">f4", torch::kFloat}, Case{">i2", torch::kShort}, Case{"<f2", torch::kHalf},
                       Case{"|u1", torch::kByte}, Case{"|b1", torch::kBool}, Case{"<i8", torch::kLong}}) {
    SCOPED_TRACE(c.descr);
    const auto path = (dir / (std::string("Y_") + (c.descr + 1) + ".npy")).string();
    save_as_numpy(path, y.to(c.type), c.descr, /*fortran=*/c.type == torch::kShort);
    const auto x = encode(dir, (dir / "D_fortran.npy").string(), path, std::string("X_") + (c.descr + 1) + ".npy");
    ASSERT_TRUE(x.defined());
    EXPECT_EQ(x.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(x, reference));
  }
  // A float64 dictionary stays float64, Fortran-ordered or not.
  save_as_numpy((dir / "D64.npy").string(), d.to(torch::kDouble), "<f8", /*fortran=*/true);
  save_as_numpy((dir / "Y64.npy").string(), y.to(torch::kDouble), ">f8", /*fortran=*/false);
  deepsc::data::save_npy((dir / "D64_c.npy").string(), d.to(torch::kDouble));
  deepsc::data::save_npy((dir / "Y64_c.npy").string(), y.to(torch::kDouble));
  const auto x64 = encode(dir, (dir / "D64.npy").string(), (dir / "Y64.npy").string(), "X64.npy");
  const auto x64_c = encode(dir, (dir / "D64_c.npy").string(), (dir / "Y64_c.npy").string(), "X64_c.npy");
  ASSERT_TRUE(x64.defined() && x64_c.defined());
  EXPECT_EQ(x64.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(x64, x64_c));
}

TEST(CliFiles, EmptySignalFileGivesAnEmptyCodeFile) {
  const auto dir = deepsc::testing::test_dir("cli_files_");
  torch::manual_seed(6);
  deepsc::data::save_npy((dir / "D.npy").string(), torch::randn({16, 32}));
  deepsc::data::save_npy((dir / "Y.npy").string(), torch::zeros({0, 16}));
  for (const std::string solver : {"threshold", "ista", "fista", "cd", "omp"}) {
    SCOPED_TRACE(solver);
    const auto out = (dir / ("X_" + solver + ".npy")).string();
    std::vector<std::string> args = {"encode", "--dict", (dir / "D.npy").string(), "--signals",
                                     (dir / "Y.npy").string(), "--out", out, "--solver", solver};
    if (solver == "omp") args.insert(args.end(), {"--sparsity", "3"});
    const auto r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err.find("reshape"), std::string::npos) << r.err;
    EXPECT_EQ(deepsc::data::load_npy(out).sizes(), (std::vector<int64_t>{0, 32}));
  }
}
