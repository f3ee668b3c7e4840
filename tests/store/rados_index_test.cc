// The RADOS index value (store/STORE.md): round trip, and every malformed
// input refused (the decoder is also fuzzed: rados_index_fuzz).
#include <gtest/gtest.h>

#include <array>

#include "store/cold_rados.h"

namespace tierfs {
namespace {

TEST(RadosIndexValueTest, RoundTrips) {
  RadosIndexValue v{0x0123456789abcdefULL, 123456789, 1'700'000'000'000'000'000};
  std::array<std::byte, kRadosIndexValueSize> buf;
  EncodeRadosIndexValue(v, buf);
  EXPECT_EQ(buf[0], std::byte{1});  // version
  auto d = DecodeRadosIndexValue(buf);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->nonce, v.nonce);
  EXPECT_EQ(d->stored_bytes, v.stored_bytes);
  EXPECT_EQ(d->mtime_ns, v.mtime_ns);
}

TEST(RadosIndexValueTest, RefusesOtherSizesVersionsAndPadding) {
  std::array<std::byte, kRadosIndexValueSize> buf;
  EncodeRadosIndexValue({1, 2, 3}, buf);
  for (size_t n = 0; n < buf.size(); ++n) {
    EXPECT_FALSE(DecodeRadosIndexValue(std::span(buf).first(n))) << n;
  }
  std::array<std::byte, kRadosIndexValueSize + 1> longer{};
  std::copy(buf.begin(), buf.end(), longer.begin());
  EXPECT_FALSE(DecodeRadosIndexValue(longer));
  auto bad = buf;
  bad[0] = std::byte{2};
  EXPECT_FALSE(DecodeRadosIndexValue(bad));
  bad = buf;
  bad[5] = std::byte{1};
  EXPECT_FALSE(DecodeRadosIndexValue(bad));
  bad = buf;
  bad[31] = std::byte{0x80};  // a negative commit time
  EXPECT_FALSE(DecodeRadosIndexValue(bad));
}

}  // namespace
}  // namespace tierfs
