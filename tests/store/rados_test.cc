// The cold tier on a real RADOS pool (label rados): a one-node cluster from
// scripts/ceph-dev.sh, named by CEPH_CONF (the ctest fixture starts it).
// Without CEPH_CONF the tests skip, except under CI=true, where they fail.
// Each test uses its own RADOS namespace of the pool TIERFS_RADOS_POOL
// (default tierfs-test, created when missing), and looks at the pool
// directly with librados to check what the store left there.
#include <gtest/gtest.h>
#include <rados/librados.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "store/cold_owner.h"
#include "store/cold_rados.h"
#include "store/crash_util.h"
#include "store/object_store.h"
#include "store/test_util.h"
#include "store/testing/fault_cold.h"
#include "store/testing/fault_env.h"

namespace tierfs {
namespace {

using test::TempDir;
using test::TextBytes;

const char* Conf() { return std::getenv("CEPH_CONF"); }

std::string Pool() {
  const char* p = std::getenv("TIERFS_RADOS_POOL");
  return p ? p : "tierfs-test";
}

// A raw client of the test pool, in one namespace.
class Raw {
 public:
  explicit Raw(const std::string& ns) {
    EXPECT_EQ(rados_create2(&cluster_, "ceph", "client.admin", 0), 0);
    EXPECT_EQ(rados_conf_read_file(cluster_, Conf()), 0);
    EXPECT_EQ(rados_connect(cluster_), 0);
    int r = rados_pool_create(cluster_, Pool().c_str());
    EXPECT_TRUE(r == 0 || r == -EEXIST) << r;
    EXPECT_EQ(rados_ioctx_create(cluster_, Pool().c_str(), &io_), 0);
    rados_ioctx_set_namespace(io_, ns.c_str());
  }
  ~Raw() {
    rados_ioctx_destroy(io_);
    rados_shutdown(cluster_);
  }
  std::set<std::string> Objects() {
    std::set<std::string> out;
    rados_list_ctx_t ctx;
    EXPECT_EQ(rados_nobjects_list_open(io_, &ctx), 0);
    const char* entry;
    while (rados_nobjects_list_next(ctx, &entry, nullptr, nullptr) == 0) out.insert(entry);
    rados_nobjects_list_close(ctx);
    return out;
  }
  void Put(const std::string& oid, const std::string& bytes) {
    ASSERT_EQ(rados_write_full(io_, oid.c_str(), bytes.data(), bytes.size()), 0);
  }
  // Removes every object of the namespace.
  void Clear() {
    for (const std::string& o : Objects()) rados_remove(io_, o.c_str());
  }

 private:
  rados_t cluster_ = nullptr;
  rados_ioctx_t io_ = nullptr;
};

class RadosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Conf()) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true") FAIL() << "CI=true but CEPH_CONF is not set";
      GTEST_SKIP() << "CEPH_CONF not set: no Ceph cluster to test against";
    }
    ns_ = "test-" + std::to_string(std::random_device{}());
    raw_ = std::make_unique<Raw>(ns_);
  }
  void TearDown() override {
    store_.reset();
    if (raw_) raw_->Clear();
  }
  StoreOptions Options(const std::string& ns) const {
    StoreOptions o = test::TestStoreOptions(16 << 10, 1 << 20);
    o.rados.pool = Pool();
    o.rados.conf = Conf();
    o.rados.ns = ns;
    o.rados.timeout_s = 10;
    return o;
  }
  void Open(Env* env = Env::Default()) { Open(Options(ns_), env); }
  void Open(const StoreOptions& o, Env* env = Env::Default()) {
    store_.reset();
    auto s = ObjectStore::Open(env, dir_.path() + "/store", o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::vector<std::byte> ReadAll(ObjectKey k, size_t max = 1 << 20) {
    std::vector<std::byte> buf(max);
    auto n = store_->Read(k, 0, buf);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    buf.resize(n.ok() ? *n : 0);
    return buf;
  }

  TempDir dir_;
  std::string ns_;
  std::unique_ptr<Raw> raw_;
  std::unique_ptr<ObjectStore> store_;
};

// A copy of the store directory shares the namespace (same store id): it is
// refused before its recovery can remove the original's cold objects, and
// the owner record is swapped by compare-and-set (store/cold_owner.h).
TEST_F(RadosTest, OwnerRecordFencesACopyOfTheStore) {
  StoreOptions o = Options(ns_);
  o.owner_id = "0123456789abcdef0123456789abcdef";
  const ObjectKey key{3, 0};
  const auto data = TextBytes(50000, 9);
  Open(o);
  ASSERT_TRUE(store_->Write(key, 0, data).ok());
  store_.reset();
  std::filesystem::copy(dir_.path() + "/store", dir_.path() + "/copy",
                        std::filesystem::copy_options::recursive);
  Open(o);
  ASSERT_TRUE(store_->Demote(key).ok());
  store_.reset();
  const std::set<std::string> before = raw_->Objects();
  EXPECT_TRUE(before.count("tierfs.owner")) << "no owner object";
  auto copy = ObjectStore::Open(Env::Default(), dir_.path() + "/copy", o);
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.status().code(), Code::kBusy) << copy.status().ToString();
  EXPECT_NE(copy.status().message().find("tierfs takeover"), std::string::npos);
  EXPECT_EQ(raw_->Objects(), before);  // unfenced, it removed the cold copy of its hot key
  Open(o);
  EXPECT_EQ(ReadAll(key), data);
  store_.reset();

  RadosOptions ro = o.rados;
  auto cold = OpenRadosColdBackend(ro);
  ASSERT_TRUE(cold.ok()) << cold.status().ToString();
  auto current = (*cold)->ReadOwner();
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  const std::string next = EncodeOwnerRecord(OwnerRecord{o.owner_id, 1000, 0, 1});
  EXPECT_EQ((*cold)->SwapOwner(std::nullopt, next).code(), Code::kBusy);
  EXPECT_EQ((*cold)->SwapOwner(next, next).code(), Code::kBusy);
  ASSERT_TRUE((*cold)->SwapOwner(*current, next).ok());
  EXPECT_EQ(*(*cold)->ReadOwner(), next);
}

