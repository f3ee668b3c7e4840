#include "store/cold_rados.h"

#include <rados/librados.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <vector>

#include "store/env.h"
#include "store/mutex.h"

namespace tierfs {

namespace {

constexpr const char* kIndexObject = "tierfs.index";
// The owner record (store/cold_owner.h) is the xattr kOwnerXattr of this
// object, swapped with a compare-and-set write operation.
constexpr const char* kOwnerObject = "tierfs.owner";
constexpr const char* kOwnerXattr = "owner";
constexpr uint8_t kIndexValueVersion = 1;
constexpr uint64_t kOmapPage = 1024;

void PutLE64(std::byte* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::byte(v >> (8 * i));
}
uint64_t GetLE64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(std::to_integer<uint8_t>(p[i])) << (8 * i);
  return v;
}

// A librados error as a Status. ENOENT stays NotFound; everything else
// (ETIMEDOUT from a cluster that is down, EIO from an OSD, ...) is an I/O
// error of the cold tier, which reaches the user as EIO; a full pool
// (ENOSPC, EDQUOT) is NoSpace.
Status RadosError(const std::string& what, int r) {
  const int err = -r;
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(msg);
  return Status::IOError(msg, EIO);
}

std::string DataObjectName(ObjectKey key, uint64_t nonce) {
  char n[17];
  std::snprintf(n, sizeof(n), "%016llx", static_cast<unsigned long long>(nonce));
  return ObjectName(key) + "." + n;
}

// "<group>.<index>.<nonce>" -> key, nonce.
bool ParseDataObjectName(std::string_view name, ObjectKey* key, uint64_t* nonce) {
  return name.size() == 50 && name[33] == '.' && ParseObjectName(name.substr(0, 33), key) &&
         ParseHex16(name.substr(34), nonce);
}

}  // namespace

void EncodeRadosIndexValue(const RadosIndexValue& v,
                           std::span<std::byte, kRadosIndexValueSize> out) {
  std::memset(out.data(), 0, out.size());
  out[0] = std::byte{kIndexValueVersion};
  PutLE64(out.data() + 8, v.nonce);
  PutLE64(out.data() + 16, v.stored_bytes);
  PutLE64(out.data() + 24, static_cast<uint64_t>(v.mtime_ns));
}

std::optional<RadosIndexValue> DecodeRadosIndexValue(std::span<const std::byte> in) {
  if (in.size() != kRadosIndexValueSize || in[0] != std::byte{kIndexValueVersion}) {
    return std::nullopt;
  }
  for (size_t i = 1; i < 8; ++i) {
    if (in[i] != std::byte{0}) return std::nullopt;
  }
  RadosIndexValue v;
  v.nonce = GetLE64(in.data() + 8);
  v.stored_bytes = GetLE64(in.data() + 16);
  v.mtime_ns = static_cast<int64_t>(GetLE64(in.data() + 24));
  if (v.mtime_ns < 0) return std::nullopt;
  return v;
}

