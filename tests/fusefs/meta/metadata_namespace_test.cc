// MetadataStore tests: the POSIX rules of create, link, unlink, rmdir,
// lookup, symlinks, setattr and readdir, including link counts and times.
#include <sys/sysmacros.h>

#include <set>

#include "tests/fusefs/meta/metadata_test_util.h"

namespace tierfs {
namespace {

using NamespaceTest = MetadataTest;

TEST_F(NamespaceTest, NameRules) {
  const std::string long_name(kMaxNameLen + 1, 'a');
  const NewNode file = Node(S_IFREG | 0644);
  EXPECT_TRUE(FailsWith(store_->Create(kRootIno, long_name, file, At(1)).status(), ENAMETOOLONG));
  EXPECT_TRUE(store_->Create(kRootIno, std::string(kMaxNameLen, 'a'), file, At(1)).ok());
  for (std::string_view bad : {std::string_view(""), std::string_view("."), std::string_view(".."),
                               std::string_view("a/b"), std::string_view("a\0b", 3)}) {
    EXPECT_TRUE(FailsWith(store_->Create(kRootIno, bad, file, At(1)).status(), EINVAL)) << bad;
  }
  EXPECT_TRUE(FailsWith(store_->Lookup(kRootIno, long_name).status(), ENAMETOOLONG));
  EXPECT_TRUE(FailsWith(store_->Unlink(kRootIno, "", At(1)).status(), EINVAL));
}

TEST_F(NamespaceTest, CreateSetsCountsAndTimes) {
  InodeAttr dir = MakeDir(kRootIno, "d", At(5, 1));
  EXPECT_EQ(dir.nlink, 2u);
  EXPECT_EQ(dir.atime, At(5, 1));
  EXPECT_EQ(dir.mtime, At(5, 1));
  EXPECT_EQ(dir.ctime, At(5, 1));
  InodeAttr file = MakeFile(dir.ino, "f", At(6));
  EXPECT_EQ(file.nlink, 1u);
  EXPECT_EQ(file.uid, 1000u);
  EXPECT_EQ(file.size, 0u);
  EXPECT_EQ(Attr(file.ino).mode, S_IFREG | 0644u);
  InodeAttr parent = Attr(dir.ino);
  EXPECT_EQ(parent.nlink, 2u);  // a file is not a subdirectory
  EXPECT_EQ(parent.mtime, At(6));
  EXPECT_EQ(parent.ctime, At(6));
  EXPECT_EQ(parent.atime, At(5, 1));
  EXPECT_EQ(Attr(kRootIno).nlink, 3u);
  EXPECT_EQ(store_->Lookup(dir.ino, "f")->ino, file.ino);
}

TEST_F(NamespaceTest, CreateErrors) {
  InodeAttr file = MakeFile(kRootIno, "f");
  const NewNode node = Node(S_IFREG | 0644);
  EXPECT_TRUE(Fails(store_->Create(kRootIno, "f", node, At(1)).status(), Code::kExists));
  EXPECT_TRUE(FailsWith(store_->Create(file.ino, "x", node, At(1)).status(), ENOTDIR));
  EXPECT_TRUE(Fails(store_->Create(999, "x", node, At(1)).status(), Code::kNotFound));
  EXPECT_TRUE(FailsWith(store_->Create(kRootIno, "x", Node(0644), At(1)).status(), EINVAL));
  EXPECT_TRUE(FailsWith(store_->Lookup(file.ino, "x").status(), ENOTDIR));
  EXPECT_TRUE(Fails(store_->Lookup(kRootIno, "nope").status(), Code::kNotFound));
}

TEST_F(NamespaceTest, CreateInRemovedDirectoryIsNotFound) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  ASSERT_TRUE(store_->Rmdir(kRootIno, "d", At(2)).ok());
  EXPECT_TRUE(Fails(store_->Create(dir.ino, "x", Node(S_IFREG), At(3)).status(), Code::kNotFound));
}

TEST_F(NamespaceTest, SetgidDirectoryPassesGroupOn) {
  InodeAttr dir = Make(kRootIno, "shared", S_IFDIR | S_ISGID | 0775);
  AttrUpdate group;
  group.gid = 555;
  ASSERT_TRUE(store_->SetAttr(dir.ino, group, At(2)).ok());
  InodeAttr file = MakeFile(dir.ino, "f");
  EXPECT_EQ(file.gid, 555u);
  EXPECT_EQ(file.mode & S_ISGID, 0u);
  InodeAttr sub = MakeDir(dir.ino, "sub");
  EXPECT_EQ(sub.gid, 555u);
  EXPECT_EQ(sub.mode, S_IFDIR | S_ISGID | 0755u);
  EXPECT_EQ(MakeFile(kRootIno, "plain").gid, 100u);
}

TEST_F(NamespaceTest, Symlinks) {
  NewNode link = Node(S_IFLNK | 0777);
  link.symlink_target = "../some/where";
  auto made = store_->Create(kRootIno, "l", link, At(1));
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->size, link.symlink_target.size());
  EXPECT_EQ(*store_->ReadLink(made->ino), "../some/where");
  InodeAttr file = MakeFile(kRootIno, "f");
  EXPECT_TRUE(FailsWith(store_->ReadLink(file.ino).status(), EINVAL));
  EXPECT_TRUE(
      FailsWith(store_->Create(kRootIno, "e", Node(S_IFLNK | 0777), At(1)).status(), ENOENT));
}

