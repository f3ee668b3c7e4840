// The cold tier's owner record (store/cold_owner.h): a copy of a store
// directory sharing an outside cold directory is refused before it recovers
// or writes the tier; take_over hands the tier over; another store id is
// never let in; a store made before owner records claims its tier at its
// first writable open; a claim cut by a crash is resumed; the record's
// decoder refuses anything but a well-formed record.
#include "store/cold_owner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/cold_dir.h"
#include "store/object_store.h"
#include "store/test_util.h"

namespace tierfs {
namespace {

namespace fs = std::filesystem;
using test::RandomBytes;
using test::TempDir;

constexpr const char* kId = "0123456789abcdef0123456789abcdef";

class ColdOwnerTest : public ::testing::Test {
 protected:
  std::string Store(const std::string& name) const { return tmp_.path() + "/" + name; }
  std::string Cold() const { return tmp_.path() + "/cold"; }
  Result<std::unique_ptr<ObjectStore>> Open(const std::string& dir, const std::string& id = kId,
                                            bool take_over = false, bool read_only = false) {
    StoreOptions o = test::TestStoreOptions(64 << 10, 1 << 20);
    o.cold_dir = Cold();
    o.owner_id = id;
    o.take_over = take_over;
    o.read_only = read_only;
    return ObjectStore::Open(Env::Default(), dir, o);
  }
  size_t ColdFiles() const {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(Cold())) {
      if (e.is_regular_file() && e.path().parent_path() != Cold()) ++n;
    }
    return n;
  }
  TempDir tmp_;
};

TEST_F(ColdOwnerTest, CopyIsRefusedAndTouchesNothingUntilTakeover) {
  const ObjectKey key{1, 0};
  const auto data = RandomBytes(100000, 1);
  {
    auto s = Open(Store("a"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Write(key, 0, data).ok());
  }
  fs::copy(Store("a"), Store("b"), fs::copy_options::recursive);
  {  // The original makes the object cold; the copy still has it hot.
    auto s = Open(Store("a"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Demote(key).ok());
  }
  ASSERT_EQ(ColdFiles(), 1u);
  auto copy = Open(Store("b"));
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), Code::kBusy);
  EXPECT_NE(copy.status().message().find("tierfs takeover " + Store("b")), std::string::npos)
      << copy.status().ToString();
  // Unfenced, its recovery would have removed the cold copy of the key it
  // has hot.
  EXPECT_EQ(ColdFiles(), 1u);
  {  // Read-only opens change nothing and are let in.
    auto ro = Open(Store("b"), kId, false, /*read_only=*/true);
    EXPECT_TRUE(ro.ok()) << ro.status().ToString();
  }
  {
    auto s = Open(Store("a"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::vector<std::byte> back(data.size());
    auto n = (*s)->Read(key, 0, back);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(back, data);
  }
  {
    auto s = Open(Store("b"), kId, /*take_over=*/true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
  {
    auto b_again = Open(Store("b"));
    EXPECT_TRUE(b_again.ok()) << b_again.status().ToString();
  }
  auto original = Open(Store("a"));
  ASSERT_FALSE(original.ok());
  EXPECT_NE(original.status().message().find("owned by another copy"), std::string::npos)
      << original.status().ToString();
}

TEST_F(ColdOwnerTest, AnotherStoreIsNeverLetIn) {
  ASSERT_TRUE(Open(Store("a")).ok());
  const std::string other = "fedcba9876543210fedcba9876543210";
  for (bool take_over : {false, true}) {
    auto s = Open(Store("x"), other, take_over);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("belongs to another store"), std::string::npos)
        << s.status().ToString();
  }
  EXPECT_TRUE(Open(Store("a")).ok());
}

TEST_F(ColdOwnerTest, StoreWithoutRecordsClaimsAtFirstOpenAndItsCopyIsRefused) {
  {  // A store made before owner records: no owner_id, no record.
    StoreOptions o = test::TestStoreOptions(64 << 10, 1 << 20);
    o.cold_dir = Cold();
    auto s = ObjectStore::Open(Env::Default(), Store("a"), o);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Write(ObjectKey{1, 0}, 0, RandomBytes(1000, 2)).ok());
    ASSERT_TRUE((*s)->Demote(ObjectKey{1, 0}).ok());
  }
  EXPECT_FALSE(fs::exists(Cold() + "/OWNER"));
  fs::copy(Store("a"), Store("b"), fs::copy_options::recursive);
  ASSERT_TRUE(Open(Store("a")).ok());  // claims
  EXPECT_TRUE(fs::exists(Cold() + "/OWNER"));
  EXPECT_TRUE(fs::exists(StoreOwnerPath(Store("a"))));
  EXPECT_FALSE(Open(Store("b")).ok());
  EXPECT_TRUE(Open(Store("a")).ok());
}

TEST_F(ColdOwnerTest, ClaimCutByACrashIsResumed) {
  ASSERT_TRUE(Open(Store("a")).ok());
  auto mine = ReadRecordFile(Env::Default(), StoreOwnerPath(Store("a")));
  ASSERT_TRUE(mine.ok());
  auto rec = DecodeOwnerRecord(std::as_bytes(std::span(*mine)));
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->claiming, 0u);
  // Cut after the store directory recorded the claim, and after the cold
  // tier's record was swapped: both are accepted.
  OwnerRecord claiming = *rec;
  claiming.claiming = rec->epoch + 1;
  ASSERT_TRUE(
      ReplaceRecordFile(Env::Default(), StoreOwnerPath(Store("a")), EncodeOwnerRecord(claiming))
          .ok());
  EXPECT_TRUE(Open(Store("a")).ok());
  mine = ReadRecordFile(Env::Default(), StoreOwnerPath(Store("a")));
  rec = DecodeOwnerRecord(std::as_bytes(std::span(*mine)));
  claiming = OwnerRecord{kId, rec->epoch, rec->epoch + 1, rec->dir_ino};
  ASSERT_TRUE(
      ReplaceRecordFile(Env::Default(), StoreOwnerPath(Store("a")), EncodeOwnerRecord(claiming))
          .ok());
  ASSERT_TRUE(
      ReplaceRecordFile(Env::Default(), Cold() + "/OWNER",
                        EncodeOwnerRecord(OwnerRecord{kId, rec->epoch + 1, 0, rec->dir_ino}))
          .ok());
  EXPECT_TRUE(Open(Store("a")).ok());
}

TEST_F(ColdOwnerTest, SwapIsACompareAndSet) {
  DirColdBackend cold(Env::Default(), Cold(), false);
  const std::string r1 = EncodeOwnerRecord(OwnerRecord{kId, 1, 0, 7});
  const std::string r2 = EncodeOwnerRecord(OwnerRecord{kId, 2, 0, 7});
  EXPECT_TRUE(cold.ReadOwner().status().IsNotFound());
  ASSERT_TRUE(cold.SwapOwner(std::nullopt, r1).ok());
  EXPECT_EQ(cold.SwapOwner(std::nullopt, r2).code(), Code::kBusy);  // someone was first
  EXPECT_EQ(cold.SwapOwner(r2, r2).code(), Code::kBusy);
  ASSERT_TRUE(cold.SwapOwner(r1, r2).ok());
  EXPECT_EQ(*cold.ReadOwner(), r2);
}

TEST(OwnerRecordTest, RoundTripsAndRefusesAnythingElse) {
  const OwnerRecord r{kId, 5, 6, 12345};
  const std::string bytes = EncodeOwnerRecord(r);
  ASSERT_EQ(bytes.size(), kOwnerRecordSize);
  auto back = DecodeOwnerRecord(std::as_bytes(std::span(bytes)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(DecodeOwnerRecord(std::as_bytes(std::span(bytes).first(kOwnerRecordSize - 1))));
  std::string longer = bytes + '\0';
  EXPECT_FALSE(DecodeOwnerRecord(std::as_bytes(std::span(longer))));
  for (size_t i : {0, 15, 16, 20, 24, 55}) {  // magic, version, padding, id
    std::string bad = bytes;
    bad[i] = 'X';
    EXPECT_FALSE(DecodeOwnerRecord(std::as_bytes(std::span(bad)))) << "byte " << i;
  }
}

}  // namespace
}  // namespace tierfs