namespace {

class RadosColdObject final : public ColdObject {
 public:
  RadosColdObject(rados_ioctx_t io, std::string oid, uint64_t size)
      : io_(io), oid_(std::move(oid)), size_(size) {}
  uint64_t size() const override { return size_; }
  Status ReadExactAt(uint64_t offset, std::span<std::byte> dst) override {
    if (offset > size_ || dst.size() > size_ - offset) {
      return Status::Corruption("read past the end of cold object " + oid_);
    }
    size_t done = 0;
    while (done < dst.size()) {
      int r = rados_read(io_, oid_.c_str(), reinterpret_cast<char*>(dst.data() + done),
                         dst.size() - done, offset + done);
      if (r == -ENOENT)
        return Status::Corruption("cold object " + oid_ + " is missing from the pool");
      if (r < 0) return RadosError("read cold object " + oid_, r);
      if (r == 0)
        return Status::Corruption("cold object " + oid_ + " is shorter than its index says");
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

 private:
  const rados_ioctx_t io_;
  const std::string oid_;
  const uint64_t size_;
};

class RadosColdBackend final : public ColdBackend {
 public:
  RadosColdBackend(RadosOptions opts, rados_t cluster, rados_ioctx_t io)
      : opts_(std::move(opts)), cluster_(cluster), io_(io), rng_(std::random_device{}()) {}
  ~RadosColdBackend() override {
    rados_ioctx_destroy(io_);
    rados_shutdown(cluster_);
  }

  std::string Describe() const override { return "rados:" + opts_.pool + "/" + opts_.ns; }

  std::string NameOf(ObjectKey key) const override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto it = index_.find(key);
    const std::string oid =
        it == index_.end() ? ObjectName(key) : DataObjectName(key, it->second.nonce);
    return Describe() + "/" + oid;
  }

  Result<std::vector<ColdListing>> Recover() override EXCLUDES(mu_) {
    std::map<ObjectKey, RadosIndexValue> index;
    TIERFS_RETURN_IF_ERROR(ReadIndex(&index));
    // Every data object the index does not name is an interrupted write or
    // a superseded copy.
    rados_list_ctx_t ctx;
    int r = rados_nobjects_list_open(io_, &ctx);
    if (r < 0) return RadosError("list pool " + Describe(), r);
    std::vector<std::string> dead;
    for (;;) {
      const char* entry = nullptr;
      r = rados_nobjects_list_next(ctx, &entry, nullptr, nullptr);
      if (r == -ENOENT) break;
      if (r < 0) {
        rados_nobjects_list_close(ctx);
        return RadosError("list pool " + Describe(), r);
      }
      ObjectKey key;
      uint64_t nonce;
      if (!ParseDataObjectName(entry, &key, &nonce)) continue;  // the index, or not ours
      auto it = index.find(key);
      if (it == index.end() || it->second.nonce != nonce) dead.emplace_back(entry);
    }
    rados_nobjects_list_close(ctx);
    if (!opts_.read_only) {
      for (const std::string& oid : dead) {
        r = rados_remove(io_, oid.c_str());
        if (r < 0 && r != -ENOENT) return RadosError("remove stale object " + oid, r);
      }
    }
    std::vector<ColdListing> out;
    out.reserve(index.size());
    for (const auto& [key, v] : index) {
      out.push_back(ColdListing{key.group, key.index, v.stored_bytes, v.mtime_ns});
    }
    MutexLock lock(&mu_);
    index_ = std::move(index);
    return out;
  }

  Result<std::unique_ptr<ColdWrite>> Begin(ObjectKey key) override EXCLUDES(mu_);

  Result<std::unique_ptr<ColdObject>> Open(ObjectKey key) override EXCLUDES(mu_) {
    RadosIndexValue v;
    {
      MutexLock lock(&mu_);
      auto it = index_.find(key);
      if (it == index_.end()) return Status::NotFound("no cold object " + ObjectName(key));
      v = it->second;
    }
    return std::unique_ptr<ColdObject>(
        new RadosColdObject(io_, DataObjectName(key, v.nonce), v.stored_bytes));
  }

  Status Remove(ObjectKey key) override EXCLUDES(mu_) {
    TIERFS_RETURN_IF_ERROR(CheckWritable());
    uint64_t nonce;
    {
      MutexLock lock(&mu_);
      auto it = index_.find(key);
      if (it == index_.end()) return Status::OK();
      nonce = it->second.nonce;
    }
    // First out of the index (the commit point), then the data: a crash in
    // between leaves an object that the next Recover() removes.
    const std::string name = ObjectName(key);
    const char* keys[] = {name.c_str()};
    rados_write_op_t op = rados_create_write_op();
    rados_write_op_omap_rm_keys(op, keys, 1);
    int r = rados_write_op_operate(op, io_, kIndexObject, nullptr, 0);
    rados_release_write_op(op);
    if (r < 0) return RadosError("remove " + name + " from the index of " + Describe(), r);
    {
      MutexLock lock(&mu_);
      auto it = index_.find(key);
      if (it != index_.end() && it->second.nonce == nonce) index_.erase(it);
    }
    (void)rados_remove(io_, DataObjectName(key, nonce).c_str());
    return Status::OK();
  }

  // A removal is durable when its operation returns.
  Status SyncRemovals() override { return Status::OK(); }

  Result<std::string> ReadOwner() override {
    std::string buf(4096, '\0');
    int r = rados_getxattr(io_, kOwnerObject, kOwnerXattr, buf.data(), buf.size());
    if (r == -ENOENT || r == -ENODATA) return Status::NotFound("no owner record in " + Describe());
    if (r < 0) return RadosError("read the owner record of " + Describe(), r);
    buf.resize(static_cast<size_t>(r));
    return buf;
  }

  Status SwapOwner(const std::optional<std::string>& expected, const std::string& record) override {
    TIERFS_RETURN_IF_ERROR(CheckWritable());
    // One write operation, applied atomically by the OSD: the comparison
    // (or, for the first record, an exclusive create) and the new value.
    rados_write_op_t op = rados_create_write_op();
    if (expected) {
      rados_write_op_cmpxattr(op, kOwnerXattr, LIBRADOS_CMPXATTR_OP_EQ, expected->data(),
                              expected->size());
    } else {
      rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, nullptr);
    }
    rados_write_op_setxattr(op, kOwnerXattr, record.data(), record.size());
    int r = rados_write_op_operate(op, io_, kOwnerObject, nullptr, 0);
    rados_release_write_op(op);
    if (r == -ECANCELED || r == -EEXIST || r == -ENOENT) {
      return Status::Busy("the owner record of cold tier " + Describe() + " changed");
    }
    if (r < 0) return RadosError("write the owner record of " + Describe(), r);
    return Status::OK();
  }

