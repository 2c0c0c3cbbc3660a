#include "common/queue/defer_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "common/base/fd.h"
#include "common/queue/queue_dirs.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::Errc;
using tern::WallTime;
using tern::test::TempDir;

DeferRecord rec(size_t index, std::string address, std::string reason, long long us = 1700000000123456LL) {
  DeferRecord r;
  r.index = index;
  r.address = std::move(address);
  r.status = "4.4.1";
  r.relay = "mx.example.net[192.0.2.7]:25";
  r.reason = std::move(reason);
  r.time = WallTime(std::chrono::microseconds(us));
  return r;
}

std::string log_file(const TempDir& dir) { return path_of(dir.path(), Queue::kDefer, kId); }

void append_raw(const std::string& path, std::string_view bytes) {
  auto fd = tern::open_fd(path, O_WRONLY | O_APPEND);
  REQUIRE(fd.ok());
  REQUIRE(tern::write_all(fd->get(), bytes).ok());
}

}  // namespace

TEST_CASE("defer_log: a record formats to one escaped line and parses back", "[queue][defer_log]") {
  DeferRecord r = rec(3, "bob\t@example.net", "host mx said: 451 4.7.1 try\r\nlater %25");
  r.reply = "451 4.7.1 try later";
  std::string line = format_defer_record(r);
  CHECK(line ==
        "rcpt\tindex=3\taddress=bob%09@example.net\tdsn=4.4.1\trelay=mx.example.net[192.0.2.7]:25"
        "\treason=host mx said: 451 4.7.1 try%0D%0Alater %2525\treply=451 4.7.1 try later"
        "\ttime=1700000000.123456\n");
  auto back = parse_defer_record(line);
  REQUIRE(back.ok());
  CHECK(*back == r);
}

TEST_CASE("defer_log: bad lines are refused", "[queue][defer_log]") {
  const char* bad[] = {
      "",
      "rcpt",
      "rcpt\taddress=a@b\ttime=1.000000",                       // no index
      "rcpt\tindex=1\ttime=1.000000",                           // no address
      "rcpt\tindex=1\taddress=a@b",                             // no time
      "rcpt\tindex=-1\taddress=a@b\ttime=1.000000",
      "rcpt\tindex=01\taddress=a@b\ttime=1.000000",
      "rcpt\tindex=999999999999999999999\taddress=a@b\ttime=1.000000",
      "rcpt\tindex=100000\taddress=a@b\ttime=1.000000",
      "rcpt\tindex=1\taddress=a@b\ttime=1.5",
      "rcpt\tindex=1\taddress=a@b\ttime=x.000000",
      "rcpt\tindex=1\taddress=a%zz@b\ttime=1.000000",
      "other\tindex=1\taddress=a@b\ttime=1.000000",
  };
  for (const char* b : bad) {
    INFO(b);
    CHECK(!parse_defer_record(b).ok());
  }
  CHECK(!parse_defer_record("rcpt\tindex=1\taddress=" + std::string(kMaxDeferLine, 'a') + "\ttime=1.000000").ok());
}

TEST_CASE("defer_log: append, read the latest per recipient, remove", "[queue][defer_log]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  auto none = read_defer_log(dir.path(), kId);
  REQUIRE(!none.ok());
  CHECK(none.error().code == Errc::kNotFound);

  REQUIRE(append_defer_records(dir.path(), kId, {rec(0, "a@x", "first a"), rec(2, "c@x", "first c")}).ok());
  REQUIRE(append_defer_records(dir.path(), kId, {rec(0, "a@x", "second a")}).ok());
  struct stat sb;
  REQUIRE(::stat(log_file(dir).c_str(), &sb) == 0);  // in the hashed subdirectory
  CHECK((sb.st_mode & 0777) == 0600);

  auto log = read_defer_log(dir.path(), kId);
  REQUIRE(log.ok());
  CHECK(log->damaged == 0);
  REQUIRE(log->latest.size() == 2);
  REQUIRE(log->find(0));
  CHECK(log->find(0)->reason == "second a");
  REQUIRE(log->find(2));
  CHECK(log->find(2)->reason == "first c");
  CHECK(log->find(1) == nullptr);
  CHECK(log->find(3) == nullptr);

  REQUIRE(remove_defer_log(dir.path(), kId).ok());
  CHECK(read_defer_log(dir.path(), kId).error().code == Errc::kNotFound);
  CHECK(remove_defer_log(dir.path(), kId).ok());  // already gone
  CHECK(!append_defer_records(dir.path(), "../../etc/passwd", {rec(0, "a@x", "r")}).ok());
  CHECK(!read_defer_log(dir.path(), "../x").ok());
  CHECK(!append_defer_records(dir.path(), kId, {rec(kMaxDeferRecipients, "a@x", "r")}).ok());
}

