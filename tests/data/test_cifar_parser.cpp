// Tests for the plain-C++ CIFAR-10 / CIFAR-100 binary reader (deepsc/data/cifar.h): decoded
// pixels and labels, and one clear single-line error naming the file for every bad input.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/format_writers.h"
#include "deepsc/data/cifar.h"

using deepsc::cifar::CifarError;
using deepsc::cifar::Variant;
using deepsc::testing::cifar_records;
using deepsc::testing::random_bytes;

namespace {

void expect_error(const std::vector<uint8_t>& bytes, Variant v, const std::string& needle) {
  try {
    deepsc::cifar::parse(bytes.data(), bytes.size(), v, "batch.bin");
    ADD_FAILURE() << "expected CifarError containing \"" << needle << "\"";
  } catch (const CifarError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("batch.bin: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(CifarParser, Cifar10PixelsAndLabels) {
  const auto images = random_bytes(4 * 3072, 1);
  const std::vector<uint8_t> labels = {0, 9, 3, 7};
  const auto bytes = cifar_records(images, labels);
  ASSERT_EQ(bytes.size(), 4u * 3073u);
  const auto r = deepsc::cifar::parse(bytes.data(), bytes.size(), Variant::Cifar10, "x");
  EXPECT_EQ(r.count, 4);
  EXPECT_EQ(r.images, images);
  EXPECT_EQ(r.labels, labels);
  EXPECT_TRUE(r.coarse_labels.empty());
}

TEST(CifarParser, Cifar100FineAndCoarse) {
  const auto images = random_bytes(3 * 3072, 2);
  const std::vector<uint8_t> fine = {0, 99, 42}, coarse = {19, 0, 7};
  const auto bytes = cifar_records(images, fine, coarse);
  const auto r = deepsc::cifar::parse(bytes.data(), bytes.size(), Variant::Cifar100, "x");
  EXPECT_EQ(r.count, 3);
  EXPECT_EQ(r.images, images);
  EXPECT_EQ(r.labels, fine);
  EXPECT_EQ(r.coarse_labels, coarse);
}

TEST(CifarParser, RecordSizes) {
  EXPECT_EQ(deepsc::cifar::record_bytes(Variant::Cifar10), 3073u);
  EXPECT_EQ(deepsc::cifar::record_bytes(Variant::Cifar100), 3074u);
}

TEST(CifarParser, TruncatedOrWrongSize) {
  auto bytes = cifar_records(random_bytes(2 * 3072, 3), {1, 2});
  bytes.pop_back();
  expect_error(bytes, Variant::Cifar10, "not a multiple of the 3073-byte CIFAR-10 record");
  // A CIFAR-10 file read as CIFAR-100 (2 records of 3073 bytes = 6146 = 3074 * 2 - 2).
  bytes = cifar_records(random_bytes(2 * 3072, 3), {1, 2});
  expect_error(bytes, Variant::Cifar100, "not a multiple of the 3074-byte CIFAR-100 record");
  expect_error({}, Variant::Cifar10, "empty file");
}

TEST(CifarParser, BadLabelBytes) {
  auto bytes = cifar_records(random_bytes(3 * 3072, 4), {1, 10, 2});
  expect_error(bytes, Variant::Cifar10, "record 1: label byte 10 out of range for CIFAR-10");
  bytes = cifar_records(random_bytes(2 * 3072, 4), {5, 100}, {1, 2});
  expect_error(bytes, Variant::Cifar100, "record 1: fine label byte 100");
  bytes = cifar_records(random_bytes(2 * 3072, 4), {5, 6}, {20, 2});
  expect_error(bytes, Variant::Cifar100, "record 0: coarse label byte 20");
}

TEST(CifarParser, ReadFileAndErrorsNameThePath) {
  const auto dir = deepsc::testing::fresh_dir("cifar_parser");
  const std::string good = (dir / "data_batch_1.bin").string();
  const auto images = random_bytes(2 * 3072, 5);
  deepsc::testing::write_file(good, cifar_records(images, {4, 5}));
  const auto r = deepsc::cifar::read(good, Variant::Cifar10);
  EXPECT_EQ(r.images, images);
  EXPECT_EQ(r.labels, (std::vector<uint8_t>{4, 5}));

  const std::string cut = (dir / "cut.bin").string();
  auto bytes = cifar_records(images, {4, 5});
  bytes.resize(5000);
  deepsc::testing::write_file(cut, bytes);
  try {
    deepsc::cifar::read(cut, Variant::Cifar10);
    ADD_FAILURE() << "expected an error";
  } catch (const CifarError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(cut + ": size 5000 bytes", 0), 0u) << e.what();
  }
  try {
    deepsc::cifar::read((dir / "missing.bin").string(), Variant::Cifar10);
    ADD_FAILURE() << "expected an error";
  } catch (const CifarError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.bin: cannot open"), std::string::npos) << e.what();
  }
}
