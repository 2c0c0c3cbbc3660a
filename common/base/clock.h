#pragma once
// The one clock: every timer and every age computation reads time through a
// Clock, so tests can move time without touching the machine's clock.
//
// SystemClock reads CLOCK_MONOTONIC and CLOCK_REALTIME. TestClock holds both
// still until advance() moves them; the event loop subscribes to a clock so
// that a move fires every timer that became due (common/event/loop.h).

#include <chrono>
#include <functional>
#include <vector>

namespace tern {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::time_point<std::chrono::steady_clock, Duration>;
using WallTime = std::chrono::time_point<std::chrono::system_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;       // monotonic: timers, timeouts, durations
  virtual WallTime wall_now() const = 0;  // calendar: Date:, Received:, queue ages on disk
  // Called (on the thread that moved the clock) after the clock jumps; the
  // system clock never calls it. Returns an id for unsubscribe().
  virtual int subscribe(std::function<void()> on_jump) = 0;
  virtual void unsubscribe(int id) = 0;
};

class SystemClock final : public Clock {
 public:
  MonoTime now() const override;
  WallTime wall_now() const override;
  int subscribe(std::function<void()>) override { return 0; }
  void unsubscribe(int) override {}
};

// The process-wide system clock.
Clock& system_clock();

class TestClock final : public Clock {
 public:
  // Starts at an arbitrary fixed monotonic time and the given wall time.
  explicit TestClock(WallTime wall = WallTime(std::chrono::seconds(1'700'000'000)));
  MonoTime now() const override { return mono_; }
  WallTime wall_now() const override { return wall_; }
  int subscribe(std::function<void()> on_jump) override;
  void unsubscribe(int id) override;
  // Moves both times forward and notifies subscribers.
  void advance(Duration d);

 private:
  MonoTime mono_;
  WallTime wall_;
  int next_id_ = 1;
  std::vector<std::pair<int, std::function<void()>>> subscribers_;
};

// Seconds as a double, for log fields such as delay=0.12.
inline double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace tern
