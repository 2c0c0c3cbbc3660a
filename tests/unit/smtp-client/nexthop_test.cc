#include "smtp-client/nexthop.h"

#include <catch2/catch.hpp>

using namespace tern;
using namespace tern::smtp_client;

TEST_CASE("nexthop: LMTP next hops") {
  auto lmtp = ipc::DeliveryProtocol::kLmtp;
  auto u = parse_nexthop(lmtp, "unix:private/deliver", 24);
  REQUIRE(u);
  CHECK(u->kind == Nexthop::Kind::kUnix);
  CHECK(u->path == "private/deliver");
  struct Case {
    const char* text;
    const char* host;
    int port;
    int family;
  };
  Case cases[] = {
      {"inet:127.0.0.1:2424", "127.0.0.1", 2424, 4},
      {"inet:[::1]:24", "::1", 24, 6},
      {"inet:lmtp.example.org:2003", "lmtp.example.org", 2003, 0},
      {"inet:lmtp.example.org", "lmtp.example.org", 24, 0},
      {"127.0.0.1:2525", "127.0.0.1", 2525, 4},
      {"inet:[IPv6:2001:DB8::1]", "2001:db8::1", 24, 6},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto h = parse_nexthop(lmtp, c.text, 24);
    REQUIRE(h);
    CHECK(h->kind == Nexthop::Kind::kInet);
    CHECK(h->host == c.host);
    CHECK(h->port == c.port);
    CHECK(h->family == c.family);
  }
  const char* bad[] = {"unix:", "unix:/etc/passwd", "unix:../x", "unix:private/../../x", "inet:", "inet:host:0",
                       "inet:host:65536", "inet:host:x", "inet:::1:24", "inet:bad_host!:24", "inet:[::1"};
  for (const char* b : bad) {
    INFO(b);
    CHECK_FALSE(parse_nexthop(lmtp, b, 24));
  }
}

TEST_CASE("nexthop: SMTP next hops: [host] without MX lookup, a domain with it") {
  auto smtp = ipc::DeliveryProtocol::kSmtp;
  auto a = parse_nexthop(smtp, "[127.0.0.2]:2525", 25);
  REQUIRE(a);
  CHECK(a->kind == Nexthop::Kind::kInet);
  CHECK(a->port == 2525);
  auto b = parse_nexthop(smtp, "[mail.example.org]", 25);
  REQUIRE(b);
  CHECK(b->kind == Nexthop::Kind::kInet);
  CHECK(b->host == "mail.example.org");
  CHECK(b->port == 25);
  auto d = parse_nexthop(smtp, "example.org", 25);
  REQUIRE(d);
  CHECK(d->kind == Nexthop::Kind::kDomain);
  auto dp = parse_nexthop(smtp, "example.org:587", 25);
  REQUIRE(dp);
  CHECK(dp->kind == Nexthop::Kind::kDomain);
  CHECK(dp->port == 587);
  CHECK_FALSE(parse_nexthop(smtp, "192.0.2.1", 25));  // an address needs brackets
  CHECK_FALSE(parse_nexthop(smtp, "[]", 25));
  CHECK_FALSE(parse_nexthop(smtp, "[x]junk", 25));
}
