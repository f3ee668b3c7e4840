// Migrator implementation.
#include "store/migrator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>

namespace tierfs {

namespace {
constexpr int64_t kMinBackoffNs = 1'000'000'000;
constexpr int64_t kMaxBackoffNs = 60'000'000'000;
}  // namespace

Migrator::Migrator(ObjectStore* store, PolicyConfig config, MigratorOptions opts)
    : store_(store), config_(config), opts_(opts) {
  store_->set_promote_reads(config_.promote_reads);
}

Migrator::~Migrator() { Stop(); }

void Migrator::Start() {
  MutexLock thread_lock(&thread_mu_);
  if (thread_.joinable()) return;
  {
    MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void Migrator::Stop() {
  MutexLock thread_lock(&thread_mu_);
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

bool Migrator::SleepFor(int64_t ns) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  MutexLock lock(&mu_);
  while (!stop_ && cv_.WaitUntil(&mu_, deadline)) {
  }
  return !stop_;
}

void Migrator::Loop() {
  while (SleepFor(opts_.interval_ms * 1000000 + error_backoff_ns_.load())) RunOnce();
}

void Migrator::RunOnce() {
  MutexLock pass(&pass_mu_);
  try {
    RunPass();
    error_backoff_ns_.store(0);
  } catch (const std::exception& e) {
    NoteFailedPass(e.what());
  } catch (...) {
    NoteFailedPass("unknown exception");
  }
}

void Migrator::NoteFailedPass(const std::string& what) {
  // No Env call here: the Env may be what threw.
  const int64_t min_ns = std::max<int64_t>(opts_.error_backoff_ms, 1) * 1000000;
  const int64_t backoff =
      std::clamp<int64_t>(error_backoff_ns_.load() * 2, min_ns, std::max(min_ns, kMaxBackoffNs));
  error_backoff_ns_.store(backoff);
  std::string msg = "migrator pass failed with an exception: " + what;
  {
    MutexLock lock(&mu_);
    ++stats_.errors;
    stats_.last_error = msg;
    stats_.queued = 0;
    queued_.clear();
  }
  try {
    spdlog::error("{}; next pass in {} ms", msg, backoff / 1000000);
  } catch (...) {
    // Logging must not end the thread either.
  }
}

void Migrator::RunPass() {
  std::vector<ObjectInfo> objects = store_->List();
  std::vector<ObjectKey> hints = store_->TakePromoteHints();
  Env* env = store_->env();
  const int64_t start = env->NowNanos();
  TieringPlan plan = PlanTiering(objects, store_->PinnedGroups(), hints, config_, start);
  if (start < demote_paused_until_) {  // the cold tier was full
    plan.demote.clear();
    plan.idle_demotions = 0;
  }
  std::map<ObjectKey, uint64_t> sizes;
  for (const ObjectInfo& o : objects) sizes[o.key] = o.logical_size;
  {
    MutexLock lock(&mu_);
    stats_.queued = plan.demote.size() + plan.promote.size();
    queued_.clear();
    next_move_ = 0;
    size_t order = 0;
    for (size_t i = 0; i < plan.demote.size(); ++i) {
      queued_[plan.demote[i]] = {QueuedMove{true, plan.DemoteReason(i)}, order++};
    }
    for (const ObjectKey& k : plan.promote) {
      queued_[k] = {QueuedMove{false, MoveReason::kReads}, order++};
    }
  }
  uint64_t moved = 0;
  uint64_t hot_after = plan.hot_bytes;  // (guarded by mu_ with stats_)
  bool cold_full = false;
  auto apply = [&](const ObjectKey& key, bool demote, MoveReason why) -> bool {
    {
      MutexLock lock(&mu_);
      queued_[key].first.started = true;
    }
    Status st = demote ? store_->Demote(key, why) : store_->Promote(key, why);
    // Full (NoSpace), or unreachable (an I/O error: a RADOS cluster that is
    // down answers each write only after rados_timeout).
    if (demote && (st.IsNoSpace() || st.code() == Code::kIOError)) cold_full = true;
    MutexLock lock(&mu_);
    --stats_.queued;
    queued_.erase(key);
    ++next_move_;
    if (st.ok()) {
      hot_after = demote ? hot_after - std::min(hot_after, sizes[key]) : hot_after + sizes[key];
      (demote ? stats_.demoted : stats_.promoted) += 1;
      (demote ? stats_.demoted_bytes : stats_.promoted_bytes) += sizes[key];
      stats_.bytes_moved += sizes[key];
      moved += sizes[key];
    } else if (st.code() != Code::kBusy && !st.IsNotFound()) {
      // Busy: changed under us, NotFound: removed; both are retried next pass.
      ++stats_.errors;
      ++stats_.failed_moves;
      stats_.last_error = st.ToString();
    }
    return !stop_;
  };
  auto throttle = [&]() -> bool {
    if (opts_.rate_bytes_per_sec == 0) return true;
    int64_t due_ns = static_cast<int64_t>(moved * 1e9 / opts_.rate_bytes_per_sec);
    int64_t ahead = due_ns - (env->NowNanos() - start);
    return ahead <= 0 || SleepFor(ahead);
  };
  bool go = true;
  for (size_t i = 0; i < plan.demote.size(); ++i) {
    if (!(go = apply(plan.demote[i], true, plan.DemoteReason(i)) && throttle()) || cold_full) {
      break;
    }
  }
  // A full or unreachable cold tier stays so for a while: back off (1 s
  // doubling to a minute) instead of failing every demotion on every pass.
  if (cold_full) {
    demote_backoff_ns_ = std::clamp<int64_t>(demote_backoff_ns_ * 2, kMinBackoffNs, kMaxBackoffNs);
    demote_paused_until_ = env->NowNanos() + demote_backoff_ns_;
  } else if (!plan.demote.empty()) {
    demote_backoff_ns_ = 0;
  }
  {
    MutexLock lock(&mu_);  // demotions a full cold tier cut short are not queued
    for (const ObjectKey& k : plan.demote) queued_.erase(k);
    next_move_ = plan.demote.size();
    stats_.queued = queued_.size();
  }
  for (const ObjectKey& k : plan.promote) {
    if (!go || !(go = apply(k, false, MoveReason::kReads) && throttle())) break;
  }
  MutexLock lock(&mu_);
  queued_.clear();
  ++stats_.passes;
  stats_.hot_bytes = hot_after;
  stats_.last_pass_ns = env->NowNanos();
}

std::optional<QueuedMove> Migrator::QueuedMoveOf(ObjectKey key) const {
  MutexLock lock(&mu_);
  auto it = queued_.find(key);
  if (it == queued_.end()) return std::nullopt;
  QueuedMove m = it->second.first;
  m.ahead = it->second.second - next_move_;
  return m;
}

MigratorStats Migrator::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace tierfs
