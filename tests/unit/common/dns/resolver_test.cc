// The resolver against a responder inside the test (a UDP socket on
// 127.0.0.1 watched by the same loop) that turns each query into a reply
// with the rcode the test chose and no records, or stays silent. Parsing of
// real answers (PTR, A, AAAA, MX, CNAME chains, TCP fallback) is covered by
// tests/integration/test_dns.py against tests/tools/dns_server.py.

#include "common/dns/resolver.h"

#include <ares.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"

using namespace std::chrono_literals;
using tern::dns::Answer;
using tern::dns::Outcome;

namespace {

constexpr auto kLimit = std::chrono::seconds(5);

void init_ares() {
  static const bool done = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS;
  REQUIRE(done);
}

// Answers every query with `rcode` and an empty answer section, or not at all.
struct Responder {
  explicit Responder(tern::event::Loop& loop) {
    fd = tern::Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    socklen_t len = sizeof sin;
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sin), &len) == 0);
    port = ntohs(sin.sin_port);
    watch = tern::event::IoWatch(loop, fd.get(), tern::event::IoWatch::kRead, [this](short) { readable(); });
  }
  void readable() {
    unsigned char buf[512];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 12) return;
    queries++;
    if (silent) return;
    buf[2] |= 0x80;                                           // QR: a response
    buf[3] = static_cast<unsigned char>(0x80 | rcode);        // RA, rcode
    (void)::sendto(fd.get(), buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
  tern::Fd fd;
  tern::event::IoWatch watch;
  int port = 0;
  int rcode = 0;
  bool silent = false;
  int queries = 0;
};

std::unique_ptr<tern::dns::Resolver> make(tern::event::Loop& loop, int port, std::chrono::seconds timeout = 5s) {
  init_ares();
  tern::dns::ResolverOptions o;
  o.servers = {{"127.0.0.1", port}};
  o.timeout = timeout;
  auto r = tern::dns::Resolver::create(loop, o);
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace

TEST_CASE("resolver: NXDOMAIN, NODATA and SERVFAIL are told apart", "[dns]") {
  tern::event::Loop loop;
  Responder server(loop);
  auto resolver = make(loop, server.port);
  struct Case {
    int rcode;
    Outcome outcome;
  };
  for (auto c : {Case{3, Outcome::kNoSuchName}, Case{0, Outcome::kNoData}, Case{2, Outcome::kTemporary},
                 Case{5, Outcome::kTemporary}}) {
    CAPTURE(c.rcode);
    server.rcode = c.rcode;
    std::optional<Answer<tern::dns::MxRecord>> got;
    auto lookup = resolver->mx("example.test", [&](Answer<tern::dns::MxRecord> a) {
      got = std::move(a);
      loop.stop();
    });
    CHECK(loop.run_for(kLimit));
    REQUIRE(got);
    CHECK(got->outcome == c.outcome);
    CHECK(got->records.empty());
    CHECK(tern::dns::is_temporary(got->outcome) == (c.rcode == 2 || c.rcode == 5));
    CHECK_FALSE(lookup.pending());
  }
  CHECK(resolver->pending() == 0);
}

TEST_CASE("resolver: a malformed name is answered NXDOMAIN from the loop, without a query", "[dns]") {
  tern::event::Loop loop;
  Responder server(loop);
  auto resolver = make(loop, server.port);
  std::optional<Answer<std::string>> got;
  auto cb = [&](Answer<std::string> a) {
    got = std::move(a);
    loop.stop();
  };
  for (std::string bad : std::vector<std::string>{"bad name.example", "", "a..b", std::string(300, 'a'), "x\ny", "not-an-address"}) {
    CAPTURE(bad);
    got.reset();
    auto lookup = bad == "not-an-address" ? resolver->ptr(bad, cb) : resolver->addresses(bad, tern::dns::Family::kIpv4, cb);
    CHECK_FALSE(got);  // never from inside the call
    CHECK(loop.run_for(kLimit));
    REQUIRE(got);
    CHECK(got->outcome == Outcome::kNoSuchName);
  }
  CHECK(server.queries == 0);
}

TEST_CASE("resolver: a silent server ends in a timeout at the resolver's bound, on the loop's clock", "[dns]") {
  tern::TestClock clock;
  tern::event::Loop loop(clock);
  Responder server(loop);
  server.silent = true;
  auto resolver = make(loop, server.port, 10s);
  std::optional<Answer<std::string>> got;
  auto lookup = resolver->addresses("mx.example.test", tern::dns::Family::kIpv6, [&](Answer<std::string> a) { got = std::move(a); });
  // Let the query reach the responder.
  for (int i = 0; i < 100 && server.queries == 0; ++i) loop.run_for(10ms);
  CHECK(server.queries >= 1);
  clock.advance(9s);
  loop.run_pending();
  CHECK_FALSE(got);
  clock.advance(1s);
  loop.run_pending();
  REQUIRE(got);
  CHECK(got->outcome == Outcome::kTimeout);
  CHECK(tern::dns::is_temporary(got->outcome));
  CHECK(resolver->pending() == 0);
}

TEST_CASE("resolver: a cancelled lookup never calls back, and its late answer is dropped", "[dns]") {
  tern::event::Loop loop;
  Responder server(loop);
  auto resolver = make(loop, server.port);
  int calls = 0;
  {
    auto lookup = resolver->ptr("192.0.2.1", [&](Answer<std::string>) { calls++; });
    CHECK(lookup.pending());
    CHECK(resolver->pending() == 1);
  }  // destroyed: cancelled
  CHECK(resolver->pending() == 0);
  auto moved = resolver->ptr("192.0.2.2", [&](Answer<std::string>) { calls++; });
  tern::dns::Lookup other = std::move(moved);
  other = tern::dns::Lookup();  // assigning over a pending lookup cancels it
  CHECK(resolver->pending() == 0);
  loop.run_for(300ms);  // the answers arrive and find nobody
  CHECK(server.queries == 2);
  CHECK(calls == 0);
}

TEST_CASE("resolver: a lookup handle outliving its resolver is harmless", "[dns]") {
  tern::event::Loop loop;
  Responder server(loop);
  auto resolver = make(loop, server.port);
  int calls = 0;
  auto lookup = resolver->mx("example.test", [&](Answer<tern::dns::MxRecord>) { calls++; });
  resolver.reset();  // c-ares ends the query with ARES_EDESTRUCTION: no callback
  CHECK_FALSE(lookup.pending());
  lookup.cancel();
  CHECK(calls == 0);
}

TEST_CASE("resolver: a server that refuses the connection gives a temporary failure at once", "[dns]") {
  tern::event::Loop loop;
  int port;
  {
    Responder closed(loop);
    port = closed.port;
  }  // the socket is gone: the port answers ICMP port unreachable
  auto resolver = make(loop, port);
  std::optional<Answer<std::string>> got;
  auto start = std::chrono::steady_clock::now();
  auto lookup = resolver->ptr("127.0.0.1", [&](Answer<std::string> a) {
    got = std::move(a);
    loop.stop();
  });
  CHECK(loop.run_for(kLimit));
  REQUIRE(got);
  CHECK(got->outcome == Outcome::kTemporary);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}
