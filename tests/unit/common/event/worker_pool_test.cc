#include "common/event/worker_pool.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

using namespace std::chrono_literals;
using tern::event::Loop;
using tern::event::Timer;
using tern::event::WorkerPool;

namespace {
constexpr auto kLimit = std::chrono::seconds(5);  // safety net only
}  // namespace

TEST_CASE("worker_pool: jobs run on a worker and completions on the loop thread", "[event]") {
  Loop loop;
  WorkerPool pool(loop, 2);
  pool.start();
  std::thread::id job_thread, done_thread;
  pool.submit([&] { job_thread = std::this_thread::get_id(); },
              [&] {
                done_thread = std::this_thread::get_id();
                loop.stop();
              });
  CHECK(loop.run_for(kLimit));
  CHECK(job_thread != std::this_thread::get_id());
  CHECK(done_thread == std::this_thread::get_id());
}

TEST_CASE("worker_pool: a job's captures are gone before its completion runs", "[event]") {
  Loop loop;
  WorkerPool pool(loop, 1);
  pool.start();
  // A capture that takes its time to go (as closing and unlinking a file
  // may): were it destroyed after the completion was posted, the loop
  // would run the completion meanwhile and see it still there.
  struct Slow {
    explicit Slow(std::atomic<bool>* g) : gone(g) {}
    std::atomic<bool>* gone;
    ~Slow() {
      std::this_thread::sleep_for(50ms);
      gone->store(true);
    }
  };
  std::atomic<bool> gone{false};
  bool gone_at_done = false;
  auto slow = std::make_shared<Slow>(&gone);
  pool.submit([slow = std::move(slow)] { (void)slow->gone; },
              [&] {
                gone_at_done = gone.load();
                loop.stop();
              });
  CHECK(loop.run_for(kLimit));
  CHECK(gone_at_done);
}

TEST_CASE("worker_pool: the loop keeps serving timers while a worker blocks", "[event]") {
  Loop loop;
  WorkerPool pool(loop, 1);
  pool.start();
  int ticks = 0;
  Timer tick(loop, [&] { ticks++; });
  tick.start_every(20ms);
  int ticks_at_done = -1;
  pool.submit([] { std::this_thread::sleep_for(300ms); },
              [&] {
                ticks_at_done = ticks;
                loop.stop();
              });
  CHECK(loop.run_for(kLimit));
  // 300 ms / 20 ms is 15; leave room for slow (sanitizer) builds.
  CHECK(ticks_at_done >= 5);
}

TEST_CASE("worker_pool: a job submitted before start() runs once started", "[event]") {
  Loop loop;
  WorkerPool pool(loop, 1);
  std::atomic<int> ran{0};
  pool.submit([&] { ran++; }, [&] { loop.stop(); });
  std::this_thread::sleep_for(10ms);
  CHECK(ran == 0);
  CHECK(pool.queued() == 1);
  pool.start();
  CHECK(loop.run_for(kLimit));
  CHECK(ran == 1);
  CHECK(pool.queued() == 0);
}

TEST_CASE("worker_pool: stop() finishes the queued jobs and joins", "[event]") {
  Loop loop;
  WorkerPool pool(loop, 1);
  std::atomic<int> ran{0};
  int done = 0;
  pool.start();
  for (int i = 0; i < 5; i++) {
    pool.submit([&] {
      std::this_thread::sleep_for(2ms);
      ran++;
    }, [&] { done++; });
  }
  pool.stop();
  CHECK(ran == 5);
  loop.run_pending();  // their completions still run while the pool exists
  CHECK(done == 5);
}

TEST_CASE("worker_pool: stop() from a job ends the loop's run()", "[event]") {
  Loop loop;
  WorkerPool pool(loop, 1);
  pool.start();
  pool.submit([&] { loop.stop(); });
  CHECK(loop.run() == 0);
}

TEST_CASE("worker_pool: completions are dropped once the pool is destroyed", "[event]") {
  Loop loop;
  int done = 0;
  {
    WorkerPool pool(loop, 1);
    pool.start();
    pool.submit([] {}, [&] { done++; });
  }  // joined: the completion is posted but its pool is gone
  loop.run_pending();
  CHECK(done == 0);
}

TEST_CASE("worker_pool: completions are dropped when the loop goes first", "[event]") {
  auto loop = std::make_unique<Loop>();
  WorkerPool pool(*loop, 1);
  pool.start();
  std::promise<void> release;
  auto released = release.get_future();
  std::atomic<bool> job_ran{false};
  bool done = false;
  pool.submit([&] {
    released.wait();
    job_ran = true;
  }, [&] { done = true; });
  loop.reset();
  release.set_value();
  pool.stop();
  CHECK(job_ran);
  CHECK_FALSE(done);
}
