#include "common/queue/queue_id.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

using tern::queue::is_valid_queue_id;
using tern::queue::kQueueIdLength;
using tern::queue::QueueIdGenerator;
using tern::queue::queue_id_time_us;

TEST_CASE("queue_id: 100k ids from one generator are unique and strictly increasing", "[queue]") {
  QueueIdGenerator gen;
  std::string prev;
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) {
    std::string id = gen.next();
    REQUIRE(is_valid_queue_id(id));
    REQUIRE(id > prev);
    prev = id;
    seen.insert(id);
  }
  CHECK(seen.size() == 100000);
}

TEST_CASE("queue_id: a clock that does not move still gives unique sorted ids", "[queue]") {
  tern::TestClock clock;
  QueueIdGenerator gen(clock, 4242);
  long long start = std::chrono::duration_cast<std::chrono::microseconds>(clock.wall_now().time_since_epoch()).count();
  std::vector<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back(gen.next());
  for (size_t i = 1; i < ids.size(); ++i) REQUIRE(ids[i - 1] < ids[i]);
  CHECK(queue_id_time_us(ids.front()) == start);
  // 256 ids per microsecond, then the generator borrows the next microsecond.
  CHECK(queue_id_time_us(ids[255]) == start);
  CHECK(queue_id_time_us(ids[256]) == start + 1);
  CHECK(queue_id_time_us(ids.back()) == start + 4999 / 256);
}

namespace {

// A wall clock a test can set anywhere, backwards included (NTP steps).
class SettableClock final : public tern::Clock {
 public:
  tern::MonoTime now() const override { return tern::MonoTime{}; }
  tern::WallTime wall_now() const override { return wall; }
  int subscribe(std::function<void()>) override { return 0; }
  void unsubscribe(int) override {}
  tern::WallTime wall{std::chrono::seconds(1'700'000'000)};
};

}  // namespace

TEST_CASE("queue_id: a wall clock stepped back does not make ids go back", "[queue]") {
  SettableClock clock;
  QueueIdGenerator gen(clock, 7);
  std::string before = gen.next();
  long long t = queue_id_time_us(before);
  clock.wall -= std::chrono::hours(1);
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i) ids.push_back(gen.next());
  CHECK(ids.front() > before);
  for (size_t i = 1; i < ids.size(); ++i) REQUIRE(ids[i - 1] < ids[i]);
  CHECK(queue_id_time_us(ids.back()) <= t + 3);  // held at the old time, not an hour back
  clock.wall += std::chrono::hours(2);
  CHECK(queue_id_time_us(gen.next()) == t + 3'600'000'000LL);
}

TEST_CASE("queue_id: generators with different pids never collide", "[queue]") {
  tern::TestClock clock;  // same instant for both: only the pid separates them
  struct Case {
    unsigned a, b;
  };
  for (Case c : {Case{1, 2}, Case{100, 101}, Case{4194303, 4194302}, Case{1, 4194303}, Case{255, 256}}) {
    CAPTURE(c.a, c.b);
    QueueIdGenerator ga(clock, c.a), gb(clock, c.b);
    std::set<std::string> seen;
    for (int i = 0; i < 3000; ++i) {
      REQUIRE(seen.insert(ga.next()).second);
      REQUIRE(seen.insert(gb.next()).second);
    }
  }
}

TEST_CASE("queue_id: the encoded time is the clock's wall time", "[queue]") {
  struct Case {
    long long us;
  };
  for (Case c : {Case{0}, Case{1'700'000'000'123'456}, Case{4'102'444'800'000'000} /* 2100 */,
                 Case{7'258'118'400'000'000} /* 2200: WallTime in ns ends in 2262 */}) {
    CAPTURE(c.us);
    tern::TestClock clock{tern::WallTime(std::chrono::microseconds(c.us))};
    QueueIdGenerator gen(clock, 99);
    std::string id = gen.next();
    CHECK(id.size() == kQueueIdLength);
    CHECK(queue_id_time_us(id) == c.us);
  }
}

TEST_CASE("queue_id: the suffix carries the process's pid by default", "[queue]") {
  tern::TestClock clock;
  QueueIdGenerator by_default(clock), explicit_pid(clock, static_cast<unsigned>(::getpid()));
  CHECK(by_default.next() == explicit_pid.next());
}

TEST_CASE("queue_id: validity checks", "[queue]") {
  struct Case {
    std::string id;
    bool valid;
  };
  const Case cases[] = {
      {"0J2XQ3V5K7A0AB1C0", true},
      {"ZZZZZZZZZZZZZZZZZ", true},
      {"00000000000000000", true},
      {"0J2XQ3V5K7A0AB1C", false},    // short
      {"0J2XQ3V5K7A0AB1C00", false},  // long
      {"0j2xq3v5k7a0ab1c0", false},   // lower case
      {"0J2XQ3V5K7A0AB1CI", false},   // I is not in the alphabet
      {"0J2XQ3V5K7A0AB1CL", false},
      {"0J2XQ3V5K7A0AB1CO", false},
      {"0J2XQ3V5K7A0AB1CU", false},
      {"0J2XQ3V5K7A/AB1C0", false},
      {"", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.id);
    CHECK(is_valid_queue_id(c.id) == c.valid);
    if (!c.valid) CHECK(queue_id_time_us(c.id) == -1);
  }
  QueueIdGenerator gen;
  CHECK(is_valid_queue_id(gen.next()));
}