TEST_F(RadosTest, DemotedObjectsReadBackAfterReopen) {
  Open();
  EXPECT_EQ(store_->ColdTier(), "rados:" + Pool() + "/" + ns_);
  std::vector<std::vector<std::byte>> data;
  for (uint64_t i = 0; i < 5; ++i) {
    data.push_back(TextBytes(40000 + 7000 * i, static_cast<uint32_t>(i)));
    ASSERT_TRUE(store_->Write({1, i}, 0, data.back()).ok());
    ASSERT_TRUE(store_->Demote({1, i}).ok());
  }
  // A data object per chunk, and the index.
  EXPECT_EQ(raw_->Objects().size(), 6u);
  EXPECT_TRUE(raw_->Objects().count("tierfs.index"));
  // Nothing of it left in the hot tier or in memory: a new store reads it
  // from the pool.
  Open();
  // A 4 KiB read in the middle fetches and decodes one frame.
  const uint64_t before = store_->stats().frames_decoded;
  std::vector<std::byte> small(4096);
  ASSERT_TRUE(store_->Read({1, 4}, 20000, small).ok());
  EXPECT_TRUE(std::equal(small.begin(), small.end(), data[4].begin() + 20000));
  EXPECT_EQ(store_->stats().frames_decoded - before, 1u);
  for (uint64_t i = 0; i < 5; ++i) {
    auto st = store_->Stat({1, i});
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->tier, Tier::kCold);
    EXPECT_EQ(st->logical_size, data[i].size());
    EXPECT_LT(st->stored_bytes, data[i].size());  // compressed
    EXPECT_GT(st->last_access_ns, 0);             // the commit time
    EXPECT_EQ(ReadAll({1, i}), data[i]) << i;
  }
  // Promotion (a write) and removal leave nothing behind in the pool.
  ASSERT_TRUE(store_->Write({1, 0}, 0, data[1]).ok());
  EXPECT_EQ(store_->Stat({1, 0})->tier, Tier::kHot);
  EXPECT_EQ(store_->RemoveGroup(1).value(), 5u);
  EXPECT_EQ(raw_->Objects(), std::set<std::string>{"tierfs.index"});
  Open();
  EXPECT_TRUE(store_->List().empty());
}

TEST_F(RadosTest, RecoverRemovesUncommittedAndSupersededObjects) {
  Open();
  const auto data = TextBytes(30000, 9);
  ASSERT_TRUE(store_->Write({2, 0}, 0, data).ok());
  ASSERT_TRUE(store_->Demote({2, 0}).ok());
  const std::set<std::string> committed = raw_->Objects();
  // What a crash leaves: a half-written copy of a committed object, and a
  // copy of an object that was never committed.
  raw_->Put("0000000000000002.0000000000000000.00000000deadbeef", "partial");
  raw_->Put("0000000000000003.0000000000000000.0000000000000001", "never committed");
  raw_->Put("not-ours", "left alone");
  Open();
  std::set<std::string> expected = committed;
  expected.insert("not-ours");
  EXPECT_EQ(raw_->Objects(), expected);
  EXPECT_EQ(ReadAll({2, 0}), data);
  EXPECT_TRUE(store_->Stat({3, 0}).status().IsNotFound());
}

