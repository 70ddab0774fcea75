// empty_output: large CPU outputs in 2 MiB-aligned blocks (transparent huge pages), others as
// torch::empty; either way an ordinary, writable, contiguous tensor of the asked shape and type.
#include "deepsc/core/output_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

constexpr uintptr_t kHugePage = uintptr_t(2) << 20;

TEST(EmptyOutput, ALargeBufferIsHugePageAlignedWritableAndOfTheAskedShape) {
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    auto t = deepsc::empty_output({8000, 256}, torch::TensorOptions().dtype(dtype));
    EXPECT_EQ(t.sizes(), (c10::IntArrayRef{8000, 256}));
    EXPECT_EQ(t.scalar_type(), dtype);
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % kHugePage, 0u);
    t.copy_(torch::arange(8000 * 256, torch::TensorOptions().dtype(torch::kDouble)).view({8000, 256}));
    EXPECT_EQ(t.index({7999, 255}).item<double>(), 8000.0 * 256 - 1);
    EXPECT_EQ(t.to(torch::kDouble).sum().item<double>(), (8000.0 * 256 - 1) * 8000 * 256 / 2);  // exact in float32 too
    // A view outlives the name it came from: the block is freed with the last reference.
    auto row = t.index({123});
    t = torch::Tensor();
    EXPECT_EQ(row.index({5}).item<double>(), 123.0 * 256 + 5);
  }
}

TEST(EmptyOutput, SmallAndEmptyBuffersAreOrdinaryTensors) {
  auto small = deepsc::empty_output({10, 3}, torch::kFloat);
  EXPECT_EQ(small.sizes(), (c10::IntArrayRef{10, 3}));
  small.fill_(2);
  EXPECT_EQ(small.sum().item<float>(), 60.0f);
  auto none = deepsc::empty_output({0, 256}, torch::kDouble);
  EXPECT_EQ(none.numel(), 0);
  EXPECT_EQ(none.scalar_type(), torch::kDouble);
}

}  // namespace
