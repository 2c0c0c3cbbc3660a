#pragma once
// The event loop: libevent underneath, Tern's clock on top.
//
// One Loop per thread that serves clients (in practice: one per process).
// Watches are move-only RAII handles: destroying one cancels it. Callbacks
// run on the loop thread and must not throw. Timers are kept against the
// Loop's Clock, not libevent's: with a TestClock, TestClock::advance() fires
// every timer that became due, so tests move time without sleeping.

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
  // Thread-safe: makes run() return after the current callback.
  void stop();
  // Thread-safe: runs fn on the loop thread soon (in the order posted).
  void post(std::function<void()> fn);

  struct Impl;  // timer heap and post queue, shared with the watch types

 private:
  Clock& clock_;
  event_base* base_ = nullptr;
  std::unique_ptr<Impl> impl_;
  friend class Timer;
};

// Level-triggered readiness on one descriptor (persistent until cancelled).
class IoWatch {
 public:
  static constexpr short kRead = EV_READ;
  static constexpr short kWrite = EV_WRITE;
  IoWatch() = default;
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
  Timer() = default;
  Timer(Loop& loop, std::function<void()> cb);
  Timer(Timer&&) noexcept;
  Timer& operator=(Timer&&) noexcept;
  ~Timer();
  void start(Duration after);      // one shot; restarts if pending
  void start_every(Duration period);  // repeating
  void cancel();
  bool pending() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A signal delivered on the loop thread (libevent's self-pipe).
class SignalWatch {
 public:
  SignalWatch() = default;
  SignalWatch(Loop& loop, int signo, std::function<void()> cb);
  SignalWatch(SignalWatch&&) noexcept;
  SignalWatch& operator=(SignalWatch&&) noexcept;
  ~SignalWatch();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tern::event
