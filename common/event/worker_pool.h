#pragma once
// The worker pool: where blocking calls go (fsync, rename + directory fsync,
// large directory scans, password hashing) so the loop never blocks.
//
// Started after the privilege drop (threads would otherwise keep the old
// credentials: setuid applies to every thread only through glibc's signal
// broadcast, which we do not rely on). A job runs on a worker thread; its
// completion runs afterwards on the loop thread, via Loop::post.
//
// Lifetimes: a completion never runs after the pool or the Loop is gone.
// Completions carry a liveness token that ~WorkerPool() clears, and workers
// post through a Loop::Poster, which drops what arrives after ~Loop().
// Destroy the pool on the loop thread (or while the loop is not running).
// The pool may outlive its Loop; jobs then still run, completions do not.
//
// Worker threads block every signal, so handlers (libevent's included) run
// on other threads.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
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

  // Starts the threads (again, after stop()). A second start() does nothing.
  void start();
  // Lets queued jobs finish, joins the threads. Their completions are
  // posted to the loop and run when it runs, if the pool still exists.
  // Jobs submitted while stopped wait for the next start(); those never
  // started are dropped by ~WorkerPool().
  void stop();
  // `job` runs on a worker and is destroyed there, with its captures,
  // before `done` runs on the loop thread. May be called before start()
  // (the job waits) and from any thread.
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
  std::shared_ptr<Loop::Poster> poster_;
  // True while the pool exists; checked on the loop thread before `done`.
  std::shared_ptr<std::atomic<bool>> alive_;
};

}  // namespace tern::event
