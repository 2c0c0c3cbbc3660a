#include "smtpd/client_limits.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/base/clock.h"
#include "common/event/loop.h"

using namespace tern;
using namespace tern::smtpd;
using namespace std::chrono_literals;

namespace {

Result<ClientLimits> load(std::string_view text) {
  auto cf = config::MainCf::parse(text, "main.cf");
  REQUIRE(cf.ok());
  return ClientLimits::load(*cf);
}

}  // namespace

TEST_CASE("client_limits: Postfix's defaults, and exceptions default to mynetworks", "[smtpd]") {
  auto l = load("queue_directory = /q\nmynetworks = 192.0.2.0/24 [2001:db8::]/32\n");
  REQUIRE(l.ok());
  CHECK(l->connection_count == 50);
  CHECK(l->connection_rate == 0);
  CHECK(l->message_rate == 0);
  CHECK(l->rcpt_rate == 0);
  CHECK(l->any());
  CHECK(l->anvil_socket == "/q/private/anvil");
  CHECK(l->exempt("192.0.2.77"));
  CHECK(l->exempt("2001:db8::5"));
  CHECK_FALSE(l->exempt("198.51.100.1"));
  CHECK_FALSE(l->exempt("::ffff:192.0.2.77"));
}

TEST_CASE("client_limits: every limit 0 means anvil is never asked", "[smtpd]") {
  auto l = load("smtpd_client_connection_count_limit = 0\nsmtpd_client_event_limit_exceptions =\n");
  REQUIRE(l.ok());
  CHECK_FALSE(l->any());
  CHECK(l->exceptions.empty());
  SessionLimits s(*l, "smtp", "192.0.2.1");
  CHECK_FALSE(s.counted());
}

TEST_CASE("client_limits: an exempt client or a process without anvil is never counted", "[smtpd]") {
  auto l = load("smtpd_client_message_rate_limit = 5\nsmtpd_client_event_limit_exceptions = 127.0.0.0/8\n");
  REQUIRE(l.ok());
  // No AnvilClient (as in a process whose init has not made one).
  SessionLimits none(*l, "smtp", "192.0.2.1");
  CHECK_FALSE(none.counted());
  CHECK_FALSE(none.limited(RateEvent::kMessage));

  TestClock clock;
  event::Loop loop(clock);
  ipc::AnvilClient anvil(loop, "/nonexistent/private/anvil");
  l->anvil = &anvil;
  SessionLimits exempt(*l, "smtp", "127.0.0.1");
  CHECK_FALSE(exempt.counted());
  SessionLimits other(*l, "smtp", "192.0.2.1");
  CHECK(other.counted());
  CHECK(other.limited(RateEvent::kMessage));
  CHECK_FALSE(other.limited(RateEvent::kRcpt));
  // anvil is away: everything passes (fail open).
  bool connected = false, counted = false;
  other.connect([&](ConnectVerdict v) {
    connected = true;
    CHECK(v.what == ConnectVerdict::What::kAccept);
  });
  other.count(RateEvent::kMessage, [&](bool over, int) {
    counted = true;
    CHECK_FALSE(over);
  });
  for (int i = 0; i < 100 && !(connected && counted); ++i) loop.run_for(1ms);
  CHECK(connected);
  CHECK(counted);
}

TEST_CASE("client_limits: bad values are refused at start", "[smtpd]") {
  CHECK_FALSE(load("smtpd_client_event_limit_exceptions = example.org\n").ok());
  CHECK_FALSE(load("smtpd_client_event_limit_exceptions = 192.0.2.1/24\n").ok());
  CHECK_FALSE(load("smtpd_client_connection_rate_limit = -1\n").ok());
}
