// MetadataStore tests: xattrs, pins, orphans and DeleteInodes, inode
// iteration, the attribute cache against commits and rollbacks, and a
// multi-threaded smoke test of one shared store.
#include <atomic>
#include <filesystem>
#include <thread>

#include "tests/fusefs/meta/metadata_test_util.h"

namespace tierfs {
namespace {

using InodesTest = MetadataTest;

// The attribute cache answers what the database holds: every kind of row
// write (update, create, delete) shows at once and after a reopen.
TEST_F(InodesTest, CachedAttributesFollowEveryWrite) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  InodeAttr f = MakeFile(dir.ino, "f");
  EXPECT_EQ(Attr(f.ino).nlink, 1u);  // cached now
  AttrUpdate u;
  u.size = 4096;
  u.mode = 0600;
  ASSERT_TRUE(store_->SetAttr(f.ino, u, At(20)).ok());
  ASSERT_TRUE(store_->Link(f.ino, kRootIno, "g", At(21)).ok());
  EXPECT_EQ(Attr(f.ino).size, 4096u);
  EXPECT_EQ(Attr(f.ino).mode & 07777, 0600u);
  EXPECT_EQ(Attr(f.ino).nlink, 2u);
  EXPECT_EQ(Attr(dir.ino).mtime, At(10));
  ASSERT_TRUE(store_->Unlink(dir.ino, "f", At(22)).ok());
  ASSERT_TRUE(store_->Unlink(kRootIno, "g", At(22)).ok());
  EXPECT_EQ(Attr(f.ino).nlink, 0u);
  EXPECT_EQ(Attr(dir.ino).mtime, At(22));
  ASSERT_TRUE(store_->DeleteInodes(std::vector<uint64_t>{f.ino}).ok());
  EXPECT_TRUE(store_->GetAttr(f.ino).status().IsNotFound());
  Reopen();
  EXPECT_TRUE(store_->GetAttr(f.ino).status().IsNotFound());
  EXPECT_EQ(Attr(dir.ino).mtime, At(22));
}

// A transaction that fails at COMMIT (here: the WAL cannot grow, as on a full
// disk) leaves the cache with the committed rows, not the ones it wrote.
TEST_F(InodesTest, ARolledBackWriteLeavesTheCachedAttributesAsCommitted) {
  InodeAttr f = MakeFile(kRootIno, "f");
  EXPECT_EQ(Attr(f.ino).size, 0u);  // cached
  const std::string wal = db_path() + "-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  AttrUpdate u;
  u.size = 12345;
  Status st = WithFileFull(wal, [&] { return store_->SetAttrs({{f.ino, u}}, At(30)); });
  ASSERT_FALSE(st.ok()) << "the WAL grew past RLIMIT_FSIZE";
  EXPECT_EQ(Attr(f.ino).size, 0u);
  EXPECT_EQ(Attr(f.ino).ctime, At(10));
  // And the store still works, with what was committed.
  ASSERT_TRUE(store_->SetAttrs({{f.ino, u}}, At(31)).ok());
  EXPECT_EQ(Attr(f.ino).size, 12345u);
  Reopen();
  EXPECT_EQ(Attr(f.ino).size, 12345u);
}

TEST_F(InodesTest, Xattrs) {
  InodeAttr file = MakeFile(kRootIno, "f");
  EXPECT_TRUE(FailsWith(store_->GetXattr(file.ino, "user.a").status(), ENODATA));
  EXPECT_TRUE(FailsWith(store_->SetXattr(file.ino, "user.a", "1", XattrMode::kReplace), ENODATA));
  ASSERT_TRUE(store_->SetXattr(file.ino, "user.a", "1", XattrMode::kCreate).ok());
  EXPECT_TRUE(Fails(store_->SetXattr(file.ino, "user.a", "2", XattrMode::kCreate), Code::kExists));
  ASSERT_TRUE(store_->SetXattr(file.ino, "user.a", "3", XattrMode::kReplace).ok());
  ASSERT_TRUE(store_->SetXattr(file.ino, "user.b", "", XattrMode::kAny).ok());
  const std::string binary("\0\xff\0", 3);
  ASSERT_TRUE(store_->SetXattr(file.ino, "user.c", binary, XattrMode::kAny).ok());
  EXPECT_EQ(*store_->GetXattr(file.ino, "user.a"), "3");
  EXPECT_EQ(*store_->GetXattr(file.ino, "user.b"), "");
  EXPECT_EQ(*store_->GetXattr(file.ino, "user.c"), binary);
  EXPECT_EQ(*store_->ListXattr(file.ino), (std::vector<std::string>{"user.a", "user.b", "user.c"}));
  ASSERT_TRUE(store_->RemoveXattr(file.ino, "user.a").ok());
  EXPECT_TRUE(FailsWith(store_->RemoveXattr(file.ino, "user.a"), ENODATA));
  EXPECT_EQ(store_->ListXattr(file.ino)->size(), 2u);
  EXPECT_TRUE(Fails(store_->ListXattr(999).status(), Code::kNotFound));
  EXPECT_TRUE(Fails(store_->SetXattr(999, "user.a", "", XattrMode::kAny), Code::kNotFound));
}

TEST_F(InodesTest, XattrLimits) {
  InodeAttr file = MakeFile(kRootIno, "f");
  const std::string max_value(64 * 1024, 'v');
  EXPECT_TRUE(store_->SetXattr(file.ino, "user.big", max_value, XattrMode::kAny).ok());
  EXPECT_TRUE(
      FailsWith(store_->SetXattr(file.ino, "user.big", max_value + "v", XattrMode::kAny), E2BIG));
  EXPECT_TRUE(store_->SetXattr(file.ino, std::string(255, 'n'), "", XattrMode::kAny).ok());
  EXPECT_TRUE(
      FailsWith(store_->SetXattr(file.ino, std::string(256, 'n'), "", XattrMode::kAny), ERANGE));
  EXPECT_TRUE(FailsWith(store_->SetXattr(file.ino, "", "", XattrMode::kAny), ERANGE));
  EXPECT_TRUE(FailsWith(store_->GetXattr(file.ino, std::string(256, 'n')).status(), ERANGE));
}

TEST_F(InodesTest, Pins) {
  InodeAttr f = MakeFile(kRootIno, "f");
  InodeAttr g = MakeFile(kRootIno, "g");
  EXPECT_TRUE(store_->ListPinned()->empty());
  ASSERT_TRUE(store_->SetPinned(g.ino, true).ok());
  ASSERT_TRUE(store_->SetPinned(f.ino, true).ok());
  EXPECT_EQ(*store_->ListPinned(), (std::vector<uint64_t>{f.ino, g.ino}));
  EXPECT_TRUE(Attr(f.ino).pinned);
  ASSERT_TRUE(store_->SetPinned(f.ino, false).ok());
  EXPECT_EQ(*store_->ListPinned(), std::vector<uint64_t>{g.ino});
  EXPECT_TRUE(Fails(store_->SetPinned(999, true), Code::kNotFound));
}

// A batch is one transaction: a linked inode in it (or a missing one)
// deletes nothing, not even the unlinked inodes beside it.
TEST_F(InodesTest, DeleteInodesOnlyWhenAllUnlinkedAndAllOrNothing) {
  InodeAttr file = MakeFile(kRootIno, "f");
  InodeAttr other = MakeFile(kRootIno, "g");
  ASSERT_TRUE(store_->SetXattr(file.ino, "user.a", "1", XattrMode::kAny).ok());
  const std::vector<uint64_t> both = {file.ino, other.ino};
  EXPECT_TRUE(Fails(store_->DeleteInodes(both), Code::kInvalidArgument));
  EXPECT_TRUE(Fails(store_->DeleteInodes(std::vector<uint64_t>{kRootIno}), Code::kInvalidArgument));
  ASSERT_TRUE(store_->Unlink(kRootIno, "f", At(2)).ok());
  EXPECT_EQ(*store_->ListOrphans(), std::vector<uint64_t>{file.ino});
  EXPECT_TRUE(Fails(store_->DeleteInodes(both), Code::kInvalidArgument));  // g is linked
  EXPECT_EQ(Attr(file.ino).nlink, 0u);
  EXPECT_EQ(*store_->GetXattr(file.ino, "user.a"), "1");
  ASSERT_TRUE(store_->Unlink(kRootIno, "g", At(3)).ok());
  InodeAttr dir = MakeDir(kRootIno, "d");
  ASSERT_TRUE(store_->Rmdir(kRootIno, "d", At(4)).ok());
  ASSERT_TRUE(store_->DeleteInodes(std::vector<uint64_t>{file.ino, other.ino, dir.ino}).ok());
  EXPECT_TRUE(store_->ListOrphans()->empty());
  EXPECT_TRUE(Fails(store_->GetAttr(file.ino).status(), Code::kNotFound));
  EXPECT_TRUE(Fails(store_->DeleteInodes(std::vector<uint64_t>{file.ino}), Code::kNotFound));
  EXPECT_EQ(*store_->InodeCount(), 1u);
  Reopen();
  EXPECT_TRUE(Fails(store_->GetAttr(other.ino).status(), Code::kNotFound));
  EXPECT_TRUE(store_->InodesWithXattrs()->empty());
  EXPECT_EQ(*store_->InodeCount(), 1u);
}

TEST_F(InodesTest, ForEachInodeInOrderAndStoppable) {
  for (int i = 0; i < 600; ++i) MakeFile(kRootIno, Numbered("f", i));
  std::vector<uint64_t> inos;
  ASSERT_TRUE(store_
                  ->ForEachInode([&](const InodeAttr& a) {
                    inos.push_back(a.ino);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(inos.size(), 601u);
  EXPECT_EQ(*store_->InodeCount(), 601u);
  EXPECT_TRUE(std::is_sorted(inos.begin(), inos.end()));
  EXPECT_EQ(inos.front(), kRootIno);
  int seen = 0;
  ASSERT_TRUE(store_->ForEachInode([&](const InodeAttr&) { return ++seen < 10; }).ok());
  EXPECT_EQ(seen, 10);
}

TEST_F(InodesTest, ConcurrentCreateAndUnlinkInOneDirectory) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  constexpr int kThreads = 4;
  constexpr int kFiles = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kFiles; ++i) {
        const std::string name = Numbered("t", t) + Numbered("-", i);
        NewNode node = Node(S_IFREG | 0644);
        if (!store_->Create(dir.ino, name, node, At(i)).ok()) ++failures;
        // Every thread also makes a subdirectory per 10 files, and removes
        // every other file again.
        if (i % 10 == 0 &&
            !store_->Create(dir.ino, name + "-d", Node(S_IFDIR | 0755), At(i)).ok()) {
          ++failures;
        }
        if (i % 2 == 1 && !store_->Unlink(dir.ino, name, At(i)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  int files = 0, dirs = 0;
  ASSERT_TRUE(store_
                  ->ReadDir(dir.ino, 0,
                            [&](const DirEntry& e) {
                              (S_ISDIR(e.mode) ? dirs : files)++;
                              return true;
                            })
                  .ok());
  EXPECT_EQ(files, kThreads * kFiles / 2);
  EXPECT_EQ(dirs, kThreads * kFiles / 10);
  EXPECT_EQ(Attr(dir.ino).nlink, 2u + dirs);
  EXPECT_EQ(store_->ListOrphans()->size(), static_cast<size_t>(kThreads * kFiles / 2));
  EXPECT_EQ(*store_->InodeCount(), 2u + kThreads * kFiles + dirs);
}

}  // namespace
}  // namespace tierfs
