#include "authd/login_failures.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tern;
using namespace std::chrono_literals;

TEST_CASE("login_failures: the limit-th failure in the window refuses the address for the ban time", "[authd]") {
  TestClock clock;
  authd::LoginFailures f(clock, {3, 300s, 600s, 100});
  CHECK(!f.failed("192.0.2.7"));
  clock.advance(100s);
  CHECK(!f.failed("192.0.2.7"));
  CHECK(!f.refused("192.0.2.7"));
  clock.advance(100s);
  auto n = f.failed("192.0.2.7");
  REQUIRE(n);
  CHECK(*n == 3);
  CHECK(f.refused("192.0.2.7"));
  CHECK(!f.refused("192.0.2.8"));  // only that address
  // Failures while refused neither extend the ban nor start another.
  clock.advance(599s);
  CHECK(!f.failed("192.0.2.7"));
  CHECK(f.refused("192.0.2.7"));
  clock.advance(1s);
  CHECK(!f.refused("192.0.2.7"));
  // Counting starts again from zero.
  CHECK(!f.failed("192.0.2.7"));
  CHECK(!f.failed("192.0.2.7"));
  CHECK(f.failed("192.0.2.7"));
}

TEST_CASE("login_failures: failures older than the window are forgotten", "[authd]") {
  TestClock clock;
  authd::LoginFailures f(clock, {3, 300s, 600s, 100});
  CHECK(!f.failed("2001:db8::1"));
  CHECK(!f.failed("2001:db8::1"));
  clock.advance(300s);
  CHECK(!f.failed("2001:db8::1"));  // a new window: 1
  CHECK(!f.failed("2001:db8::1"));  // 2
  CHECK(!f.refused("2001:db8::1"));
  CHECK(f.failed("2001:db8::1"));  // 3 within the new window
}

TEST_CASE("login_failures: no address, an over-long one, or limit 0 is never counted", "[authd]") {
  TestClock clock;
  authd::LoginFailures f(clock, {1, 300s, 600s, 100});
  CHECK(!f.failed(""));
  CHECK(!f.refused(""));
  std::string long_rip(authd::LoginFailures::kMaxAddress + 1, '1');
  CHECK(!f.failed(long_rip));
  CHECK(f.size() == 0);
  authd::LoginFailures off(clock, {0, 300s, 600s, 100});
  for (int i = 0; i < 50; i++) CHECK(!off.failed("192.0.2.1"));
  CHECK(!off.refused("192.0.2.1"));
}

TEST_CASE("login_failures: the table stays within max_entries, expired entries going first", "[authd]") {
  TestClock clock;
  authd::LoginFailures f(clock, {2, 60s, 600s, 10});
  // A banned address, then a flood of distinct ones.
  f.failed("198.51.100.1");
  REQUIRE(f.failed("198.51.100.1"));
  for (int i = 0; i < 1000; i++) {
    f.failed("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
    CHECK(f.size() <= 10);
  }
  // Expired entries make room before live ones are evicted.
  TestClock clock2;
  authd::LoginFailures g(clock2, {5, 60s, 600s, 3});
  g.failed("192.0.2.1");
  g.failed("192.0.2.2");
  clock2.advance(61s);
  g.failed("192.0.2.3");
  g.failed("192.0.2.4");  // the two stale ones go, nothing live is evicted
  CHECK(g.size() == 2);
  for (int i = 0; i < 4; i++) g.failed("192.0.2.3");
  CHECK(g.refused("192.0.2.3"));
}
