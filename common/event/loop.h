#pragma once
// The event loop: libevent underneath, Tern's clock on top.
//
// One Loop per thread that serves clients (in practice: one per process).
// Watches are move-only RAII handles: destroying one cancels it. Callbacks
// run on the loop thread and must not throw. Timers are kept against the
// Loop's Clock, not libevent's: with a TestClock, TestClock::advance() fires
// every timer that became due, so tests move time without sleeping.
//
// Threads: only post(), stop() and Poster::post() may be called from other
// threads; everything else belongs to the loop thread (the thread that
// created the Loop or last called run*()).
//
// Lifetimes: every Timer, IoWatch and SignalWatch must be destroyed before
// its Loop. One that outlives it is our bug: ~Loop() panics (a watch freed
// after the event_base would be a use after free). Destroying a watch, or
// restarting, cancelling or moving onto a Timer, from inside its own
// callback is safe.
//
// Clock jumps (TestClock::advance): when the loop is idle and the jump comes
// from the loop thread, due timers run at once, inside advance(); when it
// comes from inside a callback or from another thread, they run as the next
// loop event. Either way each due timer fires once per jump, in deadline
// order; a repeating timer then continues from the new time (no burst of
// catch-up firings).

#include <event2/event.h>

#include <functional>
#include <memory>

#include "common/base/clock.h"
#include "common/base/result.h"

namespace tern::event {

class Loop {
 public:
  explicit Loop(Clock& clock = system_clock());
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  Clock& clock() { return clock_; }
  event_base* base() { return base_; }  // for bufferevents

  // Runs until stop() is called. Returns 0, or -1 if libevent failed.
  int run();
  // Runs until stop() or until `limit` of real (machine) time has passed;
  // returns true if stop() ended it. For tests.
  bool run_for(Duration limit);
  // One loop iteration that does not wait: runs what is ready now (posted
  // functions, due timers, ready descriptors); what those callbacks make
  // ready runs on the next call. For tests.
  void run_pending();
  // Thread-safe: makes run() return after the current callback. A stop()
  // while the loop is not running makes the next run() return at once.
  void stop();
  // Thread-safe: runs fn on the loop thread soon (in the order posted).
  void post(std::function<void()> fn);

  // Posts to this Loop from threads that may outlive it (the worker pool):
  // after the Loop is destroyed, post() drops fn and returns false.
  class Poster {
   public:
    virtual ~Poster() = default;
    virtual bool post(std::function<void()> fn) = 0;
  };
  std::shared_ptr<Poster> poster();

  struct Impl;  // timer heap and post queue, shared with the watch types

 private:
  Clock& clock_;
  event_base* base_ = nullptr;
  std::unique_ptr<Impl> impl_;
  friend class Timer;
  friend class IoWatch;
  friend class SignalWatch;
  friend class Deferred;
};

// Level-triggered readiness on one descriptor (persistent until cancelled).
class IoWatch {
 public:
  static constexpr short kRead = EV_READ;
  static constexpr short kWrite = EV_WRITE;
  IoWatch() noexcept;
  // cb receives the events that fired (kRead and/or kWrite).
  IoWatch(Loop& loop, int fd, short events, std::function<void(short)> cb);
  IoWatch(IoWatch&&) noexcept;
  IoWatch& operator=(IoWatch&&) noexcept;
  ~IoWatch();
  // Changes the events watched (0 = pause without cancelling).
  void set_events(short events);
  void cancel();
  bool active() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A timer on the Loop's clock. Restartable; cancelled on destruction.
class Timer {
 public:
  Timer() noexcept;
  Timer(Loop& loop, std::function<void()> cb);
  Timer(Timer&&) noexcept;
  Timer& operator=(Timer&&) noexcept;
  ~Timer();
  // Both need a Timer made with a Loop (a default-constructed one is a bug).
  void start(Duration after);         // one shot; restarts if pending; < 0 means 0
  void start_every(Duration period);  // repeating, first after one period; period > 0
  void cancel();
  bool pending() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Runs its callback once, later in the current loop turn: after the
// callbacks already due, before the loop waits again. schedule() while
// scheduled does nothing, so work asked for many times in one turn (a
// session's replies to pipelined commands) is done once. No system call:
// it is libevent's event_active from the loop thread. Loop thread only.
class Deferred {
 public:
  Deferred() noexcept;
  Deferred(Loop& loop, std::function<void()> cb);
  Deferred(Deferred&&) noexcept;
  Deferred& operator=(Deferred&&) noexcept;
  ~Deferred();
  void schedule();
  void cancel();
  bool scheduled() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A signal delivered on the loop thread, at priority 0: before any other
// event that became ready in the same turn, and before any descriptor that
// became ready after the signal was sent. On Linux the signal is blocked on
// the constructing thread (which must be the loop thread) and read from a
// signalfd; threads made later inherit the block, and WorkerPool's threads
// block every signal. When the last watch of a signal goes, the signal is
// unblocked again unless it was blocked before the first. Elsewhere,
// libevent's own signal events (kqueue).
class SignalWatch {
 public:
  SignalWatch() noexcept;
  SignalWatch(Loop& loop, int signo, std::function<void()> cb);
  SignalWatch(SignalWatch&&) noexcept;
  SignalWatch& operator=(SignalWatch&&) noexcept;
  ~SignalWatch();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tern::event
