// InodeTable and AttrWriteback on their own, over a real SQLite namespace:
// lookup counts, the read path's bookkeeping (sequential reads, relatime)
// without SQLite once the table knows a file, and cached attributes
// written back and dropped.
#include "fusefs/core/inode_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <vector>

#include "fusefs/core/attr_writeback.h"
#include "fusefs/core/kernel_clock.h"
#include "fusefs/meta/metadata_test_util.h"
#include "store/env.h"

namespace tierfs {
namespace {

// Counts the attribute reads that reach SQLite.
class CountingMetadata : public MetadataStoreWrapper {
 public:
  using MetadataStoreWrapper::MetadataStoreWrapper;
  Result<InodeAttr> GetAttr(uint64_t ino) override {
    ++get_attrs;
    return MetadataStoreWrapper::GetAttr(ino);
  }
  std::atomic<int> get_attrs{0};
};

class InodeTableTest : public testing::Test {
 protected:
  void SetUp() override {
    auto opened = MetadataStore::Open(dir_.path() + "/meta.db", MetadataOptions{}, 1000, 100);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    meta_ = std::make_unique<CountingMetadata>(std::move(opened).value());
    table_ = std::make_unique<InodeTable>(meta_.get(), &clock_, AtimeMode::kRelatime, &read_only_,
                                          [this](uint64_t ino) { freed_.push_back(ino); });
  }

  uint64_t NewFile(const char* name) {
    NewNode n;
    n.mode = S_IFREG | 0644;
    auto a = meta_->Create(kRootIno, name, n, clock_.Now());
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->ino : 0;
  }

  test::TempDir dir_;
  KernelClock clock_{Env::Default()};
  std::atomic<bool> read_only_{false};
  std::unique_ptr<CountingMetadata> meta_;
  std::unique_ptr<InodeTable> table_;
  std::vector<uint64_t> freed_;
};

TEST_F(InodeTableTest, ReadsOfAKnownFileAskSqliteNothing) {
  const uint64_t ino = NewFile("f");
  table_->Opened(ino, /*for_write=*/false);
  ASSERT_TRUE(table_->FileSize(ino).ok());
  table_->SetLayout(ino, Layout::kObjects);
  // The first read finds atime due (a new file's atime is its mtime) and
  // moves it; relatime then knows it fresh.
  EXPECT_TRUE(table_->ReadDone(ino, 0, 4096, true, true).atime_changed);
  const int before = meta_->get_attrs.load();
  for (int i = 1; i < 100; ++i) {
    auto shape = table_->ShapeOf(ino);
    ASSERT_TRUE(shape.ok());
    EXPECT_EQ(shape->layout, Layout::kObjects);
    const InodeTable::ReadNote note = table_->ReadDone(ino, i * 4096, (i + 1) * 4096, true, true);
    EXPECT_TRUE(note.sequential);
    EXPECT_FALSE(note.atime_changed);
  }
  EXPECT_EQ(meta_->get_attrs.load(), before);
  EXPECT_FALSE(table_->ReadDone(ino, 0, 4096, true, true).sequential);  // a jump back
}

TEST_F(InodeTableTest, AFileChangedMakesAtimeDueAgain) {
  const uint64_t ino = NewFile("f");
  table_->Opened(ino, false);
  EXPECT_TRUE(table_->ReadDone(ino, 0, 1, false, true).atime_changed);
  EXPECT_FALSE(table_->ReadDone(ino, 0, 1, false, true).atime_changed);
  table_->Wrote(ino, 10, /*kernel_times=*/false);
  EXPECT_TRUE(table_->ReadDone(ino, 0, 1, false, true).atime_changed);
  read_only_ = true;  // a read-only mount moves no atime
  table_->Changed(ino);
  EXPECT_FALSE(table_->ReadDone(ino, 0, 1, false, true).atime_changed);
}

TEST_F(InodeTableTest, AnUnlinkedInodeIsFreedOnceClosedAndForgotten) {
  const uint64_t ino = NewFile("f");
  auto a = meta_->GetAttr(ino);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(table_->Remember(table_->WriteBacks(), *a).ok());
  table_->Opened(ino, false);
  InodeAttr gone = *a;
  gone.nlink = 0;
  table_->Unlinked(gone);
  EXPECT_TRUE(freed_.empty());
  table_->Closed(ino, false);
  EXPECT_TRUE(freed_.empty());           // the kernel still knows it
  EXPECT_FALSE(table_->Forget(ino, 2));  // more than it was told: a bug, logged
  EXPECT_EQ(freed_, std::vector<uint64_t>{ino});
}

TEST_F(InodeTableTest, WriteBackCommitsCachedAttributesAndDropsThem) {
  const uint64_t ino = NewFile("f");
  Timespec mtime;
  {
    AttrWriteback writeback(table_.get(), meta_.get(), &clock_, [] {});
    table_->Opened(ino, true);
    table_->Wrote(ino, 12345, false);
    auto cached = table_->Attr(ino);
    ASSERT_TRUE(cached.ok());
    EXPECT_EQ(cached->size, 12345u);
    EXPECT_EQ(meta_->GetAttr(ino)->size, 0u);  // not in SQLite yet
    const uint64_t seen = table_->WriteBacks();
    ASSERT_TRUE(writeback.WriteBack(std::nullopt).ok());
    EXPECT_EQ(table_->WriteBacks(), seen + 1);
    EXPECT_EQ(meta_->GetAttr(ino)->size, 12345u);
    EXPECT_EQ(meta_->GetAttr(ino)->mtime, cached->mtime);
    mtime = cached->mtime;
    EXPECT_TRUE(table_->TakePending(ino).empty());
    // The write-back holds its order across what setattr does after it.
    auto r = writeback.WriteBackThen(ino, [&]() -> Result<int> { return 7; });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 7);
  }
  // In the database, not only in the store's row cache: reopened, it says so.
  table_.reset();
  meta_.reset();
  auto reopened = MetadataStore::Open(dir_.path() + "/meta.db", MetadataOptions{}, 1000, 100);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto attr = (*reopened)->GetAttr(ino);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->size, 12345u);
  EXPECT_EQ(attr->mtime, mtime);
}

}  // namespace
}  // namespace tierfs