TEST_F(NamespaceTest, SpecialFilesKeepRdev) {
  NewNode dev = Node(S_IFCHR | 0600);
  dev.rdev = makedev(1, 3);
  auto made = store_->Create(kRootIno, "null", dev, At(1));
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(Attr(made->ino).rdev, makedev(1, 3));
}

TEST_F(NamespaceTest, HardLinks) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  InodeAttr file = MakeFile(kRootIno, "f", At(1));
  auto linked = store_->Link(file.ino, dir.ino, "g", At(7));
  ASSERT_TRUE(linked.ok());
  EXPECT_EQ(linked->nlink, 2u);
  EXPECT_EQ(linked->ctime, At(7));
  EXPECT_EQ(linked->mtime, At(1));
  EXPECT_EQ(Attr(dir.ino).mtime, At(7));
  EXPECT_EQ(Attr(dir.ino).ctime, At(7));
  EXPECT_EQ(store_->Lookup(dir.ino, "g")->ino, file.ino);

  EXPECT_TRUE(FailsWith(store_->Link(dir.ino, kRootIno, "d2", At(8)).status(), EPERM));
  EXPECT_TRUE(Fails(store_->Link(file.ino, dir.ino, "g", At(8)).status(), Code::kExists));
  EXPECT_TRUE(FailsWith(store_->Link(file.ino, file.ino, "x", At(8)).status(), ENOTDIR));
}

TEST_F(NamespaceTest, UnlinkDecrementsAndLeavesOrphan) {
  InodeAttr file = MakeFile(kRootIno, "f", At(1));
  ASSERT_TRUE(store_->Link(file.ino, kRootIno, "g", At(2)).ok());
  auto first = store_->Unlink(kRootIno, "f", At(3));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->nlink, 1u);
  EXPECT_EQ(first->ctime, At(3));
  EXPECT_EQ(Attr(kRootIno).mtime, At(3));
  EXPECT_FALSE(Exists(kRootIno, "f"));
  auto last = store_->Unlink(kRootIno, "g", At(4));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->nlink, 0u);
  EXPECT_EQ(last->ctime, At(3));        // unchanged once the last link is gone
  EXPECT_EQ(Attr(file.ino).nlink, 0u);  // kept for open handles
  EXPECT_EQ(*store_->ListOrphans(), std::vector<uint64_t>{file.ino});
  EXPECT_TRUE(Fails(store_->Link(file.ino, kRootIno, "back", At(5)).status(), Code::kNotFound));
}

TEST_F(NamespaceTest, UnlinkErrors) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  InodeAttr file = MakeFile(kRootIno, "f");
  EXPECT_TRUE(FailsWith(store_->Unlink(kRootIno, "d", At(1)).status(), EISDIR));
  EXPECT_TRUE(Fails(store_->Unlink(kRootIno, "nope", At(1)).status(), Code::kNotFound));
  EXPECT_TRUE(FailsWith(store_->Unlink(file.ino, "x", At(1)).status(), ENOTDIR));
  EXPECT_TRUE(Exists(kRootIno, "d"));
  EXPECT_EQ(Attr(dir.ino).nlink, 2u);
}

TEST_F(NamespaceTest, Rmdir) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  MakeFile(dir.ino, "f");
  MakeFile(kRootIno, "file");
  EXPECT_TRUE(FailsWith(store_->Rmdir(kRootIno, "d", At(2)).status(), ENOTEMPTY));
  EXPECT_TRUE(FailsWith(store_->Rmdir(kRootIno, "file", At(2)).status(), ENOTDIR));
  EXPECT_TRUE(Fails(store_->Rmdir(kRootIno, "nope", At(2)).status(), Code::kNotFound));
  ASSERT_TRUE(store_->Unlink(dir.ino, "f", At(3)).ok());
  EXPECT_EQ(Attr(kRootIno).nlink, 3u);
  auto removed = store_->Rmdir(kRootIno, "d", At(4));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->nlink, 0u);
  InodeAttr root = Attr(kRootIno);
  EXPECT_EQ(root.nlink, 2u);
  EXPECT_EQ(root.mtime, At(4));
  EXPECT_EQ(root.ctime, At(4));
  EXPECT_FALSE(Exists(kRootIno, "d"));
}

