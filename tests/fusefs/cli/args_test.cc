// ParseArgs: flags anywhere, with values in either form, "--" ending them,
// help and version before anything else, and usage errors that say which.
#include "fusefs/cli/args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tierfs::cli {
namespace {

const ArgSpec kWhere{{{"--json"}, {"--summary", "-s"}}, "PATH", /*many=*/true};
const ArgSpec kMigrate{{{"--to", "", /*takes_value=*/true}}, "PATH", /*many=*/true};
const ArgSpec kUmount{{}, "MOUNTPOINT"};

std::string ErrorOf(const ArgSpec& spec, const std::vector<std::string>& argv) {
  auto r = ParseArgs(spec, argv);
  return r.ok() ? "ok" : r.status().message();
}

TEST(ArgsTest, FlagsAnywhereAndAliases) {
  auto a = ParseArgs(kWhere, {"a", "-s", "b", "--json"});
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_TRUE(a->Has("--summary"));
  EXPECT_TRUE(a->Has("--json"));
  EXPECT_EQ(a->operands, (std::vector<std::string>{"a", "b"}));
}

TEST(ArgsTest, ValuesInBothFormsTheLastWins) {
  auto a = ParseArgs(kMigrate, {"--to", "cold", "f", "--to=hot"});
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->Value("--to"), "hot");
  EXPECT_EQ(a->operands, (std::vector<std::string>{"f"}));
  EXPECT_EQ(ErrorOf(kMigrate, {"f", "--to"}), "--to needs a value");
  EXPECT_EQ(ErrorOf(kWhere, {"f", "--json=yes"}), "--json takes no value");
}

TEST(ArgsTest, HelpAndVersionWinOverEverythingElse) {
  // "status -h" is help, not a path; help needs no operand and ignores
  // unknown flags.
  auto h = ParseArgs(kUmount, {"-h"});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->help);
  EXPECT_TRUE(ParseArgs(kUmount, {"--bogus", "a", "b", "--help"})->help);
  EXPECT_TRUE(ParseArgs(kUmount, {"--version"})->version);
}

TEST(ArgsTest, DoubleDashEndsTheFlags) {
  auto a = ParseArgs(kWhere, {"--json", "--", "-h", "--summary"});
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_FALSE(a->help);
  EXPECT_FALSE(a->Has("--summary"));
  EXPECT_EQ(a->operands, (std::vector<std::string>{"-h", "--summary"}));
  // "-" alone is an operand (as for cat).
  EXPECT_EQ(ParseArgs(kUmount, {"-"})->operands, (std::vector<std::string>{"-"}));
}

TEST(ArgsTest, UsageErrorsSayWhich) {
  EXPECT_EQ(ErrorOf(kWhere, {"--jsn", "a"}), "unknown flag --jsn");
  EXPECT_EQ(ErrorOf(kWhere, {"--json"}), "missing PATH");
  EXPECT_EQ(ErrorOf(kUmount, {"a", "b"}), "takes one MOUNTPOINT, got 2");
  EXPECT_EQ(ErrorOf(kUmount, {"a"}), "ok");
}

}  // namespace
}  // namespace tierfs::cli
