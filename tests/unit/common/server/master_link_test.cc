#include "common/server/master_link.h"

#include <catch2/catch.hpp>

using namespace tern;

TEST_CASE("master_link: every status message parses back to itself", "[server]") {
  for (auto s : {server::ChildStatus::kReady, server::ChildStatus::kServed, server::ChildStatus::kFull,
                 server::ChildStatus::kAvail}) {
    server::ChildStatus back;
    REQUIRE(server::parse_status(server::status_name(s), &back));
    CHECK(back == s);
  }
  server::ChildStatus out;
  CHECK_FALSE(server::parse_status("", &out));
  CHECK_FALSE(server::parse_status("ready\n", &out));
  CHECK_FALSE(server::parse_status("overload=1", &out));
}

TEST_CASE("master_link: a log datagram carries the priority, tag and text", "[server]") {
  std::string d = server::format_log_datagram(log::Level::kWarning, "tern/smtpd[42]", "warning: x");
  CHECK(d == "<4>tern/smtpd[42]: warning: x");
  log::Level level;
  std::string_view rest;
  REQUIRE(server::parse_log_datagram(d, &level, &rest));
  CHECK(level == log::Level::kWarning);
  CHECK(rest == "tern/smtpd[42]: warning: x");
}

TEST_CASE("master_link: malformed log datagrams are rejected, emergency levels are capped at crit", "[server]") {
  log::Level level;
  std::string_view rest;
  for (std::string_view bad : {"", "<", "<4", "<4>", "4>x", "<9>x", "<a>x", "[4]x"}) {
    INFO(bad);
    CHECK_FALSE(server::parse_log_datagram(bad, &level, &rest));
  }
  // A child cannot page the administrator with emerg/alert.
  REQUIRE(server::parse_log_datagram("<0>t: x", &level, &rest));
  CHECK(level == log::Level::kCrit);
}
