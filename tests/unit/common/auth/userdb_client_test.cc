// UserdbClient (the persistent, pipelined userdb connection) against a fake
// authd on a unix socket in a temporary directory, on a real loop with a
// TestClock: one handshake for many lookups answered in order, failures
// never inside lookup(), a cancelled lookup, the one resend after authd
// closed the connection, and the timeout.
#include "common/auth/userdb_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "common/base/fd.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace std::chrono_literals;
using auth::UserdbClient;
using auth::UserdbReply;
using auth::UserdbStatus;

namespace {

struct FakeAuthd {
  test::TempDir dir;
  std::string path = dir.path() + "/userdb";
  Fd listener;

  FakeAuthd() {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    listener = Fd(s);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(s, 16) == 0);
  }
  // The next client, or -1; runs the loop meanwhile (the client reconnects
  // from it).
  int accept_one(event::Loop& loop) {
    for (int i = 0; i < 500; ++i) {
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) return fd;
      loop.run_for(1ms);
    }
    return -1;
  }
};

void send_text(int fd, const std::string& s) {
  REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
}

std::string read_lines(event::Loop& loop, int fd, size_t want_lines) {
  std::string got;
  for (int i = 0; i < 500; ++i) {
    loop.run_for(1ms);
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    size_t lines = 0;
    for (char c : got) lines += c == '\n';
    if (lines >= want_lines) break;
  }
  return got;
}

struct Answer {
  bool called = false;
  UserdbReply reply;
};

std::function<void(UserdbReply)> record(Answer& a) {
  return [&a](UserdbReply r) {
    a.called = true;
    a.reply = std::move(r);
  };
}

void run_until(event::Loop& loop, const bool& flag) {
  for (int i = 0; i < 1000 && !flag; ++i) loop.run_for(1ms);
}

}  // namespace

TEST_CASE("userdb_client: with no authd, a lookup fails temporarily later, never inside lookup()", "[auth]") {
  test::TempDir dir;
  TestClock clock;
  event::Loop loop(clock);
  UserdbClient client(loop, dir.path() + "/no-such-socket", 10s);
  Answer a;
  auto h = client.lookup("demo@example.test", "smtp", record(a));
  CHECK_FALSE(a.called);
  run_until(loop, a.called);
  CHECK(a.called);
  CHECK(a.reply.status == UserdbStatus::kTempFail);
  CHECK_FALSE(a.reply.reason.empty());
}

TEST_CASE("userdb_client: lookups share one connection and one handshake, answered in order", "[auth]") {
  FakeAuthd authd;
  TestClock clock;
  event::Loop loop(clock);
  UserdbClient client(loop, authd.path, 10s);
  Answer a, b, c;
  auto ha = client.lookup("demo@example.test", "smtp", record(a));
  auto hb = client.lookup("nobody@example.test", "smtp", record(b));
  auto hc = client.lookup("odd\tname@example.test", "smtp", record(c));
  Fd s(authd.accept_one(loop));
  REQUIRE(s.get() >= 0);
  CHECK(read_lines(loop, s.get(), 4) ==
        "VERSION\t1\t0\n"
        "USER\t1\tdemo@example.test\tservice=smtp\n"
        "USER\t2\tnobody@example.test\tservice=smtp\n"
        "USER\t3\todd\001tname@example.test\tservice=smtp\n");  // Dovecot's tab escape
  send_text(s.get(), "VERSION\t1\t0\nSPID\t42\nUSER\t1\tdemo@example.test\thome=/h\nNOTFOUND\t2\nFAIL\t3\n");
  run_until(loop, c.called);
  CHECK(a.reply.status == UserdbStatus::kFound);
  CHECK(a.reply.fields["home"] == "/h");
  CHECK(b.reply.status == UserdbStatus::kNotFound);
  CHECK(c.reply.status == UserdbStatus::kTempFail);
  // The next lookup goes out on the same connection, without a handshake.
  Answer d;
  auto hd = client.lookup("demo@example.test", "smtp", record(d));
  CHECK(read_lines(loop, s.get(), 1) == "USER\t4\tdemo@example.test\tservice=smtp\n");
  send_text(s.get(), "USER\t4\tdemo@example.test\n");
  run_until(loop, d.called);
  CHECK(d.reply.status == UserdbStatus::kFound);
}

TEST_CASE("userdb_client: a cancelled lookup's reply is taken off the connection and dropped", "[auth]") {
  FakeAuthd authd;
  TestClock clock;
  event::Loop loop(clock);
  UserdbClient client(loop, authd.path, 10s);
  Answer a, b;
  auto ha = client.lookup("a@example.test", "smtp", record(a));
  auto hb = client.lookup("b@example.test", "smtp", record(b));
  Fd s(authd.accept_one(loop));
  read_lines(loop, s.get(), 3);
  ha.reset();
  send_text(s.get(), "VERSION\t1\t0\nUSER\t1\ta@example.test\nNOTFOUND\t2\n");
  run_until(loop, b.called);
  CHECK_FALSE(a.called);
  CHECK(b.reply.status == UserdbStatus::kNotFound);
}

TEST_CASE("userdb_client: a lookup waiting when authd closes is sent once more on a new connection", "[auth]") {
  FakeAuthd authd;
  TestClock clock;
  event::Loop loop(clock);
  UserdbClient client(loop, authd.path, 10s);
  Answer a;
  auto ha = client.lookup("demo@example.test", "smtp", record(a));
  {
    Fd s(authd.accept_one(loop));
    read_lines(loop, s.get(), 2);
  }  // closed without an answer: authd restarting
  Fd s2(authd.accept_one(loop));
  REQUIRE(s2.get() >= 0);
  CHECK(read_lines(loop, s2.get(), 2) == "VERSION\t1\t0\nUSER\t1\tdemo@example.test\tservice=smtp\n");
  CHECK_FALSE(a.called);
  { Fd gone(std::move(s2)); }  // closed again: now it fails
  run_until(loop, a.called);
  CHECK(a.reply.status == UserdbStatus::kTempFail);
}

TEST_CASE("userdb_client: no answer within the timeout fails every waiting lookup, and the next reconnects", "[auth]") {
  FakeAuthd authd;
  TestClock clock;
  event::Loop loop(clock);
  UserdbClient client(loop, authd.path, 10s);
  Answer a, b;
  auto ha = client.lookup("a@example.test", "smtp", record(a));
  auto hb = client.lookup("b@example.test", "smtp", record(b));
  Fd s(authd.accept_one(loop));
  read_lines(loop, s.get(), 3);
  clock.advance(11s);
  run_until(loop, b.called);
  CHECK(a.reply.status == UserdbStatus::kTempFail);
  CHECK(b.reply.status == UserdbStatus::kTempFail);
  Answer c;
  auto hc = client.lookup("c@example.test", "smtp", record(c));
  Fd s2(authd.accept_one(loop));
  REQUIRE(s2.get() >= 0);
  CHECK(read_lines(loop, s2.get(), 2) == "VERSION\t1\t0\nUSER\t3\tc@example.test\tservice=smtp\n");
}
