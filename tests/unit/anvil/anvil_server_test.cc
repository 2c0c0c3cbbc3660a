// anvil's server over socketpairs, on a real loop with a TestClock: the
// golden transcript, release of a closed connection's counts, statistics.
#include "anvil/anvil_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

using namespace tern;
using namespace std::chrono_literals;

namespace {

struct Harness {
  TestClock clock;
  event::Loop loop{clock};
  std::unique_ptr<anvil::AnvilServer> server;
  int done = 0;

  explicit Harness(anvil::Settings s = {}) {
    server = std::make_unique<anvil::AnvilServer>(loop, s, [this] { done++; });
  }
  ~Harness() { server.reset(); }

  struct Peer {
    int fd = -1;
    std::string buf;
    ~Peer() {
      if (fd >= 0) ::close(fd);
    }
  };
  std::unique_ptr<Peer> connect() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    server->accept(Fd(sv[0]));
    auto p = std::make_unique<Peer>();
    p->fd = sv[1];
    return p;
  }
  // The next line from anvil, running the loop meanwhile; "" on EOF.
  std::string line(Peer& p, Duration limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      size_t nl = p.buf.find('\n');
      if (nl != std::string::npos) {
        std::string l = p.buf.substr(0, nl);
        p.buf.erase(0, nl + 1);
        return l;
      }
      if (std::chrono::steady_clock::now() > deadline) return "<timeout>";
      loop.run_for(2ms);
      char tmp[4096];
      ssize_t n = ::recv(p.fd, tmp, sizeof tmp, MSG_DONTWAIT);
      if (n == 0) return "";
      if (n > 0) p.buf.append(tmp, static_cast<size_t>(n));
    }
  }
  std::string ask(Peer& p, const std::string& request) {
    std::string s = request + "\n";
    REQUIRE(::send(p.fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
    return line(p);
  }
};

}  // namespace