TEST_F(NamespaceTest, SetAttr) {
  InodeAttr file = MakeFile(kRootIno, "f", At(1));
  AttrUpdate chmod_truncate;
  chmod_truncate.mode = 04755;
  chmod_truncate.size = 123;
  auto changed = store_->SetAttr(file.ino, chmod_truncate, At(9));
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->mode, S_IFREG | 04755u);
  EXPECT_EQ(changed->size, 123u);
  EXPECT_EQ(changed->ctime, At(9));
  EXPECT_EQ(changed->mtime, At(1));
  // A mode carrying other file-type bits keeps the inode's own type.
  AttrUpdate typed_mode;
  typed_mode.mode = S_IFDIR | 0600;
  EXPECT_EQ(store_->SetAttr(file.ino, typed_mode, At(10))->mode, S_IFREG | 0600u);

  AttrUpdate owner_times;
  owner_times.uid = 7;
  owner_times.gid = 8;
  owner_times.atime = At(3, 4);
  owner_times.mtime = At(5, 6);
  ASSERT_TRUE(store_->SetAttr(file.ino, owner_times, At(11)).ok());
  InodeAttr after = Attr(file.ino);
  EXPECT_EQ(after.atime, At(3, 4));
  EXPECT_EQ(after.mtime, At(5, 6));
  EXPECT_EQ(after.uid, 7u);
  EXPECT_EQ(after.gid, 8u);
  EXPECT_EQ(after.ctime, At(11));
  EXPECT_EQ(after.size, 123u);

  AttrUpdate explicit_ctime;
  explicit_ctime.size = 1;
  explicit_ctime.ctime = At(2);
  EXPECT_EQ(store_->SetAttr(file.ino, explicit_ctime, At(12))->ctime, At(2));
  EXPECT_EQ(store_->SetAttr(file.ino, AttrUpdate(), At(13))->ctime, At(2));  // nothing changed

  InodeAttr dir = MakeDir(kRootIno, "d");
  AttrUpdate truncate;
  truncate.size = 0;
  EXPECT_TRUE(FailsWith(store_->SetAttr(dir.ino, truncate, At(1)).status(), EISDIR));
  EXPECT_TRUE(Fails(store_->SetAttr(999, AttrUpdate(), At(1)).status(), Code::kNotFound));
}

std::vector<DirEntry> ReadAll(MetadataStore* store, uint64_t dir, uint64_t after = 0) {
  std::vector<DirEntry> out;
  EXPECT_TRUE(store
                  ->ReadDir(dir, after,
                            [&](const DirEntry& e) {
                              out.push_back(e);
                              return true;
                            })
                  .ok());
  return out;
}

TEST_F(NamespaceTest, ReadDirListsEntriesInCookieOrder) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  InodeAttr sub = MakeDir(dir.ino, "sub");
  InodeAttr file = MakeFile(dir.ino, "file");
  auto entries = ReadAll(store_.get(), dir.ino);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "sub");
  EXPECT_EQ(entries[0].ino, sub.ino);
  EXPECT_EQ(entries[0].mode, S_IFDIR | 0755u);
  EXPECT_EQ(entries[1].name, "file");
  EXPECT_EQ(entries[1].ino, file.ino);
  EXPECT_LT(entries[0].cookie, entries[1].cookie);
  EXPECT_TRUE(ReadAll(store_.get(), sub.ino).empty());
  EXPECT_TRUE(
      FailsWith(store_->ReadDir(file.ino, 0, [](const DirEntry&) { return true; }), ENOTDIR));
}

TEST_F(NamespaceTest, ReadDirPagesWithCookiesWhileChanging) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  for (int i = 0; i < 600; ++i) MakeFile(dir.ino, Numbered("f", i));
  std::set<std::string> seen;
  uint64_t cookie = 0;
  constexpr int kChangedPages = 10;
  for (int page = 0;; ++page) {  // pages of 50, as a FUSE readdir buffer would take them
    int taken = 0;
    ASSERT_TRUE(store_
                    ->ReadDir(dir.ino, cookie,
                              [&](const DirEntry& e) {
                                EXPECT_TRUE(seen.insert(e.name).second) << "twice: " << e.name;
                                cookie = e.cookie;
                                return ++taken < 50;
                              })
                    .ok());
    if (taken == 0) break;
    if (page >= kChangedPages) continue;
    // Between pages: remove one entry already seen and one not yet seen, and
    // add one; entries present throughout must be returned exactly once.
    ASSERT_TRUE(store_->Unlink(dir.ino, Numbered("f", page), At(20)).ok());
    ASSERT_TRUE(store_->Unlink(dir.ino, Numbered("f", 599 - page), At(20)).ok());
    MakeFile(dir.ino, Numbered("new", page));
  }
  for (int i = 0; i < 600 - kChangedPages; ++i) EXPECT_TRUE(seen.count(Numbered("f", i))) << i;
  for (int i = 600 - kChangedPages; i < 600; ++i) EXPECT_FALSE(seen.count(Numbered("f", i)));
  EXPECT_EQ(ReadAll(store_.get(), dir.ino).size(), 600u - kChangedPages);
}

TEST_F(NamespaceTest, ReadDirCallbackMayCallTheStore) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  for (int i = 0; i < 3; ++i) MakeFile(dir.ino, Numbered("f", i));
  int count = 0;
  ASSERT_TRUE(store_
                  ->ReadDir(dir.ino, 0,
                            [&](const DirEntry& e) {
                              EXPECT_TRUE(store_->GetAttr(e.ino).ok());
                              return ++count < 2;
                            })
                  .ok());
  EXPECT_EQ(count, 2);
}

}  // namespace
}  // namespace tierfs
