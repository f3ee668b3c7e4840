// Catching (fusefs/fuse/guard.h): a stray exception in an op body becomes exactly
// one errno on the error path — never an exception into libfuse, never two
// replies, never a reply when the body succeeded.
#include "fusefs/fuse/guard.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace tierfs {
namespace {

std::vector<int> ErrorsOf(void (*body)()) {
  std::vector<int> errors;
  Catching("test", body, [&](int e) { errors.push_back(e); });
  return errors;
}

TEST(GuardTest, SuccessTakesNoErrorPath) {
  EXPECT_TRUE(ErrorsOf([] {}).empty());
}

TEST(GuardTest, BadAllocIsEnomemOnce) {
  EXPECT_EQ(ErrorsOf([] { throw std::bad_alloc(); }), std::vector<int>{ENOMEM});
}

TEST(GuardTest, AnyOtherExceptionIsEioOnce) {
  EXPECT_EQ(ErrorsOf([] { throw std::runtime_error("x"); }), std::vector<int>{EIO});
  EXPECT_EQ(ErrorsOf([] { throw 42; }), std::vector<int>{EIO});
}

}  // namespace
}  // namespace tierfs
