// The crash loop of the tier-move tests, shared by crash_test (cold tier
// in a directory) and rados_test (cold tier on a RADOS pool).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "store/object_store.h"
#include "store/test_util.h"
#include "store/testing/fault_cold.h"
#include "store/testing/fault_env.h"

namespace tierfs::test {

inline size_t CountTempFiles(const std::string& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++n;
  }
  return n;
}

enum class Move { kDemote, kPromote, kWriteToCold };

// Stops `move` of one object after every single mutating step, hot or cold
// (FaultInjectionEnv, and FaultColdBackend around the cold backend), drops
// unsynced data as a power cut would, and checks that the reopened store
// holds the object complete, readable and never mixed, with no temp file
// left. options(i): the store options for crash point i (a fresh store each);
// check(store, i), if given, looks further at the reopened store.
inline void CheckEveryCrashPoint(Move move, const std::function<StoreOptions(int)>& options,
                                 const std::function<void(ObjectStore&, int)>& check = {}) {
  const auto data = TextBytes(100000, 1);
  const auto patch = TextBytes(3000, 2);
  auto expected_after = data;
  std::copy(patch.begin(), patch.end(), expected_after.begin() + 20000);
  const ObjectKey key{1, 0};

  int crash_points_seen = 0;
  for (int crash_at = 0;; ++crash_at) {
    TempDir dir;
    const std::string path = dir.path() + "/store";
    {
      // Set up: the object, durable, in the source tier.
      auto s = ObjectStore::Open(Env::Default(), path, options(crash_at));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      ASSERT_TRUE((*s)->Write(key, 0, data).ok());
      ASSERT_TRUE((*s)->Sync(key).ok());
      if (move != Move::kDemote) {
        ASSERT_TRUE((*s)->Demote(key).ok());
      }
    }
    FaultInjectionEnv env(Env::Default());
    bool finished;
    {
      StoreOptions faulty = options(crash_at);
      faulty.wrap_cold_backend = [&env](std::unique_ptr<ColdBackend> b) {
        return std::make_unique<FaultColdBackend>(std::move(b), &env);
      };
      auto s = ObjectStore::Open(&env, path, faulty);
      ASSERT_TRUE(s.ok());
      env.CrashAfter(crash_at);
      Status st;
      switch (move) {
        case Move::kDemote:
          st = (*s)->Demote(key);
          break;
        case Move::kPromote:
          st = (*s)->Promote(key);
          break;
        case Move::kWriteToCold:
          st = (*s)->Write(key, 20000, patch);
          if (st.ok()) st = (*s)->Sync(key);
          break;
      }
      finished = !env.crashed();
      if (finished) {
        ASSERT_TRUE(st.ok()) << st.ToString();
      }
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    auto s = ObjectStore::Open(Env::Default(), path, options(crash_at));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(CountTempFiles(path), 0u) << "crash point " << crash_at;
    std::vector<std::byte> buf(data.size() + 10);
    auto n = (*s)->Read(key, 0, buf);
    ASSERT_TRUE(n.ok()) << "crash point " << crash_at << ": " << n.status().ToString();
    buf.resize(*n);
    if (move == Move::kWriteToCold && finished) {
      EXPECT_EQ(buf, expected_after);
    } else if (move == Move::kWriteToCold) {
      // An unsynced write may be lost, never mixed into other data.
      EXPECT_TRUE(buf == data || buf == expected_after) << "crash point " << crash_at;
    } else {
      EXPECT_EQ(buf, data) << "crash point " << crash_at;
    }
    if (check) check(**s, crash_at);
    ++crash_points_seen;
    if (finished) break;
  }
  EXPECT_GE(crash_points_seen, 4);
}

}  // namespace tierfs::test
