// WorkerPool<Job>: a fixed set of threads running jobs from a bounded queue,
// for work that is only worth doing soon (decoding cold frames ahead of a
// reader). Submit never blocks and never allocates: the queue is a ring of
// kCapacity jobs, and a job that does not fit is dropped (Submit returns
// false). The destructor drops what is still queued and joins the threads.
//
// Thread-safety: thread-safe; `run` is called on the pool's threads, one job
// at a time per thread, and must not throw.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tierfs {

template <class Job>
class WorkerPool {
 public:
  static constexpr size_t kCapacity = 64;

  WorkerPool(size_t threads, std::function<void(Job&)> run) : run_(std::move(run)) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool Submit(Job job) {
    {
      std::lock_guard lock(mu_);
      if (stop_ || count_ == kCapacity) return false;
      ring_[(head_ + count_) % kCapacity] = std::move(job);
      ++count_;
    }
    cv_.notify_one();
    return true;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || count_ > 0; });
      if (stop_) return;
      Job job = std::exchange(ring_[head_], Job{});
      head_ = (head_ + 1) % kCapacity;
      --count_;
      lock.unlock();
      run_(job);
      job = Job{};  // let go of what it holds before waiting again
      lock.lock();
    }
  }

  const std::function<void(Job&)> run_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::array<Job, kCapacity> ring_;  // guarded by mu_
  size_t head_ = 0, count_ = 0;      // guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace tierfs
