// MetadataStore tests: rename in all its modes (normal, NOREPLACE, EXCHANGE),
// its error rules, directory link counts across parents and times.
#include "tests/fusefs/meta/metadata_test_util.h"

namespace tierfs {
namespace {

class RenameTest : public MetadataTest {
 protected:
  Result<RenameResult> Move(uint64_t from, std::string_view name, uint64_t to,
                            std::string_view new_name, RenameMode mode = RenameMode::kNormal,
                            Timespec now = At(50)) {
    return store_->Rename(from, name, to, new_name, mode, now);
  }
  uint64_t Ino(uint64_t parent, std::string_view name) {
    auto found = store_->Lookup(parent, name);
    return found.ok() ? found->ino : 0;
  }
};

TEST_F(RenameTest, MovesFileAndUpdatesTimes) {
  InodeAttr a = MakeDir(kRootIno, "a", At(1));
  InodeAttr b = MakeDir(kRootIno, "b", At(1));
  InodeAttr file = MakeFile(a.ino, "f", At(2));
  auto moved = Move(a.ino, "f", b.ino, "g");
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(moved->replaced);
  EXPECT_EQ(Ino(b.ino, "g"), file.ino);
  EXPECT_EQ(Ino(a.ino, "f"), 0u);
  EXPECT_EQ(Attr(file.ino).ctime, At(50));
  EXPECT_EQ(Attr(file.ino).mtime, At(2));
  for (uint64_t dir : {a.ino, b.ino}) {
    EXPECT_EQ(Attr(dir).mtime, At(50));
    EXPECT_EQ(Attr(dir).ctime, At(50));
    EXPECT_EQ(Attr(dir).nlink, 2u);
  }
}

TEST_F(RenameTest, MovingDirectoryMovesParentLink) {
  InodeAttr a = MakeDir(kRootIno, "a");
  InodeAttr b = MakeDir(kRootIno, "b");
  InodeAttr sub = MakeDir(a.ino, "sub");
  EXPECT_EQ(Attr(a.ino).nlink, 3u);
  ASSERT_TRUE(Move(a.ino, "sub", b.ino, "sub").ok());
  EXPECT_EQ(Attr(a.ino).nlink, 2u);
  EXPECT_EQ(Attr(b.ino).nlink, 3u);
  EXPECT_EQ(Attr(sub.ino).nlink, 2u);
  ASSERT_TRUE(Move(b.ino, "sub", b.ino, "renamed").ok());  // same parent
  EXPECT_EQ(Attr(b.ino).nlink, 3u);
  EXPECT_EQ(Attr(kRootIno).nlink, 4u);
}

TEST_F(RenameTest, ReplacingFileDecrementsItsLinks) {
  InodeAttr src = MakeFile(kRootIno, "src");
  InodeAttr dst = MakeFile(kRootIno, "dst");
  ASSERT_TRUE(store_->Link(dst.ino, kRootIno, "dst2", At(3)).ok());
  auto moved = Move(kRootIno, "src", kRootIno, "dst");
  ASSERT_TRUE(moved.ok());
  ASSERT_TRUE(moved->replaced);
  EXPECT_EQ(moved->replaced->ino, dst.ino);
  EXPECT_EQ(moved->replaced->nlink, 1u);
  EXPECT_EQ(moved->replaced->ctime, At(50));
  EXPECT_EQ(Ino(kRootIno, "dst"), src.ino);
  EXPECT_EQ(Ino(kRootIno, "src"), 0u);

  ASSERT_TRUE(Move(kRootIno, "dst", kRootIno, "dst2").ok());
  EXPECT_EQ(Attr(dst.ino).nlink, 0u);
  EXPECT_EQ(*store_->ListOrphans(), std::vector<uint64_t>{dst.ino});
}

TEST_F(RenameTest, ReplacingEmptyDirectoryRemovesIt) {
  InodeAttr a = MakeDir(kRootIno, "a");
  InodeAttr b = MakeDir(kRootIno, "b");
  InodeAttr src = MakeDir(a.ino, "src");
  InodeAttr dst = MakeDir(b.ino, "dst");
  auto moved = Move(a.ino, "src", b.ino, "dst");
  ASSERT_TRUE(moved.ok());
  ASSERT_TRUE(moved->replaced);
  EXPECT_EQ(moved->replaced->ino, dst.ino);
  EXPECT_EQ(moved->replaced->nlink, 0u);
  EXPECT_EQ(Ino(b.ino, "dst"), src.ino);
  EXPECT_EQ(Attr(a.ino).nlink, 2u);
  EXPECT_EQ(Attr(b.ino).nlink, 3u);  // lost dst, gained src
}

TEST_F(RenameTest, TypeAndEmptinessRules) {
  InodeAttr dir = MakeDir(kRootIno, "dir");
  MakeDir(kRootIno, "full");
  MakeFile(Ino(kRootIno, "full"), "x");
  MakeDir(kRootIno, "empty");
  MakeFile(kRootIno, "file");
  EXPECT_TRUE(FailsWith(Move(kRootIno, "file", kRootIno, "empty").status(), EISDIR));
  EXPECT_TRUE(FailsWith(Move(kRootIno, "dir", kRootIno, "file").status(), ENOTDIR));
  EXPECT_TRUE(FailsWith(Move(kRootIno, "dir", kRootIno, "full").status(), ENOTEMPTY));
  EXPECT_TRUE(Fails(Move(kRootIno, "nope", kRootIno, "x").status(), Code::kNotFound));
  EXPECT_TRUE(FailsWith(Move(Ino(kRootIno, "file"), "a", kRootIno, "b").status(), ENOTDIR));
  EXPECT_TRUE(FailsWith(Move(kRootIno, "file", Ino(kRootIno, "file"), "b").status(), ENOTDIR));
  EXPECT_TRUE(FailsWith(Move(kRootIno, "file", kRootIno, "..").status(), EINVAL));
  // Nothing changed.
  EXPECT_EQ(Ino(kRootIno, "dir"), dir.ino);
  EXPECT_EQ(Attr(kRootIno).nlink, 5u);
}

TEST_F(RenameTest, DirectoryIntoItsOwnSubtreeIsInvalid) {
  InodeAttr a = MakeDir(kRootIno, "a");
  InodeAttr b = MakeDir(a.ino, "b");
  InodeAttr c = MakeDir(b.ino, "c");
  EXPECT_TRUE(FailsWith(Move(kRootIno, "a", c.ino, "a").status(), EINVAL));
  EXPECT_TRUE(FailsWith(Move(kRootIno, "a", a.ino, "x").status(), EINVAL));
  EXPECT_TRUE(FailsWith(Move(a.ino, "b", b.ino, "x").status(), EINVAL));
  // Up the tree is fine.
  ASSERT_TRUE(Move(b.ino, "c", kRootIno, "c").ok());
  EXPECT_EQ(Attr(b.ino).nlink, 2u);
  EXPECT_EQ(Attr(kRootIno).nlink, 4u);
}

TEST_F(RenameTest, OntoItselfChangesNothing) {
  InodeAttr file = MakeFile(kRootIno, "f", At(1));
  ASSERT_TRUE(store_->Link(file.ino, kRootIno, "g", At(2)).ok());
  auto same_entry = Move(kRootIno, "f", kRootIno, "f");
  ASSERT_TRUE(same_entry.ok());
  EXPECT_FALSE(same_entry->replaced);
  auto other_link = Move(kRootIno, "f", kRootIno, "g");
  ASSERT_TRUE(other_link.ok());
  EXPECT_FALSE(other_link->replaced);
  EXPECT_EQ(Ino(kRootIno, "f"), file.ino);
  EXPECT_EQ(Ino(kRootIno, "g"), file.ino);
  EXPECT_EQ(Attr(file.ino).nlink, 2u);
  EXPECT_EQ(Attr(file.ino).ctime, At(2));
  EXPECT_EQ(Attr(kRootIno).mtime, At(2));
}

TEST_F(RenameTest, NoReplace) {
  InodeAttr f = MakeFile(kRootIno, "f");
  InodeAttr g = MakeFile(kRootIno, "g");
  EXPECT_TRUE(
      Fails(Move(kRootIno, "f", kRootIno, "g", RenameMode::kNoReplace).status(), Code::kExists));
  EXPECT_EQ(Ino(kRootIno, "g"), g.ino);
  ASSERT_TRUE(Move(kRootIno, "f", kRootIno, "h", RenameMode::kNoReplace).ok());
  EXPECT_EQ(Ino(kRootIno, "h"), f.ino);
}

TEST_F(RenameTest, ExchangeSwapsEntries) {
  InodeAttr a = MakeDir(kRootIno, "a");
  InodeAttr file = MakeFile(kRootIno, "f", At(1));
  InodeAttr sub = MakeDir(a.ino, "sub", At(1));
  EXPECT_TRUE(
      Fails(Move(kRootIno, "f", a.ino, "none", RenameMode::kExchange).status(), Code::kNotFound));
  auto swapped = Move(kRootIno, "f", a.ino, "sub", RenameMode::kExchange);
  ASSERT_TRUE(swapped.ok());
  EXPECT_FALSE(swapped->replaced);
  EXPECT_EQ(Ino(kRootIno, "f"), sub.ino);
  EXPECT_EQ(Ino(a.ino, "sub"), file.ino);
  EXPECT_EQ(Attr(file.ino).ctime, At(50));
  EXPECT_EQ(Attr(sub.ino).ctime, At(50));
  EXPECT_EQ(Attr(file.ino).nlink, 1u);
  EXPECT_EQ(Attr(sub.ino).nlink, 2u);
  EXPECT_EQ(Attr(a.ino).nlink, 2u);     // gave away its subdirectory
  EXPECT_EQ(Attr(kRootIno).nlink, 4u);  // a, and now sub
  EXPECT_EQ(Attr(a.ino).mtime, At(50));
  EXPECT_EQ(Attr(kRootIno).mtime, At(50));
}

TEST_F(RenameTest, ExchangeWithAncestorIsInvalid) {
  InodeAttr a = MakeDir(kRootIno, "a");
  InodeAttr b = MakeDir(a.ino, "b");
  EXPECT_TRUE(FailsWith(Move(a.ino, "b", kRootIno, "a", RenameMode::kExchange).status(), EINVAL));
  EXPECT_TRUE(FailsWith(Move(kRootIno, "a", a.ino, "b", RenameMode::kExchange).status(), EINVAL));
  EXPECT_EQ(Ino(a.ino, "b"), b.ino);
}

TEST_F(RenameTest, ReplacedDirectoryOverAncestorIsNotEmpty) {
  InodeAttr a = MakeDir(kRootIno, "a");
  MakeDir(a.ino, "b");
  EXPECT_TRUE(FailsWith(Move(a.ino, "b", kRootIno, "a").status(), ENOTEMPTY));
}

}  // namespace
}  // namespace tierfs