TEST_F(RadosTest, ReadOnlyOpenChangesNothingInThePool) {
  Open();
  ASSERT_TRUE(store_->Write({4, 0}, 0, TextBytes(20000, 1)).ok());
  ASSERT_TRUE(store_->Demote({4, 0}).ok());
  store_.reset();
  raw_->Put("0000000000000004.0000000000000000.0000000000000007", "stale");
  const auto before = raw_->Objects();
  StoreOptions o = Options(ns_);
  o.read_only = true;
  Open(o);
  EXPECT_EQ(raw_->Objects(), before);
  EXPECT_EQ(store_->Stat({4, 0})->tier, Tier::kCold);
  EXPECT_EQ(store_->Remove({4, 0}).posix_errno(), EROFS);
}

TEST_F(RadosTest, ColdCopyIsTheStoredBytesUnderANewName) {
  Open();
  const auto data = TextBytes(60000, 3);
  ASSERT_TRUE(store_->Write({5, 0}, 0, data).ok());
  ASSERT_TRUE(store_->Demote({5, 0}).ok());
  ASSERT_TRUE(store_->Write({6, 0}, 0, TextBytes(1000, 4)).ok());  // an old hot dst
  ASSERT_TRUE(store_->CopyObject({5, 0}, {6, 0}).ok());
  EXPECT_EQ(store_->Stat({6, 0})->tier, Tier::kCold);
  EXPECT_EQ(store_->Stat({6, 0})->stored_bytes, store_->Stat({5, 0})->stored_bytes);
  EXPECT_FALSE(std::filesystem::exists(store_->HotPath({6, 0})));
  Open();
  EXPECT_EQ(ReadAll({6, 0}), data);
  EXPECT_EQ(raw_->Objects().size(), 3u);  // two data objects and the index
}

TEST_F(RadosTest, OsdErrorsGiveEioForColdReadsOnlyAndPassOff) {
  FaultInjectionEnv env(Env::Default());
  StoreOptions o = Options(ns_);
  o.frame_cache_bytes = 0;  // every read goes to the pool
  o.wrap_cold_backend = [&env](std::unique_ptr<ColdBackend> b) {
    return std::make_unique<FaultColdBackend>(std::move(b), &env);
  };
  Open(o, &env);
  const auto cold = TextBytes(50000, 5), hot = TextBytes(50000, 6);
  ASSERT_TRUE(store_->Write({7, 0}, 0, cold).ok());
  ASSERT_TRUE(store_->Demote({7, 0}).ok());
  ASSERT_TRUE(store_->Write({7, 1}, 0, hot).ok());
  env.FailOp(FaultOp::kColdRead, Status::IOError("injected OSD EIO", EIO));
  std::vector<std::byte> buf(4096);
  EXPECT_EQ(store_->Read({7, 0}, 0, buf).status().posix_errno(), EIO);
  EXPECT_EQ(ReadAll({7, 1}), hot);  // the hot tier goes on
  // A promotion cannot read the cold copy: the object stays cold, intact.
  EXPECT_FALSE(store_->Promote({7, 0}).ok());
  env.ClearFaults();
  EXPECT_EQ(store_->Stat({7, 0})->tier, Tier::kCold);
  EXPECT_EQ(ReadAll({7, 0}), cold);
  // A pool that is full: the demotion fails and the object stays hot.
  env.FailOp(FaultOp::kColdWrite, Status::NoSpace("injected pool full"));
  EXPECT_TRUE(store_->Demote({7, 1}).IsNoSpace());
  env.ClearFaults();
  EXPECT_EQ(store_->Stat({7, 1})->tier, Tier::kHot);
  EXPECT_EQ(ReadAll({7, 1}), hot);
  ASSERT_TRUE(store_->Demote({7, 1}).ok());
  Open();
  EXPECT_EQ(ReadAll({7, 1}), hot);
}

// The crash loop of crash_test with the cold tier on RADOS: every step of a
// demotion, a promotion and a write into a cold object, hot or cold, is a
// crash point; each reopened store holds the object complete and the pool
// holds exactly the index and the committed copy (or nothing of the object,
// when it is hot).
class RadosCrashTest : public RadosTest, public ::testing::WithParamInterface<test::Move> {};

TEST_P(RadosCrashTest, EveryCrashPointLeavesACompleteObjectAndNoStrayObject) {
  auto ns = [this](int i) { return ns_ + "-" + std::to_string(i); };
  test::CheckEveryCrashPoint(
      GetParam(), [&](int i) { return Options(ns(i)); },
      [&](ObjectStore& store, int i) {
        Raw raw(ns(i));
        const std::set<std::string> objects = raw.Objects();
        const size_t data_objects = objects.size() - objects.count("tierfs.index");
        EXPECT_EQ(data_objects, store.Stat({1, 0})->tier == Tier::kCold ? 1u : 0u)
            << "crash point " << i;
        raw.Clear();
      });
}

INSTANTIATE_TEST_SUITE_P(Moves, RadosCrashTest,
                         ::testing::Values(test::Move::kDemote, test::Move::kPromote,
                                           test::Move::kWriteToCold));

}  // namespace
}  // namespace tierfs
