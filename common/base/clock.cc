#include "common/base/clock.h"

#include <time.h>

#include <algorithm>

namespace tern {
namespace {
Duration read(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
}  // namespace

MonoTime SystemClock::now() const { return MonoTime(read(CLOCK_MONOTONIC)); }
WallTime SystemClock::wall_now() const { return WallTime(read(CLOCK_REALTIME)); }

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

TestClock::TestClock(WallTime wall) : mono_(std::chrono::hours(1000)), wall_(wall) {}

int TestClock::subscribe(std::function<void()> on_jump) {
  subscribers_.emplace_back(next_id_, std::move(on_jump));
  return next_id_++;
}

void TestClock::unsubscribe(int id) {
  std::erase_if(subscribers_, [id](const auto& s) { return s.first == id; });
}

void TestClock::advance(Duration d) {
  mono_ += d;
  wall_ += d;
  auto copy = subscribers_;  // a callback may unsubscribe
  for (auto& [id, fn] : copy) fn();
}

}  // namespace tern
