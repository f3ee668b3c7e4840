#include "store/testing/fault_cold.h"

namespace tierfs {

namespace {

class FaultColdObject final : public ColdObject {
 public:
  FaultColdObject(std::unique_ptr<ColdObject> base, FaultInjectionEnv* env)
      : base_(std::move(base)), env_(env) {}
  uint64_t size() const override { return base_->size(); }
  Status ReadExactAt(uint64_t offset, std::span<std::byte> dst) override {
    TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdRead, false));
    return base_->ReadExactAt(offset, dst);
  }
  void WillNeed() override { base_->WillNeed(); }

 private:
  const std::unique_ptr<ColdObject> base_;
  FaultInjectionEnv* const env_;
};

class FaultColdWrite final : public ColdWrite {
 public:
  FaultColdWrite(std::unique_ptr<ColdWrite> base, FaultInjectionEnv* env)
      : base_(std::move(base)), env_(env) {}
  Status Append(std::span<const std::byte> data) override {
    TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdWrite, true));
    return base_->Append(data);
  }
  Status Finish() override {
    TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdWrite, true));
    return base_->Finish();
  }
  Status Commit() override {
    TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdWrite, true));
    reached_ = true;
    return base_->Commit();
  }
  bool maybe_committed() const override { return reached_ && base_->maybe_committed(); }
  uint64_t written() const override { return base_->written(); }

 private:
  const std::unique_ptr<ColdWrite> base_;
  FaultInjectionEnv* const env_;
  bool reached_ = false;
};

}  // namespace

Result<std::vector<ColdListing>> FaultColdBackend::Recover() {
  TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdRead, false));
  return base_->Recover();
}

Result<std::unique_ptr<ColdWrite>> FaultColdBackend::Begin(ObjectKey key) {
  TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdWrite, true));
  TIERFS_ASSIGN_OR_RETURN(auto w, base_->Begin(key));
  return std::unique_ptr<ColdWrite>(new FaultColdWrite(std::move(w), env_));
}

Result<std::unique_ptr<ColdObject>> FaultColdBackend::Open(ObjectKey key) {
  TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdRead, false));
  TIERFS_ASSIGN_OR_RETURN(auto o, base_->Open(key));
  return std::unique_ptr<ColdObject>(new FaultColdObject(std::move(o), env_));
}

Status FaultColdBackend::Remove(ObjectKey key) {
  TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdRemove, true));
  return base_->Remove(key);
}

Status FaultColdBackend::SyncRemovals() {
  TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdRemove, false));
  return base_->SyncRemovals();
}

Result<std::string> FaultColdBackend::ReadOwner() {
  TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdRead, false));
  return base_->ReadOwner();
}

Status FaultColdBackend::SwapOwner(const std::optional<std::string>& expected,
                                   const std::string& record) {
  TIERFS_RETURN_IF_ERROR(env_->Inject(FaultOp::kColdWrite, true));
  return base_->SwapOwner(expected, record);
}

}  // namespace tierfs
