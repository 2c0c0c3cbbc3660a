#include "common/base/log.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

struct Captured {
  tern::log::Level level;
  std::string tag, text;
};

// Installs a capturing sink and restores stderr logging at scope exit.
struct CaptureLog {
  std::vector<Captured> lines;
  CaptureLog() {
    tern::log::set_sink([this](tern::log::Level level, std::string_view tag, std::string_view text) {
      lines.push_back({level, std::string(tag), std::string(text)});
    });
  }
  ~CaptureLog() {
    tern::log::to_stderr();
    tern::log::init("tern");
  }
};

}  // namespace

TEST_CASE("log: a sink receives the tag and Postfix's prefixes", "[base]") {
  CaptureLog cap;
  tern::log::init("smtpd");
  std::string tag = "tern/smtpd[" + std::to_string(::getpid()) + "]";
  CHECK(tern::log::tag() == tag);

  tern::log::warning("disk %s", "full");
  tern::log::error("bad %d", 7);
  tern::log::info("plain");
  tern::log::notice("note");
  REQUIRE(cap.lines.size() == 4);
  struct Expect {
    tern::log::Level level;
    const char* text;
  };
  const Expect expect[] = {
      {tern::log::Level::kWarning, "warning: disk full"},
      {tern::log::Level::kError, "error: bad 7"},
      {tern::log::Level::kInfo, "plain"},
      {tern::log::Level::kNotice, "note"},
  };
  for (size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(cap.lines[i].tag == tag);
    CHECK(cap.lines[i].level == expect[i].level);
    CHECK(cap.lines[i].text == expect[i].text);
  }
}

TEST_CASE("log: debug lines appear only when verbose", "[base]") {
  CaptureLog cap;
  tern::log::set_verbose(0);
  tern::log::debug("hidden");
  CHECK(cap.lines.empty());
  tern::log::set_verbose(1);
  tern::log::debug("shown");
  tern::log::set_verbose(0);
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0].text == "shown");
  CHECK(cap.lines[0].level == tern::log::Level::kDebug);
}

TEST_CASE("log: control characters cannot forge extra lines", "[base]") {
  CaptureLog cap;
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"a\nwarning: forged", "a?warning: forged"},
      {"cr\r\n", "cr??"},
      {"tab\there", "tab?here"},
      {std::string("nul\0x", 5), "nul?x"},
      {"del\x7f", "del?"},
      {"utf8 \xc3\xa9", "utf8 \xc3\xa9"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    cap.lines.clear();
    tern::log::write(tern::log::Level::kInfo, c.in);
    REQUIRE(cap.lines.size() == 1);
    CHECK(cap.lines[0].text == c.out);
  }
}

TEST_CASE("log: the syslog name replaces the tag's first part", "[base]") {
  CaptureLog cap;
  tern::log::init("qmgr");
  tern::log::set_syslog_name("tern-out");
  CHECK(tern::log::tag() == "tern-out/qmgr[" + std::to_string(::getpid()) + "]");
  tern::log::set_syslog_name("tern");
}
