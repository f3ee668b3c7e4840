// The mount option parser's values as people type them: sizes with
// 1024-based (K, MiB) and 1000-based (GB) units and fractions, durations
// with s/m/h/d and cold_after=never, and errors naming the option and the
// value.
#include "fusefs/core/config.h"

#include <gtest/gtest.h>

#include <string>

namespace tierfs {
namespace {

uint64_t Size(const std::string& text) {
  auto r = ParseSize(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : 0;
}

TEST(ConfigTest, SizesIn1024And1000BasedUnits) {
  EXPECT_EQ(Size("1048576"), 1048576u);
  EXPECT_EQ(Size("64K"), 64u << 10);
  EXPECT_EQ(Size("64k"), 64u << 10);
  EXPECT_EQ(Size("4M"), 4u << 20);
  EXPECT_EQ(Size("4MiB"), 4u << 20);
  EXPECT_EQ(Size("4mib"), 4u << 20);
  EXPECT_EQ(Size("2G"), 2ull << 30);
  EXPECT_EQ(Size("2GiB"), 2ull << 30);
  EXPECT_EQ(Size("1T"), 1ull << 40);
  EXPECT_EQ(Size("1P"), 1ull << 50);
  EXPECT_EQ(Size("100GB"), 100'000'000'000ull);
  EXPECT_EQ(Size("100gb"), 100'000'000'000ull);
  EXPECT_EQ(Size("5KB"), 5000u);
  EXPECT_EQ(Size("2TB"), 2'000'000'000'000ull);
  EXPECT_EQ(Size("1.5G"), 3ull << 29);
  EXPECT_EQ(Size("0.5MiB"), 512u << 10);
  EXPECT_EQ(Size("1.5KB"), 1500u);
  EXPECT_EQ(Size("512B"), 512u);
}

TEST(ConfigTest, NotSizes) {
  for (const char* bad : {"", "G", "12X", "1.5", "1.5B", "-1K", "1e3", "4 M", "4MB2", "1..5G",
                          "4Mi", "4KiBB", "99999999999999999999", "20000000P"}) {
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  }
}

TEST(ConfigTest, Durations) {
  auto d = [](const std::string& t) {
    auto r = ParseDuration(t);
    EXPECT_TRUE(r.ok()) << t << ": " << r.status().message();
    return r.ok() ? *r : 0;
  };
  EXPECT_EQ(d("3600"), 3600u);
  EXPECT_EQ(d("30s"), 30u);
  EXPECT_EQ(d("90m"), 5400u);
  EXPECT_EQ(d("12h"), 43200u);
  EXPECT_EQ(d("7d"), 604800u);
  EXPECT_EQ(d("1.5h"), 5400u);
  EXPECT_EQ(d("2H"), 7200u);
  for (const char* bad : {"", "s", "1.5", "1.5s", "10x", "1w", "h1", "-5m", "1 h"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

TEST(ConfigTest, ColdAfterTakesDurationsAndNever) {
  MountConfig c;
  ASSERT_TRUE(ApplyMountOptions("cold_after=7d", &c).ok());
  EXPECT_EQ(c.policy.cold_after_ns, 7LL * 86400 * 1000000000LL);
  ASSERT_TRUE(ApplyMountOptions("cold_after=30", &c).ok());
  EXPECT_EQ(c.policy.cold_after_ns, 30LL * 1000000000LL);
  ASSERT_TRUE(ApplyMountOptions("cold_after=never", &c).ok());
  EXPECT_LT(c.policy.cold_after_ns, 0);  // PolicyConfig: never demote for idleness
  ASSERT_TRUE(ApplyMountOptions("metrics_file=/x.prom,metrics_interval=1m", &c).ok());
  EXPECT_EQ(c.metrics_interval, 60u);
  ASSERT_TRUE(ApplyMountOptions("hot_capacity=100GB,buffer_pool=64MiB", &c).ok());
  EXPECT_EQ(c.policy.hot_capacity, 100'000'000'000ull);
  EXPECT_EQ(c.buffer_pool, 64ull << 20);
}

TEST(ConfigTest, BadValuesNameTheOptionAndTheValue) {
  auto error = [](const std::string& list) {
    MountConfig c;
    Status st = ApplyMountOptions(list, &c);
    EXPECT_FALSE(st.ok()) << list;
    return st.message();
  };
  EXPECT_EQ(error("cold_after=5x").rfind("option cold_after=5x: not a duration", 0), 0u)
      << error("cold_after=5x");
  EXPECT_EQ(error("hot_capacity=12X").rfind("option hot_capacity=12X: not a size", 0), 0u)
      << error("hot_capacity=12X");
  EXPECT_NE(error("hot_capacity=12X").find("1000-based"), std::string::npos);
  EXPECT_EQ(error("metrics_file=/x.prom,metrics_interval=2h"),
            "option metrics_interval=2h: must be 1 to 3600 seconds (1s to 1h)");
  EXPECT_EQ(error("chunk_size=3M"), "option chunk_size=3M: must be a power of two from 64K to 64M");
}

}  // namespace
}  // namespace tierfs
