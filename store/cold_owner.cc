// ClaimColdTier and the owner record's encoding (cold_owner.h).
#include "store/cold_owner.h"

#include <algorithm>
#include <cstring>

namespace tierfs {

namespace {

constexpr char kMagic[16] = {'t', 'i', 'e', 'r', 'f', 's', '-', 'o',
                             'w', 'n', 'e', 'r', 0,   0,   0,   0};
constexpr uint8_t kVersion = 1;
constexpr size_t kIdLen = 32;

void PutLE64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint64_t GetLE64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(std::to_integer<uint8_t>(p[i])) << (8 * i);
  return v;
}
bool IsLowerHex(std::byte b) {
  const char c = static_cast<char>(b);
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

std::span<const std::byte> Bytes(const std::string& s) {
  return std::span(reinterpret_cast<const std::byte*>(s.data()), s.size());
}

// The store directory's record; nullopt when it has none yet.
Result<std::optional<OwnerRecord>> ReadStoreRecord(Env* env, const std::string& path) {
  auto bytes = ReadRecordFile(env, path);
  if (bytes.status().IsNotFound()) return std::optional<OwnerRecord>();
  TIERFS_RETURN_IF_ERROR(bytes.status());
  auto r = DecodeOwnerRecord(Bytes(*bytes));
  if (!r) return Status::Corruption(path + " is not a tierfs owner record");
  return std::optional<OwnerRecord>(*r);
}

std::string TakeOverHint(const std::string& store_dir) {
  return "If this store is the one to keep and the other copy will not be used again, take "
         "the cold tier over deliberately with `tierfs takeover " +
         store_dir + "` (then check it with `tierfs fsck " + store_dir + "`).";
}

}  // namespace

std::string EncodeOwnerRecord(const OwnerRecord& r) {
  std::string out(kOwnerRecordSize, '\0');
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  out[16] = static_cast<char>(kVersion);
  std::memcpy(out.data() + 24, r.store_id.data(), std::min(r.store_id.size(), kIdLen));
  PutLE64(out.data() + 56, r.epoch);
  PutLE64(out.data() + 64, r.claiming);
  PutLE64(out.data() + 72, r.dir_ino);
  return out;
}

std::optional<OwnerRecord> DecodeOwnerRecord(std::span<const std::byte> in) {
  if (in.size() != kOwnerRecordSize || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0 ||
      in[16] != std::byte{kVersion}) {
    return std::nullopt;
  }
  for (size_t i = 17; i < 24; ++i) {
    if (in[i] != std::byte{0}) return std::nullopt;
  }
  if (!std::all_of(in.begin() + 24, in.begin() + 56, IsLowerHex)) return std::nullopt;
  OwnerRecord r;
  r.store_id.assign(reinterpret_cast<const char*>(in.data() + 24), kIdLen);
  r.epoch = GetLE64(in.data() + 56);
  r.claiming = GetLE64(in.data() + 64);
  r.dir_ino = GetLE64(in.data() + 72);
  return r;
}

Result<std::string> ReadRecordFile(Env* env, const std::string& path) {
  TIERFS_ASSIGN_OR_RETURN(auto f, env->Open(path, OpenOptions{}));
  std::string buf(4096, '\0');
  TIERFS_ASSIGN_OR_RETURN(
      size_t n, f->PRead(0, std::span(reinterpret_cast<std::byte*>(buf.data()), buf.size())));
  buf.resize(n);
  return buf;
}

Status ReplaceRecordFile(Env* env, const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    TIERFS_ASSIGN_OR_RETURN(
        auto f, env->Open(tmp, OpenOptions{.write = true, .create = true, .truncate = true}));
    TIERFS_RETURN_IF_ERROR(f->PWrite(0, Bytes(bytes)));
    TIERFS_RETURN_IF_ERROR(f->Sync());
  }
  TIERFS_RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(DirName(path));
}

std::string StoreOwnerPath(const std::string& store_dir) { return store_dir + "/OWNER"; }

Status ClaimColdTier(Env* env, const std::string& store_dir, ColdBackend& cold,
                     const std::string& store_id, bool take_over) {
  const std::string path = StoreOwnerPath(store_dir);
  TIERFS_ASSIGN_OR_RETURN(FileStat dir_stat, env->Stat(store_dir));
  TIERFS_ASSIGN_OR_RETURN(std::optional<OwnerRecord> mine, ReadStoreRecord(env, path));
  std::optional<std::string> cold_bytes;
  auto read = cold.ReadOwner();
  if (read.ok()) {
    cold_bytes = std::move(read).value();
  } else if (!read.status().IsNotFound()) {
    return read.status();
  }
  const std::string tier = "cold tier " + cold.Describe();
  std::optional<OwnerRecord> owner;
  if (cold_bytes) {
    owner = DecodeOwnerRecord(Bytes(*cold_bytes));
    if (!owner) {
      return Status::Corruption("the owner record of " + tier +
                                " is damaged; the store will not touch the tier");
    }
  }
  if (owner && owner->store_id != store_id) {
    // Never taken over: the other store's objects would be read as ours.
    return Status::Busy(tier + " belongs to another store (store id " + owner->store_id +
                        "; this store is " + store_id +
                        "). A cold tier cannot be shared by two stores.");
  }
  if (!take_over) {
    const std::string refused =
        ". It was refused so that it neither recovers nor changes the cold objects of "
        "the other copy. " +
        TakeOverHint(store_dir);
    if (mine && mine->dir_ino != dir_stat.ino) {
      return Status::Busy(store_dir + " is a copy of the store that owns " + tier +
                          " (or was moved: it is not the directory that claimed the tier)" +
                          refused);
    }
    if (owner && !(mine && (owner->epoch == mine->epoch ||
                            (mine->claiming != 0 && owner->epoch == mine->claiming)))) {
      return Status::Busy(tier + " is owned by another copy of " + store_dir + " (owner epoch " +
                          std::to_string(owner->epoch) + ", this copy last held epoch " +
                          (mine ? std::to_string(mine->epoch) : std::string("none")) + ")" +
                          refused);
    }
    if (!owner && mine) {
      return Status::Busy(tier + " has no owner record, but " + store_dir + " held it at epoch " +
                          std::to_string(mine->epoch) +
                          ": the cold tier was replaced or its record removed. " +
                          TakeOverHint(store_dir));
    }
  }
  // Neither record (a new store, or one made before owner records): the
  // first writable open claims the tier.
  uint64_t next = 1;
  if (mine) next = std::max({next, mine->epoch + 1, mine->claiming + 1});
  if (owner) next = std::max(next, owner->epoch + 1);
  const uint64_t held = mine && mine->dir_ino == dir_stat.ino ? mine->epoch : 0;
  TIERFS_RETURN_IF_ERROR(ReplaceRecordFile(
      env, path, EncodeOwnerRecord(OwnerRecord{store_id, held, next, dir_stat.ino})));
  Status swapped =
      cold.SwapOwner(cold_bytes, EncodeOwnerRecord(OwnerRecord{store_id, next, 0, dir_stat.ino}));
  if (swapped.code() == Code::kBusy) {
    return Status::Busy(tier + " was claimed by another copy of the store while " + store_dir +
                        " was being opened. " + TakeOverHint(store_dir));
  }
  TIERFS_RETURN_IF_ERROR(swapped);
  return ReplaceRecordFile(env, path,
                           EncodeOwnerRecord(OwnerRecord{store_id, next, 0, dir_stat.ino}));
}

}  // namespace tierfs
