#include "qmgr/routing.h"

#include <catch2/catch.hpp>

#include "common/table/table.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::qmgr;
using tern::Errc;
using tern::ipc::DeliveryProtocol;
using tern::test::TempDir;

Route deliver(std::string transport, std::string nexthop, DeliveryProtocol p) {
  Route r;
  r.transport = std::move(transport);
  r.nexthop = std::move(nexthop);
  r.protocol = p;
  return r;
}

}  // namespace

TEST_CASE("routing: transport values as Postfix's transport(5) writes them", "[qmgr]") {
  struct Case {
    const char* value;
    Route want;
  };
  Route err;
  err.kind = RouteKind::kError;
  err.dsn = "5.1.2";
  err.text = "no such domain";
  Route err0;
  err0.kind = RouteKind::kError;
  err0.dsn = "5.0.0";
  err0.text = "go away";
  Route drop;
  drop.kind = RouteKind::kDiscard;
  drop.text = "discarded";
  const Case cases[] = {
      {"lmtp:unix:private/deliver", deliver("lmtp", "unix:private/deliver", DeliveryProtocol::kLmtp)},
      {"lmtp:inet:127.0.0.1:24", deliver("lmtp", "inet:127.0.0.1:24", DeliveryProtocol::kLmtp)},
      {"smtp:[mx.example.net]:2525", deliver("smtp", "[mx.example.net]:2525", DeliveryProtocol::kSmtp)},
      {"smtp:example.net", deliver("smtp", "example.net", DeliveryProtocol::kSmtp)},
      {"smtp:", deliver("smtp", "example.org", DeliveryProtocol::kSmtp)},
      {"smtp", deliver("smtp", "example.org", DeliveryProtocol::kSmtp)},
      {":[relay.example.net]", deliver("smtp", "[relay.example.net]", DeliveryProtocol::kSmtp)},
      {"fake:unix:private/x", deliver("fake", "unix:private/x", DeliveryProtocol::kLmtp)},
      {"error:5.1.2 no such domain", err},
      {"error:go away", err0},
      {"discard:", drop},
  };
  for (const auto& c : cases) {
    INFO(c.value);
    auto r = parse_transport_value(c.value, "example.org", "smtp");
    REQUIRE(r.ok());
    CHECK(*r == c.want);
  }
  CHECK(parse_transport_value("lmtp:example.org", "example.org", "smtp").error().code == Errc::kInvalid);
  CHECK(parse_transport_value("../x:foo", "example.org", "smtp").error().code == Errc::kInvalid);
  CHECK(parse_transport_value("smtp:", "", "smtp").error().code == Errc::kInvalid);
}

TEST_CASE("routing: transport_maps first (address, address without extension, domain, .parent, *), then the rest", "[qmgr]") {
  TempDir dir;
  auto t = tern::table::open("texthash:" + dir.write("transport",
                                                     "bob@local.test lmtp:inet:127.0.0.1:24\n"
                                                     "carol@local.test error:5.1.1 gone\n"
                                                     "other.test smtp:[relay.other.test]\n"
                                                     ".sub.test smtp:[sub-relay]\n"));
  REQUIRE(t.ok());
  RoutingSettings s;
  s.transport_maps = {t->get()};
  s.virtual_mailbox_domains = {"local.test"};

  CHECK(route("Bob@Local.Test", s)->nexthop == "inet:127.0.0.1:24");
  CHECK(route("bob+tag@local.test", s)->nexthop == "inet:127.0.0.1:24");
  CHECK(route("carol@local.test", s)->kind == RouteKind::kError);
  CHECK(*route("dave@local.test", s) == deliver("lmtp", "unix:private/deliver", DeliveryProtocol::kLmtp));
  CHECK(route("x@other.test", s)->nexthop == "[relay.other.test]");
  CHECK(route("x@a.b.sub.test", s)->nexthop == "[sub-relay]");
  CHECK(route("x@sub.test", s)->nexthop == "sub.test");  // ".sub.test" is for subdomains only
  CHECK(*route("x@elsewhere.test", s) == deliver("smtp", "elsewhere.test", DeliveryProtocol::kSmtp));

  s.relayhost = "[smarthost.test]:587";
  CHECK(*route("x@elsewhere.test", s) == deliver("smtp", "[smarthost.test]:587", DeliveryProtocol::kSmtp));
  CHECK(route("dave@local.test", s)->transport == "lmtp");  // local domains never go to the relayhost

  auto star = tern::table::open("texthash:" + dir.write("star", "* error:5.7.1 outbound mail is off\n"));
  REQUIRE(star.ok());
  s.transport_maps.push_back(star->get());
  CHECK(route("x@elsewhere.test", s)->dsn == "5.7.1");
  CHECK(route("x@other.test", s)->nexthop == "[relay.other.test]");  // a more specific key wins
}

TEST_CASE("routing: a recipient left in a mydestination domain is unknown, never relayed or sent to our own MX",
          "[qmgr]") {
  TempDir dir;
  RoutingSettings s;
  s.virtual_mailbox_domains = {"local.test"};
  s.mydestination = {"mail.local.test", "localhost"};
  for (bool relay : {false, true}) {
    if (relay) s.relayhost = "[smarthost.test]:587";
    for (const char* a : {"nobody@mail.local.test", "Root@MAIL.local.test", "www-data@localhost"}) {
      auto r = route(a, s);
      REQUIRE(r.ok());
      CHECK(r->kind == RouteKind::kError);
      CHECK(r->dsn == "5.1.1");
      CHECK(r->text == "User unknown in local recipient table");
    }
    CHECK(route("dave@local.test", s)->transport == "lmtp");
    CHECK(route("x@elsewhere.test", s)->kind == RouteKind::kDeliver);
  }
  // transport_maps still come first, as in Postfix.
  auto t = tern::table::open("texthash:" + dir.write("transport", "mail.local.test lmtp:inet:127.0.0.1:24\n"));
  REQUIRE(t.ok());
  s.transport_maps = {t->get()};
  CHECK(route("nobody@mail.local.test", s)->nexthop == "inet:127.0.0.1:24");
}
