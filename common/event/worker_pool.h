#pragma once
// The worker pool: where blocking calls go (fsync, rename + directory fsync,
// large directory scans, password hashing) so the loop never blocks.
//
// Started after the privilege drop (threads would otherwise keep the old
// credentials: setuid applies to every thread only through glibc's signal
// broadcast, which we do not rely on). A job runs on a worker thread; its
// completion runs afterwards on the loop thread, via Loop::post.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/event/loop.h"

namespace tern::event {

class WorkerPool {
 public:
  WorkerPool(Loop& loop, int threads);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Lets queued jobs finish, joins the threads. Completions of jobs that
  // finish after the loop stopped running are dropped.
  void stop();
  // `job` runs on a worker; then `done` runs on the loop thread.
  void submit(std::function<void()> job, std::function<void()> done = nullptr);
  size_t queued() const;
  int threads() const { return nthreads_; }

 private:
  void worker_main();

  Loop& loop_;
  int nthreads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::function<void()>, std::function<void()>>> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

}  // namespace tern::event
