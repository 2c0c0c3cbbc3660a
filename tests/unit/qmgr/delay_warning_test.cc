#include "qmgr/delay_warning.h"

#include <catch2/catch.hpp>

using namespace tern;
using namespace tern::qmgr;
using queue::RcptStatus;

TEST_CASE("delay warning: due once the message is older than delay_warning_time, once per message") {
  queue::Envelope env;
  env.sender = "alice@example.org";
  env.arrival = WallTime(std::chrono::seconds(1000000));
  env.recipients.resize(2);
  auto h4 = std::chrono::hours(4);
  WallTime later = env.arrival + h4 + std::chrono::seconds(1);
  CHECK_FALSE(delay_warning_due(env, later, Duration::zero()));            // off by default
  CHECK_FALSE(delay_warning_due(env, env.arrival + std::chrono::hours(3), h4));  // too young
  CHECK(delay_warning_due(env, later, h4));
  env.recipients[1].status = RcptStatus::kDelayed;  // the report went (before a restart, maybe)
  CHECK_FALSE(delay_warning_due(env, later, h4));
  env.recipients[1].status = RcptStatus::kPending;
  env.sender.clear();  // never a notice to <>
  CHECK_FALSE(delay_warning_due(env, later, h4));
}