TEST_CASE("defer_log: a damaged file costs its damaged lines only", "[queue][defer_log]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  REQUIRE(append_defer_records(dir.path(), kId, {rec(0, "a@x", "good a")}).ok());
  // Garbage, a NUL, an over-long line, and a record torn by a crash (no LF).
  append_raw(log_file(dir), std::string("garbage\n\0\0\0\n", 13) + std::string(20000, 'x') + "\n" +
                                "rcpt\tindex=1\taddress=b@x\tdsn=4.0.0\treason=torn");
  auto log = read_defer_log(dir.path(), kId);
  REQUIRE(log.ok());
  CHECK(log->damaged == 4);
  REQUIRE(log->latest.size() == 1);
  CHECK(log->find(0)->reason == "good a");

  // The next append ends the torn line first, so its own record survives.
  REQUIRE(append_defer_records(dir.path(), kId, {rec(1, "b@x", "good b")}).ok());
  log = read_defer_log(dir.path(), kId);
  REQUIRE(log.ok());
  REQUIRE(log->find(1));
  CHECK(log->find(1)->reason == "good b");
  CHECK(log->damaged == 4);

  // Not a regular file: an error, not a hang or a crash.
  REQUIRE(remove_defer_log(dir.path(), kId).ok());
  REQUIRE(::mkfifo(log_file(dir).c_str(), 0600) == 0);
  CHECK(!read_defer_log(dir.path(), kId).ok());
  CHECK(!append_defer_records(dir.path(), kId, {rec(0, "a@x", "r")}).ok());
}

TEST_CASE("defer_log: a long-deferred message's log is compacted to the latest records", "[queue][defer_log]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string reason(1000, 'r');
  int appends = 0;
  for (; appends < 2000; ++appends) {
    REQUIRE(append_defer_records(dir.path(), kId, {rec(0, "a@x", reason + std::to_string(appends)),
                                                   rec(1, "b@x", "b" + std::to_string(appends))})
                .ok());
  }
  struct stat sb;
  REQUIRE(::stat(log_file(dir).c_str(), &sb) == 0);
  CHECK(static_cast<size_t>(sb.st_size) <= kCompactSize + 4096);
  auto log = read_defer_log(dir.path(), kId);
  REQUIRE(log.ok());
  CHECK(log->damaged == 0);
  REQUIRE(log->latest.size() == 2);
  CHECK(log->find(0)->reason == reason + "1999");
  CHECK(log->find(1)->reason == "b1999");
}

TEST_CASE("defer_log: parse_defer_log skips a first line cut by a bounded read", "[queue][defer_log]") {
  std::string a = format_defer_record(rec(0, "a@x", "a"));
  std::string b = format_defer_record(rec(1, "b@x", "b"));
  DeferLog whole = parse_defer_log(a + b);
  CHECK(whole.latest.size() == 2);
  DeferLog cut = parse_defer_log(a.substr(5) + b, true);
  REQUIRE(cut.latest.size() == 1);
  CHECK(cut.latest[0].index == 1);
  CHECK(cut.damaged == 0);
  CHECK(parse_defer_log("").latest.empty());
  CHECK(parse_defer_log("no newline at all").damaged == 1);
}
