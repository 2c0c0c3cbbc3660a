// worker_pool.cc - threads for blocking calls, completions back on the loop.

#include "common/event/worker_pool.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

#include "common/base/log.h"

namespace tern::event {

WorkerPool::WorkerPool(Loop& loop, int threads)
    : loop_(loop),
      nthreads_(threads),
      poster_(loop.poster()),
      alive_(std::make_shared<std::atomic<bool>>(true)) {
  TERN_ASSERT(threads > 0);
}

WorkerPool::~WorkerPool() {
  stop();
  alive_->store(false);
}

void WorkerPool::start() {
  {
    std::lock_guard lock(mu_);
    if (!workers_.empty()) return;
    stopping_ = false;
  }
  // New threads inherit the mask: block everything so signals are handled
  // on the loop's side, never on a worker.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  workers_.reserve(static_cast<size_t>(nthreads_));
  for (int i = 0; i < nthreads_; i++) workers_.emplace_back([this] { worker_main(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mu_);
    if (workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void WorkerPool::submit(std::function<void()> job, std::function<void()> done) {
  {
    std::lock_guard lock(mu_);
    jobs_.emplace_back(std::move(job), std::move(done));
  }
  cv_.notify_one();
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

void WorkerPool::worker_main() {
  for (;;) {
    std::pair<std::function<void()>, std::function<void()>> item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every queued job is done
      item = std::move(jobs_.front());
      jobs_.pop_front();
    }
    item.first();
    // The job and what it captured go now, on this thread, before its
    // completion can run: a file or lock its captures release is released
    // before the loop answers anyone (an APPEND's tmp/ file before NO).
    item.first = nullptr;
    if (item.second) {
      poster_->post([alive = alive_, done = std::move(item.second)] {
        if (alive->load()) done();
      });
    }
  }
}

}  // namespace tern::event
