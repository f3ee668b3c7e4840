// Progress: the line it shows (count, bytes, ETA), that it rewrites in
// place and ends with a newline, and that it is silent when disabled.
#include "fusefs/cli/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tierfs {
namespace {

TEST(ProgressTest, LineShowsCountBytesAndAnEtaFromTheShareDone) {
  using std::chrono::duration;
  EXPECT_EQ(Progress::Line("migrated", "files", 1, 4, 1 << 20, 4 << 20, duration<double>(2)),
            "migrated 1/4 files, 1.0 MiB of 4.0 MiB, ETA 6 s");
  // Without bytes the ETA follows the count; done, there is none.
  EXPECT_EQ(Progress::Line("checked", "objects", 3, 4, 0, 0, duration<double>(3)),
            "checked 3/4 objects, ETA 1 s");
  EXPECT_EQ(Progress::Line("checked", "objects", 4, 4, 0, 0, duration<double>(3)),
            "checked 4/4 objects");
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