  // The commit of a finished write: the index names the new copy, and the
  // one it replaces is removed.
  Status Commit(ObjectKey key, const RadosIndexValue& v) EXCLUDES(mu_) {
    const std::string name = ObjectName(key);
    std::array<std::byte, kRadosIndexValueSize> value;
    EncodeRadosIndexValue(v, value);
    const char* keys[] = {name.c_str()};
    const char* vals[] = {reinterpret_cast<const char*>(value.data())};
    const size_t lens[] = {value.size()};
    rados_write_op_t op = rados_create_write_op();
    rados_write_op_omap_set(op, keys, vals, lens, 1);
    int r = rados_write_op_operate(op, io_, kIndexObject, nullptr, 0);
    rados_release_write_op(op);
    if (r < 0) return RadosError("commit " + name + " to the index of " + Describe(), r);
    std::optional<uint64_t> old;
    {
      MutexLock lock(&mu_);
      auto [it, inserted] = index_.try_emplace(key, v);
      if (!inserted) {
        old = it->second.nonce;
        it->second = v;
      }
    }
    if (old) (void)rados_remove(io_, DataObjectName(key, *old).c_str());
    return Status::OK();
  }

  rados_ioctx_t io() const { return io_; }

 private:
  Status CheckWritable() const {
    if (opts_.read_only)
      return Status::Posix(EROFS, "cold tier " + Describe() + " is open read-only");
    return Status::OK();
  }

  Status ReadIndex(std::map<ObjectKey, RadosIndexValue>* index) {
    std::string after;
    for (;;) {
      rados_read_op_t op = rados_create_read_op();
      rados_omap_iter_t iter = nullptr;
      unsigned char more = 0;
      int prval = 0;
      rados_read_op_omap_get_vals2(op, after.c_str(), "", kOmapPage, &iter, &more, &prval);
      int r = rados_read_op_operate(op, io_, kIndexObject, 0);
      if (r == -ENOENT) {  // a store that never committed a cold object
        rados_release_read_op(op);
        return Status::OK();
      }
      if (r < 0 || prval < 0) {
        rados_release_read_op(op);
        return RadosError("read the index of " + Describe(), r < 0 ? r : prval);
      }
      Status st;
      for (;;) {
        char *k = nullptr, *val = nullptr;
        size_t klen = 0, vlen = 0;
        if (rados_omap_get_next2(iter, &k, &val, &klen, &vlen) < 0 || k == nullptr) break;
        std::string_view name(k, klen);
        ObjectKey key;
        auto v = DecodeRadosIndexValue(std::span(reinterpret_cast<const std::byte*>(val), vlen));
        if (!ParseObjectName(name, &key) || !v) {
          st = Status::Corruption("bad entry '" + std::string(name) + "' in the index of " +
                                  Describe());
          break;
        }
        (*index)[key] = *v;
        after.assign(name);
      }
      rados_omap_get_end(iter);
      rados_release_read_op(op);
      TIERFS_RETURN_IF_ERROR(st);
      if (!more) return Status::OK();
    }
  }

  uint64_t NewNonce() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return rng_();
  }

  const RadosOptions opts_;
  const rados_t cluster_;
  const rados_ioctx_t io_;
  mutable Mutex mu_;
  std::map<ObjectKey, RadosIndexValue> index_ GUARDED_BY(mu_);
  std::mt19937_64 rng_ GUARDED_BY(mu_);
};

