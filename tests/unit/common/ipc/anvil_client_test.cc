// The anvil client against a fake anvil on a unix socket in a temporary
// directory, on a real loop with a TestClock: answers in order, failing open
// (never inside request()), the timeout and the retry delay, reconnecting,
// and disconnects that only go to the anvil that counted the connect.
#include "common/ipc/anvil_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace std::chrono_literals;
using ipc::AnvilClient;
using ipc::AnvilCommand;
using ipc::AnvilReply;
using ipc::AnvilRequest;

namespace {

struct FakeAnvil {
  test::TempDir dir;
  std::string path = dir.path() + "/anvil";
  Fd listener;

  FakeAnvil() {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    listener = Fd(s);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(s, 16) == 0);
  }
  // The next client, or -1.
  int accept_one() {
    for (int i = 0; i < 200; ++i) {
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) return fd;
      ::usleep(1000);
    }
    return -1;
  }
};

void send_text(int fd, const std::string& s) {
  REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
}

// Reads what the client sent so far, running the loop for real I/O.
std::string read_some(event::Loop& loop, int fd, size_t want_lines) {
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

const AnvilRequest kConnect{AnvilCommand::kConnect, "smtp", "192.0.2.1"};
const AnvilRequest kMessage{AnvilCommand::kMessage, "smtp", "192.0.2.1"};
const AnvilRequest kDisconnect{AnvilCommand::kDisconnect, "smtp", "192.0.2.1"};

struct Answer {
  bool called = false;
  std::optional<AnvilReply> reply;
};

AnvilClient::Done record(Answer& a) {
  return [&a](const AnvilReply* r) {
    a.called = true;
    if (r) a.reply = *r;
  };
}

void run_until(event::Loop& loop, const bool& flag) {
  for (int i = 0; i < 1000 && !flag; ++i) loop.run_for(1ms);
}

}  // namespace

TEST_CASE("anvil_client: with no anvil, requests fail open later, never inside request()", "[ipc][anvil]") {
  test::TempDir dir;
  TestClock clock;
  event::Loop loop(clock);
  AnvilClient client(loop, dir.path() + "/no-such-socket");
  Answer a;
  CHECK(client.request(kConnect, record(a)) == 0);
  CHECK_FALSE(a.called);
  run_until(loop, a.called);
  CHECK(a.called);
  CHECK_FALSE(a.reply);
}

TEST_CASE("anvil_client: requests are answered in order on one connection", "[ipc][anvil]") {
  FakeAnvil anvil;
  TestClock clock;
  event::Loop loop(clock);
  AnvilClient client(loop, anvil.path);
  Answer a, b;
  uint64_t serial = client.request(kConnect, record(a));
  CHECK(serial != 0);
  CHECK(client.request(kMessage, record(b)) == serial);
  Fd s(anvil.accept_one());
  REQUIRE(s.get() >= 0);
  CHECK(read_some(loop, s.get(), 2) == kConnect.format() + kMessage.format());
  send_text(s.get(), "VERSION\tanvil\t1\t0\nok\tcount=4\trate=9\nok\trate=2\n");
  run_until(loop, b.called);
  REQUIRE(a.reply);
  CHECK(*a.reply->count == 4);
  CHECK(*a.reply->rate == 9);
  REQUIRE(b.reply);
  CHECK(*b.reply->rate == 2);
}

TEST_CASE("anvil_client: an error reply or a bad greeting fails open", "[ipc][anvil]") {
  FakeAnvil anvil;
  TestClock clock;
  event::Loop loop(clock);
  AnvilClient client(loop, anvil.path);
  Answer a;
  client.request(kConnect, record(a));
  Fd s(anvil.accept_one());
  send_text(s.get(), "VERSION\tanvil\t1\t0\nerror\treason=table full\n");
  run_until(loop, a.called);
  CHECK(a.called);
  CHECK_FALSE(a.reply);

  Answer b;
  client.request(kConnect, record(b));  // same connection
  send_text(s.get(), "ok\tcount=1\trate=1\n");
  run_until(loop, b.called);
  CHECK(b.reply);

  FakeAnvil other;
  AnvilClient wrong(loop, other.path);
  Answer c;
  wrong.request(kConnect, record(c));
  Fd t(other.accept_one());
  send_text(t.get(), "VERSION\tanvil\t2\t0\nok\tcount=1\trate=1\n");
  run_until(loop, c.called);
  CHECK(c.called);
  CHECK_FALSE(c.reply);  // another major version: not trusted
}

TEST_CASE("anvil_client: no answer in time fails open, then requests fail at once for a while", "[ipc][anvil]") {
  FakeAnvil anvil;
  TestClock clock;
  event::Loop loop(clock);
  AnvilClient client(loop, anvil.path, 3s);
  Answer a;
  client.request(kConnect, record(a));
  Fd s(anvil.accept_one());
  REQUIRE(s.get() >= 0);
  loop.run_for(5ms);
  CHECK_FALSE(a.called);
  clock.advance(3s);
  run_until(loop, a.called);
  CHECK(a.called);
  CHECK_FALSE(a.reply);
  // Within the retry delay (1 s): no new connection, an answer at once.
  Answer b;
  CHECK(client.request(kConnect, record(b)) == 0);
  run_until(loop, b.called);
  CHECK_FALSE(b.reply);
  clock.advance(1s);
  Answer c;
  CHECK(client.request(kConnect, record(c)) != 0);
  Fd t(anvil.accept_one());
  REQUIRE(t.get() >= 0);
  send_text(t.get(), "VERSION\tanvil\t1\t0\nok\tcount=1\trate=1\n");
  run_until(loop, c.called);
  CHECK(c.reply);
}

TEST_CASE("anvil_client: a disconnect goes only to the connection that counted the connect", "[ipc][anvil]") {
  FakeAnvil anvil;
  TestClock clock;
  event::Loop loop(clock);
  AnvilClient client(loop, anvil.path);
  Answer a;
  uint64_t first = client.request(kConnect, record(a));
  Fd s(anvil.accept_one());
  send_text(s.get(), "VERSION\tanvil\t1\t0\nok\tcount=1\trate=1\n");
  run_until(loop, a.called);
  REQUIRE(a.reply);
  // anvil restarts: the idle connection closes; the next request reconnects.
  s.reset();
  loop.run_for(10ms);
  Answer b;
  uint64_t second = client.request(kConnect, record(b));
  CHECK(second != 0);
  CHECK(second != first);
  Fd t(anvil.accept_one());
  REQUIRE(t.get() >= 0);
  client.send_if(first, kDisconnect);   // the old anvil's connect: dropped
  client.send_if(second, kDisconnect);  // this anvil's: sent
  CHECK(read_some(loop, t.get(), 2) == kConnect.format() + kDisconnect.format());
}
