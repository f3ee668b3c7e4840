// libFuzzer target for the metadata open path: the input is written as a
// store's meta.db and opened (read-only use after open); a tierfs database
// that opens is then walked. Any input must give a Status, never a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "fusefs/meta/metadata.h"

namespace {

const std::string& WorkDir() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/tierfs_meta_fuzz_XXXXXX";
    return std::string(mkdtemp(tmpl.data()));
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string db = WorkDir() + "/meta.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
  if (FILE* f = std::fopen(db.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  tierfs::MetadataOptions opts;
  opts.create_if_missing = false;
  auto meta = tierfs::MetadataStore::Open(db, opts);
  if (!meta.ok()) return 0;
  (void)(*meta)->GetAttr(tierfs::kRootIno);
  (void)(*meta)->GetSetting("chunk_size");
  (void)(*meta)->ReadDir(tierfs::kRootIno, 0, [&](const tierfs::DirEntry& e) {
    (void)(*meta)->Lookup(tierfs::kRootIno, e.name);
    (void)(*meta)->ListXattr(e.ino);
    (void)(*meta)->ReadLink(e.ino);
    return true;
  });
  (void)(*meta)->ForEachInode([](const tierfs::InodeAttr&) { return true; });
  (void)(*meta)->ListOrphans();
  return 0;
}
