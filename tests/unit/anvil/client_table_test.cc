// anvil's counters with a TestClock: time units, expiry and the table's
// bound, without sleeping.
#include "anvil/client_table.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

using namespace tern;
using namespace std::chrono_literals;
using anvil::ClientKey;
using anvil::ClientTable;

namespace {
const ClientKey kA{"smtp", "192.0.2.1"};
const ClientKey kB{"smtp", "192.0.2.2"};
const ClientKey kA587{"submission", "192.0.2.1"};
}  // namespace

TEST_CASE("client_table: counts open connections per service and client", "[anvil]") {
  TestClock clock;
  ClientTable t(clock, 60s);
  CHECK(t.connect(kA)->count == 1);
  CHECK(t.connect(kA)->count == 2);
  CHECK(t.connect(kB)->count == 1);
  CHECK(t.connect(kA587)->count == 1);
  t.disconnect(kA);
  CHECK(t.lookup(kA).count == 1);
  CHECK(t.connect(kA)->count == 2);
  t.disconnect(kA);
  t.disconnect(kA);
  t.disconnect(kA);  // one too many: stays at zero
  CHECK(t.lookup(kA).count == 0);
  t.disconnect(ClientKey{"smtp", "198.51.100.1"});  // never seen: nothing happens
  CHECK(t.size() == 3);
}

TEST_CASE("client_table: a rate counts within one time unit from the client's first event", "[anvil]") {
  TestClock clock;
  ClientTable t(clock, 60s);
  auto c = t.connect(kA);
  CHECK(c->connection_rate == 1);
  t.disconnect(kA);
  clock.advance(30s);
  CHECK(t.connect(kA)->connection_rate == 2);
  CHECK(*t.message(kA) == 1);
  CHECK(*t.message(kA) == 2);
  CHECK(*t.rcpt(kA) == 1);
  clock.advance(29s);  // 59 s after the first event: the same unit
  CHECK(t.connect(kA)->connection_rate == 3);
  CHECK(t.lookup(kA).message_rate == 2);
  clock.advance(1s);  // 60 s: a new unit, every rate from zero
  CHECK(t.lookup(kA).connection_rate == 0);
  auto n = t.connect(kA);
  CHECK(n->connection_rate == 1);
  CHECK(n->count == 3);  // open connections are not a rate
  CHECK(*t.message(kA) == 1);
  CHECK(*t.rcpt(kA) == 1);
}

TEST_CASE("client_table: idle entries expire once their time unit is over", "[anvil]") {
  TestClock clock;
  ClientTable t(clock, 60s);
  t.connect(kA);
  t.disconnect(kA);
  t.connect(kB);  // stays open
  (void)t.message(kA587);
  clock.advance(59s);
  CHECK(t.expire() == 0);
  clock.advance(1s);
  CHECK(t.expire() == 2);
  CHECK(t.size() == 1);
  CHECK(t.lookup(kB).count == 1);
  CHECK(t.lookup(kA).count == 0);
  clock.advance(10min);
  CHECK(t.expire() == 0);  // an open connection is never forgotten
}

TEST_CASE("client_table: a full table makes room from expired entries, else does not count", "[anvil]") {
  TestClock clock;
  ClientTable t(clock, 60s, 2);
  REQUIRE(t.connect(kA));
  REQUIRE(t.connect(kB));
  CHECK_FALSE(t.connect(kA587).has_value());
  CHECK_FALSE(t.message(kA587).has_value());
  CHECK(t.size() == 2);
  CHECK(t.connect(kA)->count == 2);  // known clients are still counted
  t.disconnect(kB);
  clock.advance(61s);
  // kB is idle and its unit is over: the full table drops it for kA587.
  CHECK(t.connect(kA587)->count == 1);
  CHECK(t.size() == 2);
  CHECK(t.lookup(kB).count == 0);
}

TEST_CASE("client_table: a full table scans for expired entries at most once a second", "[anvil]") {
  TestClock clock;
  ClientTable t(clock, 10s, 1);
  REQUIRE(t.connect(kA));
  t.disconnect(kA);
  clock.advance(5s);
  CHECK_FALSE(t.connect(kB).has_value());  // scanned: kA is still in its unit
  clock.advance(5s);                       // kA expires now, but the last scan was 5 s ago
  CHECK(t.connect(kB)->count == 1);
  ClientTable u(clock, 10s, 1);
  REQUIRE(u.connect(kA));
  u.disconnect(kA);
  clock.advance(9500ms);
  CHECK_FALSE(u.connect(kB).has_value());
  clock.advance(600ms);  // expired, but only 0.6 s since the scan
  CHECK_FALSE(u.connect(kB).has_value());
  clock.advance(400ms);
  CHECK(u.connect(kB).has_value());
}

TEST_CASE("client_table: statistics keep each period's peaks and who made them", "[anvil]") {
  TestClock clock;
  ClientTable t(clock, 60s);
  t.connect(kA);
  t.connect(kA);
  t.connect(kB);
  (void)t.message(kB);
  for (int i = 0; i < 5; ++i) (void)t.rcpt(kA587);
  auto s = t.take_stats();
  CHECK(s.count.value == 2);
  CHECK(s.count.ident == "smtp:192.0.2.1");
  CHECK(s.connection_rate.value == 2);
  CHECK(s.message_rate.value == 1);
  CHECK(s.message_rate.ident == "smtp:192.0.2.2");
  CHECK(s.rcpt_rate.value == 5);
  CHECK(s.rcpt_rate.ident == "submission:192.0.2.1");
  CHECK(s.max_size == 3);
  CHECK(s.count.when == clock.wall_now());
  auto next = t.take_stats();
  CHECK(next.count.value == 0);
  CHECK(next.max_size == 0);
}