// Streams a new data object with asynchronous writes (each Append is one
// write in flight, with its own copy of the bytes); Finish() waits for all.
class RadosWrite final : public ColdWrite {
 public:
  RadosWrite(RadosColdBackend* backend, ObjectKey key, uint64_t nonce)
      : backend_(backend), key_(key), nonce_(nonce), oid_(DataObjectName(key, nonce)) {}
  ~RadosWrite() override {
    (void)Wait();
    if (!committed_ && written_ > 0) (void)rados_remove(backend_->io(), oid_.c_str());
  }
  Status Append(std::span<const std::byte> data) override {
    if (data.empty()) return Status::OK();
    InFlight w;
    w.bytes.reset(new std::byte[data.size()]);
    std::memcpy(w.bytes.get(), data.data(), data.size());
    int r = rados_aio_create_completion2(nullptr, nullptr, &w.done);
    if (r < 0) return RadosError("write " + oid_, r);
    r = rados_aio_write(backend_->io(), oid_.c_str(), w.done,
                        reinterpret_cast<const char*>(w.bytes.get()), data.size(), written_);
    if (r < 0) {
      rados_aio_release(w.done);
      return RadosError("write " + oid_, r);
    }
    written_ += data.size();
    in_flight_.push_back(std::move(w));
    // Bound the memory held by writes in flight.
    if (in_flight_.size() >= kMaxInFlight) return Wait();
    return Status::OK();
  }
  Status Finish() override { return Wait(); }
  Status Commit() override {
    RadosIndexValue v{nonce_, written_, 0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v.mtime_ns = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    attempted_ = true;
    Status st = backend_->Commit(key_, v);
    committed_ = st.ok();
    return st;
  }
  // A failed index update may still be applied by the OSD (a timeout).
  bool maybe_committed() const override { return attempted_; }
  uint64_t written() const override { return written_; }

 private:
  static constexpr size_t kMaxInFlight = 16;
  struct InFlight {
    rados_completion_t done = nullptr;
    std::unique_ptr<std::byte[]> bytes;
  };
  Status Wait() {
    Status first;
    for (InFlight& w : in_flight_) {
      rados_aio_wait_for_complete(w.done);
      int r = rados_aio_get_return_value(w.done);
      rados_aio_release(w.done);
      if (r < 0 && first.ok()) first = RadosError("write " + oid_, r);
    }
    in_flight_.clear();
    return first;
  }

  RadosColdBackend* const backend_;
  const ObjectKey key_;
  const uint64_t nonce_;
  const std::string oid_;
  std::vector<InFlight> in_flight_;
  uint64_t written_ = 0;
  bool attempted_ = false, committed_ = false;
};

Result<std::unique_ptr<ColdWrite>> RadosColdBackend::Begin(ObjectKey key) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  return std::unique_ptr<ColdWrite>(new RadosWrite(this, key, NewNonce()));
}

}  // namespace

Result<std::unique_ptr<ColdBackend>> OpenRadosColdBackend(const RadosOptions& opts) {
  if (opts.pool.empty()) return Status::InvalidArgument("no RADOS pool given");
  if (opts.ns.empty()) return Status::InvalidArgument("no RADOS namespace given");
  const std::string who = "Ceph cluster of " + opts.conf + " as client." + opts.id;
  rados_t cluster;
  int r = rados_create2(&cluster, "ceph", ("client." + opts.id).c_str(), 0);
  if (r < 0) return RadosError("create a RADOS client", r);
  auto fail = [&](const std::string& what, int err) {
    rados_shutdown(cluster);
    return RadosError(what, err);
  };
  r = rados_conf_read_file(cluster, opts.conf.c_str());
  if (r < 0) return fail("read Ceph config " + opts.conf, r);
  // No admin socket: a ceph.conf written for daemons may name one per
  // client name, which the CLI tools of the same client would then fight over.
  r = rados_conf_set(cluster, "admin_socket", "");
  if (r < 0) return fail("set admin_socket", r);
  const std::string timeout = std::to_string(opts.timeout_s);
  for (const char* key : {"rados_osd_op_timeout", "rados_mon_op_timeout", "client_mount_timeout"}) {
    r = rados_conf_set(cluster, key, timeout.c_str());
    if (r < 0) return fail(std::string("set ") + key, r);
  }
  r = rados_connect(cluster);
  if (r < 0) return fail("connect to the " + who, r);
  rados_ioctx_t io;
  r = rados_ioctx_create(cluster, opts.pool.c_str(), &io);
  if (r == -ENOENT) {
    rados_shutdown(cluster);
    return Status::NotFound("pool " + opts.pool + " does not exist in the " + who +
                            " (create it: ceph osd pool create " + opts.pool + ")");
  }
  if (r < 0) return fail("open pool " + opts.pool + " in the " + who, r);
  rados_ioctx_set_namespace(io, opts.ns.c_str());
  // On a full pool, writes fail at once with ENOSPC/EDQUOT instead of
  // waiting (until the op timeout) for space, and removals, which free it,
  // go through.
  rados_set_pool_full_try(io);
  return std::unique_ptr<ColdBackend>(new RadosColdBackend(opts, cluster, io));
}

}  // namespace tierfs
