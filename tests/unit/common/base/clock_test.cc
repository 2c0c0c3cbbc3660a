#include "common/base/clock.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

using namespace std::chrono_literals;
using tern::TestClock;

TEST_CASE("clock: a test clock stands still until advanced", "[clock]") {
  TestClock clock(tern::WallTime(1'700'000'000s));
  auto mono = clock.now();
  CHECK(clock.now() == mono);
  CHECK(clock.wall_now() == tern::WallTime(1'700'000'000s));
}

TEST_CASE("clock: advance moves monotonic and wall time together", "[clock]") {
  TestClock clock(tern::WallTime(1'700'000'000s));
  auto mono = clock.now();
  clock.advance(90s);
  CHECK(clock.now() - mono == 90s);
  CHECK(clock.wall_now() == tern::WallTime(1'700'000'090s));
}

TEST_CASE("clock: subscribers hear every jump until they unsubscribe", "[clock]") {
  TestClock clock;
  int a = 0, b = 0;
  int id_a = clock.subscribe([&] { a++; });
  clock.subscribe([&] { b++; });
  clock.advance(1s);
  clock.unsubscribe(id_a);
  clock.advance(1s);
  CHECK(a == 1);
  CHECK(b == 2);
}

TEST_CASE("clock: a subscriber may unsubscribe itself while being notified", "[clock]") {
  TestClock clock;
  int calls = 0;
  int id = 0;
  id = clock.subscribe([&] {
    calls++;
    clock.unsubscribe(id);
  });
  clock.advance(1s);
  clock.advance(1s);
  CHECK(calls == 1);
}

TEST_CASE("clock: the system clock's monotonic time never goes back", "[clock]") {
  auto& clock = tern::system_clock();
  auto t1 = clock.now();
  auto t2 = clock.now();
  CHECK(t2 >= t1);
  // The wall clock is after 2020.
  CHECK(clock.wall_now() > tern::WallTime(1'577'836'800s));
  // It never calls subscribers; subscribing is harmless.
  int id = clock.subscribe([] { FAIL("system clock called a subscriber"); });
  clock.unsubscribe(id);
}

TEST_CASE("clock: seconds() gives fractional seconds", "[clock]") {
  CHECK(tern::seconds(1500ms) == Approx(1.5));
  CHECK(tern::seconds(0s) == 0.0);
}
