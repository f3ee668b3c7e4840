// Progress: the line it shows (count, bytes, ETA), an ETA only from a rate
// measured for a second after the first update, that it rewrites in place
// and ends with a newline, and that it is silent when disabled.
#include "fusefs/cli/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <sstream>

namespace tierfs {
namespace {

TEST(ProgressTest, LineShowsCountBytesAndTheEta) {
  EXPECT_EQ(Progress::Line("migrated", "files", 1, 4, 1 << 20, 4 << 20, 6.0),
            "migrated 1/4 files, 1.0 MiB of 4.0 MiB, ETA 6 s");
  EXPECT_EQ(Progress::Line("checked", "objects", 3, 4, 0, 0, std::nullopt), "checked 3/4 objects");
  // Done, there is no ETA.
  EXPECT_EQ(Progress::Line("checked", "objects", 4, 4, 0, 0, 0.0), "checked 4/4 objects");
}

TEST(ProgressTest, EtaIsTheRateSinceTheFirstUpdateOnceItIsASecondOld) {
  using std::chrono::duration;
  // A quarter more done in 2 s since the first update: half left, 4 s.
  EXPECT_DOUBLE_EQ(*Progress::Eta(0.25, 0.5, duration<double>(2)), 4.0);
  // Less than a second measured, or nothing done since: no rate, no ETA.
  EXPECT_FALSE(Progress::Eta(0.0, 0.5, duration<double>(0.9)));
  EXPECT_FALSE(Progress::Eta(0.5, 0.5, duration<double>(5)));
}

// The fsck case: its first update comes after opening the store (0.5 s),
// one object of 5,000 done. Counting the opening as work, the first ETA was
// 0.5 s * 4999 = 2500 s for a job of a second or two.
TEST(ProgressTest, NoEtaFromTheFirstUpdateAfterASlowStart) {
  Progress::Clock::time_point now{};
  std::ostringstream out;
  {
    Progress p(out, true, "checked", "objects", [&] { return now; });
    now += std::chrono::milliseconds(500);  // opening the store
    p.Update(1, 5000, 0, 0);
    EXPECT_EQ(out.str(), "\rchecked 1/5000 objects");
    now += std::chrono::milliseconds(1000);
    p.Update(2501, 5000, 0, 0);  // half of it in a second: a second left
    EXPECT_NE(out.str().find("\rchecked 2501/5000 objects, ETA 1 s"), std::string::npos)
        << out.str();
  }
}

TEST(ProgressTest, RewritesInPlaceAndEndsTheLine) {
  std::ostringstream out;
  {
    Progress p(out, true, "migrated", "files");
    p.Update(1, 2, 0, 0);
    p.Update(2, 2, 0, 0);  // the last one is always shown
  }
  EXPECT_EQ(out.str().front(), '\r');
  EXPECT_NE(out.str().find("\rmigrated 2/2 files"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(ProgressTest, SilentWhenDisabled) {
  std::ostringstream out;
  {
    Progress p(out, false, "migrated", "files");
    p.Update(1, 1, 10, 10);
  }
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace tierfs
