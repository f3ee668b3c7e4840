// MetadataStore tests: opening, schema versioning, refusal of foreign,
// garbage and truncated files (which must stay byte-for-byte unchanged),
// persistence, settings, read-only mode and Sync.
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "tests/fusefs/meta/metadata_test_util.h"

namespace tierfs {
namespace {

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Runs SQL on the file with the plain SQLite C API, as a foreign tool would.
void RunSql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

class MetadataOpenTest : public MetadataTest {
 protected:
  // Closes the store, then expects Open to refuse the file with `code` and
  // to leave it exactly as it was.
  Status ExpectRefused(Code code) {
    store_.reset();
    const std::string before = ReadBytes(db_path());
    auto opened = MetadataStore::Open(db_path(), MetadataOptions{});
    EXPECT_FALSE(opened.ok());
    Status st = opened.status();
    EXPECT_TRUE(Fails(st, code));
    EXPECT_EQ(ReadBytes(db_path()), before) << "a refused file was modified";
    return st;
  }
  void ExpectNotTierfs() {
    Status st = ExpectRefused(Code::kCorruption);
    EXPECT_EQ(st.message().rfind("not a tierfs metadata database: ", 0), 0u) << st.message();
  }
};

TEST_F(MetadataOpenTest, NewStoreHasRootDirectory) {
  InodeAttr root = Attr(kRootIno);
  EXPECT_EQ(root.mode, S_IFDIR | 0755u);
  EXPECT_EQ(root.nlink, 2u);
  EXPECT_EQ(root.uid, 1000u);
  EXPECT_EQ(root.gid, 100u);
  EXPECT_EQ(*store_->InodeCount(), 1u);
  EXPECT_EQ(*store_->GetSetting("schema_version"), std::to_string(kSchemaVersion));
}

TEST_F(MetadataOpenTest, PersistsAcrossReopen) {
  InodeAttr dir = MakeDir(kRootIno, "d");
  InodeAttr file = MakeFile(dir.ino, "f");
  ASSERT_TRUE(store_->SetXattr(file.ino, "user.k", "v", XattrMode::kAny).ok());
  ASSERT_TRUE(store_->SetSetting("chunk_size", "4194304").ok());
  Reopen();
  EXPECT_EQ(store_->Lookup(kRootIno, "d")->ino, dir.ino);
  EXPECT_EQ(store_->Lookup(dir.ino, "f")->ino, file.ino);
  EXPECT_EQ(*store_->GetXattr(file.ino, "user.k"), "v");
  EXPECT_EQ(*store_->GetSetting("chunk_size"), "4194304");
  EXPECT_EQ(Attr(kRootIno).nlink, 3u);
  // Inode numbers are never reused, even after the newest one is deleted.
  ASSERT_TRUE(store_->Unlink(dir.ino, "f", At(20)).ok());
  ASSERT_TRUE(store_->DeleteInodes(std::vector<uint64_t>{file.ino}).ok());
  Reopen();
  EXPECT_GT(MakeFile(kRootIno, "g").ino, file.ino);
}

TEST_F(MetadataOpenTest, CommittedWorkSurvivesAProcessCrash) {
  store_.reset();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // commits, then dies without closing or checkpointing
    auto opened = MetadataStore::Open(db_path(), MetadataOptions{});
    if (!opened.ok()) _exit(1);
    for (int i = 0; i < 200; ++i) {
      if (!(*opened)->Create(kRootIno, Numbered("f", i), Node(S_IFREG | 0644), At(1)).ok()) {
        _exit(2);
      }
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_GT(std::filesystem::file_size(db_path() + "-wal"), 0u);
  Reopen();
  EXPECT_EQ(*store_->InodeCount(), 201u);
  EXPECT_TRUE(Exists(kRootIno, "f199"));
}

TEST_F(MetadataOpenTest, RefusesNewerSchemaWithoutModifyingIt) {
  store_.reset();
  RunSql(db_path(), "UPDATE meta SET value = '7' WHERE key = 'schema_version'");
  Status st = ExpectRefused(Code::kNotSupported);
  EXPECT_NE(st.message().find("version 7"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(Numbered("version ", kSchemaVersion)), std::string::npos)
      << st.message();
}

// A version 1 database (before inline data) is upgraded by a writable open,
// its inodes intact; a read-only open refuses it and leaves it as it was.
TEST_F(MetadataOpenTest, AVersion1DatabaseIsUpgradedByAWritableOpenOnly) {
  InodeAttr f = MakeFile(kRootIno, "f");
  store_.reset();
  RunSql(db_path(),
         "ALTER TABLE inodes DROP COLUMN inline; DROP TABLE inline_data; "
         "UPDATE meta SET value = '1' WHERE key = 'schema_version'");
  const std::string before = ReadBytes(db_path());
  MetadataOptions ro;
  ro.read_only = true;
  auto refused = MetadataStore::Open(db_path(), ro);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Fails(refused.status(), Code::kNotSupported));
  EXPECT_NE(refused.status().message().find("read-write once"), std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(ReadBytes(db_path()), before);
  Reopen();
  EXPECT_EQ(store_->Lookup(kRootIno, "f")->ino, f.ino);
  EXPECT_FALSE(Attr(f.ino).inline_data);
  const std::vector<std::byte> bytes(10, std::byte{7});
  ASSERT_TRUE(store_->WriteInline(f.ino, bytes).ok());
  Reopen(ro);
  std::vector<std::byte> out(20);
  EXPECT_EQ(*store_->ReadInline(f.ino, 0, out), 10u);
  EXPECT_EQ(*store_->GetSetting("schema_version"), Numbered("", kSchemaVersion));
}

TEST_F(MetadataOpenTest, RefusesBadSchemaVersion) {
  store_.reset();
  RunSql(db_path(), "UPDATE meta SET value = 'x1' WHERE key = 'schema_version'");
  ExpectNotTierfs();
}

TEST_F(MetadataOpenTest, RefusesGarbageFile) {
  store_.reset();
  std::string junk(8192, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
  WriteBytes(db_path(), junk);
  ExpectNotTierfs();
}

TEST_F(MetadataOpenTest, RefusesGarbageBehindSqliteMagic) {
  store_.reset();
  std::string junk("SQLite format 3", 16);
  junk.append(8192, '\x5a');
  WriteBytes(db_path(), junk);
  ExpectNotTierfs();
}

TEST_F(MetadataOpenTest, RefusesTruncatedDatabase) {
  for (int i = 0; i < 300; ++i) MakeFile(kRootIno, Numbered("file-with-a-longish-name-", i));
  store_.reset();
  const std::string whole = ReadBytes(db_path());
  ASSERT_GT(whole.size(), 16384u);
  for (size_t size : {whole.size() / 2, size_t{4096}, size_t{60}}) {
    WriteBytes(db_path(), whole.substr(0, size));
    ExpectNotTierfs();
  }
}

TEST_F(MetadataOpenTest, RefusesForeignSqliteDatabase) {
  store_.reset();
  std::filesystem::remove(db_path());
  RunSql(db_path(), "CREATE TABLE photos(id INTEGER PRIMARY KEY, data BLOB)");
  ExpectNotTierfs();
}

TEST_F(MetadataOpenTest, EmptyFileGetsNewSchema) {
  store_.reset();
  WriteBytes(db_path(), "");
  Reopen();
  EXPECT_EQ(Attr(kRootIno).mode, S_IFDIR | 0755u);
}

TEST_F(MetadataOpenTest, MissingFileWithoutCreateIsNotFound) {
  MetadataOptions opts;
  opts.create_if_missing = false;
  auto opened = MetadataStore::Open(dir_.path() + "/other.db", opts);
  EXPECT_TRUE(Fails(opened.status(), Code::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/other.db"));
}

TEST_F(MetadataOpenTest, ReadOnlyRefusesWrites) {
  InodeAttr file = MakeFile(kRootIno, "f");
  MetadataOptions opts;
  opts.read_only = true;
  Reopen(opts);
  EXPECT_EQ(store_->Lookup(kRootIno, "f")->ino, file.ino);
  EXPECT_TRUE(
      FailsWith(store_->Create(kRootIno, "g", Node(S_IFREG | 0644), At(1)).status(), EROFS));
  EXPECT_TRUE(FailsWith(store_->SetSetting("a", "b"), EROFS));
}

TEST_F(MetadataOpenTest, SynchronousFullOpens) {
  MakeFile(kRootIno, "f");
  MetadataOptions opts;
  opts.synchronous_full = true;
  Reopen(opts);
  EXPECT_TRUE(Exists(kRootIno, "f"));
}

TEST_F(MetadataOpenTest, Settings) {
  EXPECT_TRUE(Fails(store_->GetSetting("chunk_size").status(), Code::kNotFound));
  ASSERT_TRUE(store_->SetSetting("chunk_size", "1").ok());
  ASSERT_TRUE(store_->SetSetting("chunk_size", "2").ok());
  EXPECT_EQ(*store_->GetSetting("chunk_size"), "2");
  EXPECT_TRUE(FailsWith(store_->SetSetting("schema_version", "9"), EPERM));
}

TEST_F(MetadataOpenTest, SyncCheckpointsTheWalIntoTheDatabaseAndKeepsTheWalsBlocks) {
  InodeAttr file = MakeFile(kRootIno, "f");
  EXPECT_GT(std::filesystem::file_size(db_path() + "-wal"), 0u);
  ASSERT_TRUE(store_->Sync().ok());
  // The database file alone holds the change: a copy of it without the WAL has it.
  const std::string copy = dir_.path() + "/copy.db";
  std::filesystem::copy_file(db_path(), copy);
  MetadataOptions ro;
  ro.read_only = true;
  auto copied = MetadataStore::Open(copy, ro);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ((*copied)->Lookup(kRootIno, "f")->ino, file.ino);
  // The WAL is restarted, not truncated: it keeps the blocks Open
  // preallocated, so that the next commit needs no new space.
  struct stat st {};
  ASSERT_EQ(::stat((db_path() + "-wal").c_str(), &st), 0);
  EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, 8u << 20);
}

}  // namespace
}  // namespace tierfs
