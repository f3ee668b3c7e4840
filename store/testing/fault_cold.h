// FaultColdBackend: a ColdBackend wrapper for tests that puts the cold
// tier's operations under a FaultInjectionEnv's faults and crash point, so
// that one crash counter covers both tiers: FailOp(kColdRead / kColdWrite /
// kColdRemove, status) injects errors (an OSD's EIO, a full pool), and
// CrashAfter(n) stops the store at any single step of a move, hot or cold.
// After the crash an operation fails without reaching the backend, as a
// killed daemon's would; the backend's committed state is what it was.
// Thread-safety: as the wrapped backend (the env is thread-safe).
#pragma once

#include <memory>

#include "store/cold_backend.h"
#include "store/testing/fault_env.h"

namespace tierfs {

class FaultColdBackend final : public ColdBackend {
 public:
  FaultColdBackend(std::unique_ptr<ColdBackend> base, FaultInjectionEnv* env)
      : base_(std::move(base)), env_(env) {}

  std::string Describe() const override { return base_->Describe(); }
  std::string NameOf(ObjectKey key) const override { return base_->NameOf(key); }
  Result<std::vector<ColdListing>> Recover() override;
  Result<std::unique_ptr<ColdWrite>> Begin(ObjectKey key) override;
  Result<std::unique_ptr<ColdObject>> Open(ObjectKey key) override;
  Status Remove(ObjectKey key) override;
  Status SyncRemovals() override;
  Result<std::string> ReadOwner() override;
  Status SwapOwner(const std::optional<std::string>& expected, const std::string& record) override;

 private:
  const std::unique_ptr<ColdBackend> base_;
  FaultInjectionEnv* const env_;
};

}  // namespace tierfs
