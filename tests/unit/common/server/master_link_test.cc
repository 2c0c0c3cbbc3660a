#include "common/server/master_link.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"

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

TEST_CASE("master_link: a datagram may carry several records, malformed ones are skipped", "[server]") {
  std::vector<std::pair<log::Level, std::string>> got;
  server::for_each_log_record("<6>t[1]: a\n<4>t[1]: warning: b\nbad\n<6>t[1]: c",
                              [&](log::Level l, std::string_view s) { got.emplace_back(l, std::string(s)); });
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::make_pair(log::Level::kInfo, std::string("t[1]: a")));
  CHECK(got[1] == std::make_pair(log::Level::kWarning, std::string("t[1]: warning: b")));
  CHECK(got[2] == std::make_pair(log::Level::kInfo, std::string("t[1]: c")));
}

namespace {

std::vector<std::string> datagrams(int fd) {
  std::vector<std::string> out;
  char buf[9000];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return out;
    out.emplace_back(buf, static_cast<size_t>(n));
  }
}

}  // namespace

TEST_CASE("master_link: batched lines leave together at the end of the loop turn, in order", "[server]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
  Fd reader(sv[0]), writer(sv[1]);
  {
    event::Loop loop;
    server::log_to_master(writer.get());
    server::batch_logs(loop);
    loop.post([&] {
      log::info("one");
      log::info("two");
      CHECK(datagrams(reader.get()).empty());  // still waiting for the end of the turn
    });
    loop.run_pending();
    auto d = datagrams(reader.get());
    REQUIRE(d.size() == 1);
    CHECK(d[0].find("one\n<6>") != std::string::npos);

    // A warning leaves at once, after what waits.
    loop.post([&] {
      log::info("three");
      log::warning("four");
      auto now = datagrams(reader.get());
      REQUIRE(now.size() == 2);
      CHECK(now[0].find("three") != std::string::npos);
      CHECK(now[1].find("warning: four") != std::string::npos);
    });
    loop.run_pending();

    // A batch never exceeds kMaxLogDatagram: a long turn sends several.
    loop.post([&] {
      for (int i = 0; i < 100; ++i) log::info("%s", std::string(200, 'x').c_str());
    });
    loop.run_pending();
    size_t records = 0;
    for (const auto& g : datagrams(reader.get())) {
      CHECK(g.size() <= server::kMaxLogDatagram);
      server::for_each_log_record(g, [&](log::Level, std::string_view) { records++; });
    }
    CHECK(records == 100);
    server::unbatch_logs();
  }
  log::to_stderr();
}
