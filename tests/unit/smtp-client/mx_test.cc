#include "smtp-client/mx.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "common/table/table.h"
#include "smtp-client/tls_policy.h"

using namespace tern;
using namespace tern::smtp_client;

TEST_CASE("mx: ordered by preference, equal preferences shuffled") {
  std::vector<dns::MxRecord> in{{20, "c.test"}, {10, "a.test"}, {10, "b.test"}, {30, "d.test"}};
  std::mt19937 rng(1);
  bool a_first = false, b_first = false;
  for (int i = 0; i < 64; ++i) {
    auto out = order_mx(in, rng);
    REQUIRE(out.size() == 4);
    CHECK(out[0].preference == 10);
    CHECK(out[1].preference == 10);
    CHECK(out[2].exchange == "c.test");
    CHECK(out[3].exchange == "d.test");
    a_first = a_first || out[0].exchange == "a.test";
    b_first = b_first || out[0].exchange == "b.test";
  }
  CHECK(a_first);
  CHECK(b_first);
}

TEST_CASE("mx: null MX (RFC 7505)") {
  CHECK(is_null_mx({{0, ""}}));
  CHECK_FALSE(is_null_mx({{10, ""}}));
  CHECK_FALSE(is_null_mx({{0, ""}, {10, "mx.test"}}));
  CHECK_FALSE(is_null_mx({{0, "mx.test"}}));
}

TEST_CASE("mx: an MX that is myhostname keeps only the better ones, or loops") {
  bool loops = false;
  std::vector<dns::MxRecord> ordered{{10, "a.test"}, {20, "Me.Test"}, {20, "b.test"}, {30, "c.test"}};
  auto kept = drop_self(ordered, "me.test", loops);
  CHECK_FALSE(loops);
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].exchange == "a.test");
  kept = drop_self({{10, "me.test"}, {20, "b.test"}}, "me.test", loops);
  CHECK(loops);
  CHECK(kept.empty());
  kept = drop_self(ordered, "other.test", loops);
  CHECK_FALSE(loops);
  CHECK(kept.size() == 4);
}

TEST_CASE("tls policy: levels and match=") {
  auto p = parse_tls_policy("verify match=hostname:nexthop:.example.org protocols=!SSLv3");
  REQUIRE(p);
  CHECK(p->level == TlsLevel::kVerify);
  CHECK(p->match == std::vector<std::string>{"hostname", "nexthop", ".example.org"});
  CHECK(parse_tls_policy("none")->level == TlsLevel::kNone);
  CHECK(parse_tls_policy("secure")->level == TlsLevel::kVerify);
  CHECK_FALSE(parse_tls_policy("dane"));
  CHECK_FALSE(parse_tls_policy(""));
  CHECK_FALSE(parse_tls_policy("may bogus"));
  CHECK_FALSE(parse_tls_policy("verify match="));
  auto names = match_names({"hostname", "nexthop", "dot-nexthop", "x.test"}, "MX1.Example.ORG", "example.org:2525");
  CHECK(names == std::vector<std::string>{"mx1.example.org", "example.org", ".example.org", "x.test"});
  CHECK(match_names({}, "mx.test", "[relay.test]:587") == std::vector<std::string>{"mx.test"});
  CHECK(match_names({"nexthop"}, "mx.test", "[relay.test]:587") == std::vector<std::string>{"relay.test"});
}

TEST_CASE("tls policy: without a table, the defaults") {
  Settings s;
  s.tls_level = TlsLevel::kMay;
  s.tls_match = {"hostname"};
  auto p = tls_policy_for(s, "example.org");
  REQUIRE(p);
  CHECK(p->level == TlsLevel::kMay);
}

TEST_CASE("tls policy: smtp_tls_policy_maps by next hop, then parent domains") {
  char dir[] = "/tmp/tern-tls-policy.XXXXXX";
  REQUIRE(::mkdtemp(dir));
  std::string path = std::string(dir) + "/policy";
  {
    std::ofstream f(path);
    f << "example.org verify match=nexthop\n"
      << ".example.net encrypt\n"
      << "[relay.test]:587 verify\n"
      << "bad.test dane\n";
  }
  auto table = table::open("texthash:" + path);
  REQUIRE(table);
  Settings s;
  s.tls_level = TlsLevel::kMay;
  s.tls_match = {"hostname"};
  s.tls_policy = table->get();
  auto p = tls_policy_for(s, "Example.ORG");
  REQUIRE(p);
  CHECK(p->level == TlsLevel::kVerify);
  CHECK(p->match == std::vector<std::string>{"nexthop"});
  p = tls_policy_for(s, "example.org:2525");
  REQUIRE(p);
  CHECK(p->level == TlsLevel::kVerify);
  p = tls_policy_for(s, "mx.sub.example.net");
  REQUIRE(p);
  CHECK(p->level == TlsLevel::kEncrypt);
  CHECK(p->match == std::vector<std::string>{"hostname"});
  p = tls_policy_for(s, "[relay.test]:587");
  REQUIRE(p);
  CHECK(p->level == TlsLevel::kVerify);
  p = tls_policy_for(s, "other.test");
  REQUIRE(p);
  CHECK(p->level == TlsLevel::kMay);
  CHECK_FALSE(tls_policy_for(s, "bad.test"));
  std::remove(path.c_str());
  ::rmdir(dir);
}
