#include "qmgr/backoff.h"

#include <catch2/catch.hpp>

#include "qmgr/scheduler.h"

namespace {
using namespace tern;
using namespace tern::qmgr;
using secs = std::chrono::seconds;
}  // namespace

TEST_CASE("backoff: the wait is the message's age between minimal and maximal_backoff_time", "[qmgr]") {
  TestClock clock;
  BackoffSettings s;  // 300s .. 4000s
  WallTime arrival = clock.wall_now();
  CHECK(backoff_delay(arrival, arrival, s) == secs(300));
  // Each retry at the previous due time: 300, 600, 1200, 2400, then 4000.
  std::vector<long long> waits;
  WallTime now = arrival;
  for (int i = 0; i < 6; ++i) {
    Duration d = backoff_delay(arrival, now, s);
    waits.push_back(std::chrono::duration_cast<secs>(d).count());
    clock.advance(d);
    now = clock.wall_now();
  }
  CHECK(waits == std::vector<long long>{300, 300, 600, 1200, 2400, 4000});
  s.maximal = secs(10);  // below minimal: minimal wins
  CHECK(backoff_delay(arrival, now, s) == secs(300));
}

TEST_CASE("backoff: a message expires after its lifetime, a bounce after bounce_queue_lifetime", "[qmgr]") {
  BackoffSettings s;
  s.queue_lifetime = secs(1000);
  s.bounce_lifetime = secs(100);
  WallTime t0(secs(1'700'000'000));
  CHECK_FALSE(expired(t0, t0 + secs(1000), false, s));
  CHECK(expired(t0, t0 + secs(1001), false, s));
  CHECK(expired(t0, t0 + secs(101), true, s));
  CHECK_FALSE(expired(t0, t0 + secs(100), true, s));
}

TEST_CASE("format_delay: as Postfix writes delay= and delays=", "[qmgr]") {
  CHECK(format_delay(0) == "0");
  CHECK(format_delay(0.004) == "0");
  CHECK(format_delay(0.032) == "0.03");
  CHECK(format_delay(0.1) == "0.1");
  CHECK(format_delay(0.12) == "0.12");
  CHECK(format_delay(1.25) == "1.2");
  CHECK(format_delay(3) == "3");
  CHECK(format_delay(12.6) == "13");
  CHECK(format_delay(1426) == "1426");
}
