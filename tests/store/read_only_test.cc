// A read-only open of the store (StoreOptions::read_only) changes nothing on
// disk — not even the recovery it would do — reads work, and every mutating
// method answers EROFS.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "store/object_store.h"
#include "store/test_util.h"

namespace tierfs {
namespace {

using test::RandomBytes;
using test::TempDir;
using test::TextBytes;

namespace fs = std::filesystem;

StoreOptions Options(bool read_only) {
  StoreOptions o = test::TestStoreOptions(64 << 10, 1 << 20);
  o.read_only = read_only;
  return o;
}

// Every path under dir with its type, size, content checksum and mtime.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      out[rel] = "dir";
      continue;
    }
    std::ifstream f(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    out[rel] = std::to_string(bytes.size()) + ":" +
               std::to_string(std::hash<std::string>()(bytes)) + ":" +
               std::to_string(fs::last_write_time(e.path()).time_since_epoch().count());
  }
  return out;
}

std::vector<std::byte> ReadAll(ObjectStore& s, ObjectKey k) {
  std::vector<std::byte> out(1 << 20);
  auto r = s.Read(k, 0, out);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  out.resize(r.ok() ? *r : 0);
  return out;
}

void ExpectReadOnly(const Status& st, const char* what) {
  EXPECT_FALSE(st.ok()) << what;
  EXPECT_EQ(st.posix_errno(), EROFS) << what << ": " << st.ToString();
}

TEST(ObjectStoreReadOnlyTest, ChangesNothingOnDiskAndRefusesMutations) {
  TempDir dir;
  const std::string path = dir.path() + "/store";
  const ObjectKey hot{1, 0}, cold{2, 0}, dup{3, 0};
  const auto hot_data = RandomBytes(50000, 1), cold_data = TextBytes(300000, 2);
  std::string tmp;
  {
    auto s = ObjectStore::Open(Env::Default(), path, Options(false));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Write(hot, 0, hot_data).ok());
    ASSERT_TRUE((*s)->Write(cold, 0, cold_data).ok());
    ASSERT_TRUE((*s)->Demote(cold).ok());
    ASSERT_TRUE((*s)->Write(dup, 0, hot_data).ok());
    // A stale cold duplicate of a hot object and an interrupted move's temp file.
    fs::copy_file((*s)->ColdName(cold), (*s)->ColdName(dup));
    tmp = (*s)->ColdName(cold) + ".tmp.7";
    std::ofstream(tmp) << "partial";
  }
  const auto before = Snapshot(dir.path());
  ASSERT_TRUE(before.count("store/LOCK"));
  {
    auto s = ObjectStore::Open(Env::Default(), path, Options(true));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ObjectStore& store = **s;
    EXPECT_EQ(ReadAll(store, hot), hot_data);
    EXPECT_EQ(ReadAll(store, cold), cold_data);
    EXPECT_EQ(store.Stat(dup)->tier, Tier::kHot);  // hot wins, in memory
    EXPECT_EQ(ReadAll(store, dup), hot_data);
    EXPECT_TRUE(store.Verify(cold).ok());
    auto lease = store.ReadLease(cold, 1000, 4096);
    ASSERT_TRUE(lease.ok());
    EXPECT_TRUE(
        std::equal(lease->contents().begin(), lease->contents().end(), cold_data.begin() + 1000));
    EXPECT_EQ(store.stats().hot_objects, 2u);
    EXPECT_EQ(store.stats().cold_objects, 1u);
    // The LOCK is held: a writer is kept out.
    EXPECT_EQ(ObjectStore::Open(Env::Default(), path, Options(false)).status().code(), Code::kBusy);
    ExpectReadOnly(store.Write(hot, 0, hot_data), "Write");
    ExpectReadOnly(store.Write({9, 0}, 0, hot_data), "Write new");
    ExpectReadOnly(store.Truncate(hot, 10), "Truncate");
    ExpectReadOnly(store.PunchHole(hot, 0, 4096), "PunchHole");
    ExpectReadOnly(store.Remove(hot), "Remove");
    ExpectReadOnly(store.RemoveGroup(1).status(), "RemoveGroup");
    ExpectReadOnly(store.Demote(hot), "Demote");
    ExpectReadOnly(store.Promote(cold), "Promote");
    ExpectReadOnly(store.Allocate(hot, 0, 1 << 20), "Allocate");
    ExpectReadOnly(store.CopyObject(hot, {9, 0}), "CopyObject");
    EXPECT_TRUE(store.Sync(hot).ok());  // nothing to make durable
    EXPECT_EQ(ReadAll(store, hot), hot_data);
  }
  EXPECT_EQ(Snapshot(dir.path()), before);
  EXPECT_TRUE(fs::exists(tmp));
}

TEST(ObjectStoreReadOnlyTest, CreatesNoLockFileAndNoDirectories) {
  TempDir dir;
  const std::string path = dir.path() + "/store";
  const auto data = RandomBytes(1000, 3);
  {
    auto s = ObjectStore::Open(Env::Default(), path, Options(false));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Write({1, 0}, 0, data).ok());
  }
  fs::remove(path + "/LOCK");
  fs::remove_all(path + "/cold");  // e.g. a store whose cold tier was never made
  const auto before = Snapshot(dir.path());
  {
    auto s = ObjectStore::Open(Env::Default(), path, Options(true));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(ReadAll(**s, {1, 0}), data);
  }
  EXPECT_EQ(Snapshot(dir.path()), before);
  EXPECT_FALSE(fs::exists(path + "/LOCK"));
  // A missing store is an error, and stays missing.
  EXPECT_FALSE(ObjectStore::Open(Env::Default(), dir.path() + "/none", Options(true)).ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/none"));
}

}  // namespace
}  // namespace tierfs
