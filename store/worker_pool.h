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
#include <cstddef>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "store/mutex.h"

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
      MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    for (std::thread& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool Submit(Job job) EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      if (stop_ || count_ == kCapacity) return false;
      ring_[(head_ + count_) % kCapacity] = std::move(job);
      ++count_;
    }
    cv_.NotifyOne();
    return true;
  }

 private:
  void Loop() EXCLUDES(mu_) {
    for (;;) {
      Job job;  // let go of what it holds before waiting again
      {
        MutexLock lock(&mu_);
        while (!stop_ && count_ == 0) cv_.Wait(&mu_);
        if (stop_) return;
        job = std::exchange(ring_[head_], Job{});
        head_ = (head_ + 1) % kCapacity;
        --count_;
      }
      run_(job);
    }
  }

  const std::function<void(Job&)> run_;
  Mutex mu_;
  CondVar cv_;
  std::array<Job, kCapacity> ring_ GUARDED_BY(mu_);
  size_t head_ GUARDED_BY(mu_) = 0;
  size_t count_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // set by the constructor, joined by the destructor
};

}  // namespace tierfs