TEST_CASE("anvil_server: replays the golden transcript", "[anvil]") {
  std::ifstream f(std::string(TERN_SOURCE_DIR) + "/tests/data/anvil.transcript");
  REQUIRE(f.good());
  Harness h;
  auto p = h.connect();
  std::string l;
  int exchanges = 0;
  while (std::getline(f, l)) {
    if (l.empty() || l[0] == '#') continue;
    REQUIRE(l.size() > 2);
    std::string text = l.substr(2);
    if (l[0] == '>') {
      std::string s = text + "\n";
      REQUIRE(::send(p->fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
    } else {
      REQUIRE(l[0] == '<');
      CHECK(h.line(*p) == text);
      exchanges++;
    }
  }
  CHECK(exchanges > 10);
}

TEST_CASE("anvil_server: a closed connection releases every connection it counted", "[anvil]") {
  Harness h;
  auto smtpd1 = h.connect();
  auto smtpd2 = h.connect();
  REQUIRE(h.line(*smtpd1).starts_with("VERSION\tanvil\t1\t"));
  REQUIRE(h.line(*smtpd2).starts_with("VERSION\tanvil\t1\t"));
  CHECK(h.ask(*smtpd1, "connect\tservice=smtp\tclient=192.0.2.1") == "ok\tcount=1\trate=1");
  CHECK(h.ask(*smtpd1, "connect\tservice=smtp\tclient=192.0.2.1") == "ok\tcount=2\trate=2");
  CHECK(h.ask(*smtpd2, "connect\tservice=smtp\tclient=192.0.2.1") == "ok\tcount=3\trate=3");
  // smtpd2 cannot disconnect what smtpd1 counted.
  CHECK(h.ask(*smtpd2, "disconnect\tservice=smtp\tclient=192.0.2.1") == "ok");
  CHECK(h.ask(*smtpd2, "disconnect\tservice=smtp\tclient=192.0.2.1") == "ok");
  CHECK(h.ask(*smtpd2, "lookup\tservice=smtp\tclient=192.0.2.1") == "ok\tcount=2\trate=3\tmessage_rate=0\trcpt_rate=0");
  // smtpd1's process dies: its two connections are released at once.
  ::close(smtpd1->fd);
  smtpd1->fd = -1;
  for (int i = 0; i < 100 && h.done == 0; ++i) h.loop.run_for(2ms);
  CHECK(h.done == 1);
  CHECK(h.server->connections() == 1);
  CHECK(h.ask(*smtpd2, "lookup\tservice=smtp\tclient=192.0.2.1") == "ok\tcount=0\trate=3\tmessage_rate=0\trcpt_rate=0");
}

TEST_CASE("anvil_server: rates restart after the time unit, idle clients expire", "[anvil]") {
  anvil::Settings s;
  s.time_unit = 10s;
  Harness h(s);
  auto p = h.connect();
  REQUIRE(h.line(*p).starts_with("VERSION"));
  CHECK(h.ask(*p, "message\tservice=smtp\tclient=192.0.2.1") == "ok\trate=1");
  CHECK(h.ask(*p, "message\tservice=smtp\tclient=192.0.2.1") == "ok\trate=2");
  h.clock.advance(10s);
  CHECK(h.server->table().size() == 0);  // the expiry timer ran on the jump
  CHECK(h.ask(*p, "message\tservice=smtp\tclient=192.0.2.1") == "ok\trate=1");
}

TEST_CASE("anvil_server: a hostile line ends only that connection", "[anvil]") {
  Harness h;
  auto bad = h.connect();
  auto good = h.connect();
  REQUIRE(h.line(*bad).starts_with("VERSION"));
  REQUIRE(h.line(*good).starts_with("VERSION"));
  std::string flood(tern::ipc::kAnvilMaxLine * 3, 'x');
  (void)::send(bad->fd, flood.data(), flood.size(), MSG_NOSIGNAL);
  CHECK(h.line(*bad) == "");  // closed
  CHECK(h.ask(*good, "connect\tservice=smtp\tclient=192.0.2.1") == "ok\tcount=1\trate=1");
}

TEST_CASE("anvil_server: statistics lines read as Postfix's anvil writes them", "[anvil]") {
  anvil::Stats s;
  CHECK(anvil::stats_lines(s, 60s).empty());
  s.connection_rate = {12, "smtp:192.0.2.1", WallTime(std::chrono::seconds(1'700'000'000))};
  s.count = {5, "smtp:192.0.2.1", WallTime(std::chrono::seconds(1'700'000'000))};
  s.max_size = 17;
  s.max_size_when = WallTime(std::chrono::seconds(1'700'000'000));
  auto lines = anvil::stats_lines(s, 60s);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].starts_with("statistics: max connection rate 12/60s for (smtp:192.0.2.1) at "));
  CHECK(lines[1].starts_with("statistics: max connection count 5 for (smtp:192.0.2.1) at "));
  CHECK(lines[2].starts_with("statistics: max cache size 17 at "));
}

TEST_CASE("anvil_server: one connection counts at most kMaxHeldPerConnection connections", "[anvil]") {
  Harness h;
  auto p = h.connect();  // serial 1
  const int cap = anvil::AnvilServer::kMaxHeldPerConnection;
  for (int i = 0; i < cap; ++i) {
    auto r = h.server->handle(1, "connect\tservice=smtp\tclient=192.0.2." + std::to_string(i % 200));
    REQUIRE(r.ok);
  }
  auto over = h.server->handle(1, "connect\tservice=smtp\tclient=192.0.2.1");
  CHECK_FALSE(over.ok);
  CHECK(over.reason == "too many connections counted");
  CHECK(h.server->handle(1, "disconnect\tservice=smtp\tclient=192.0.2.1").ok);
  CHECK(h.server->handle(1, "connect\tservice=smtp\tclient=192.0.2.1").ok);  // room again
  CHECK(h.server->table().lookup({"smtp", "192.0.2.1"}).count == cap / 200);
}
