#include "common/dns/names.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using tern::dns::ServerAddress;

TEST_CASE("names: reverse_name of IPv4 and IPv6 addresses (RFC 1035 3.5, RFC 3596 2.5)", "[dns]") {
  CHECK(*tern::dns::reverse_name("192.0.2.1") == "1.2.0.192.in-addr.arpa");
  CHECK(*tern::dns::reverse_name("127.0.0.1") == "1.0.0.127.in-addr.arpa");
  CHECK(*tern::dns::reverse_name("2001:db8::567:89ab") ==
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  CHECK(*tern::dns::reverse_name("::1") == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
  for (const char* bad : {"", "local", "192.0.2", "192.0.2.256", "1.2.3.4 ", "2001:db8::1::2", "[::1]",
                          "mx.example.test"}) {
    CAPTURE(bad);
    auto r = tern::dns::reverse_name(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == tern::Errc::kInvalid);
  }
  CHECK_FALSE(tern::dns::reverse_name(std::string("127.0.0.1\0.5", 12)));  // a NUL hidden inside
}

TEST_CASE("names: canonical_address gives inet_ntop's form, or empty", "[dns]") {
  CHECK(tern::dns::canonical_address("2001:DB8:0:0::1") == "2001:db8::1");
  CHECK(tern::dns::canonical_address("127.0.0.1") == "127.0.0.1");
  CHECK(tern::dns::canonical_address("::ffff:192.0.2.1") == "::ffff:192.0.2.1");
  CHECK(tern::dns::canonical_address("0127.0.0.1").empty());  // no octal guessing
  CHECK(tern::dns::canonical_address("unknown").empty());
  CHECK(tern::dns::address_family("192.0.2.1") == 4);
  CHECK(tern::dns::address_family("::1") == 6);
  CHECK(tern::dns::address_family("x") == 0);
}

TEST_CASE("names: valid_hostname accepts what may be printed as a client or MX name", "[dns]") {
  struct Case {
    std::string name;
    bool ok;
  };
  const Case cases[] = {
      {"mx.example.test", true},
      {"mx.example.test.", true},
      {"localhost", true},
      {"a-b.c0.example", true},
      {"xn--bcher-kva.example", true},
      {"123.example", true},
      {std::string(63, 'a') + ".example", true},
      {std::string(64, 'a') + ".example", false},
      {"", false},
      {".", false},
      {".example", false},
      {"a..example", false},
      {"-a.example", false},
      {"a-.example", false},
      {"a_b.example", false},
      {"bad name.example", false},
      {"mx.example.test..", false},
      {"evil]\r\nReceived: x", false},
      {std::string("a\0b", 3), false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(tern::dns::valid_hostname(c.name) == c.ok);
  }
  std::string name253;
  while (name253.size() < 250) name253 += "abcdefghi.";  // 250
  name253 += "abc";
  REQUIRE(name253.size() == 253);
  CHECK(tern::dns::valid_hostname(name253));
  CHECK(tern::dns::valid_hostname(name253 + "."));
  CHECK_FALSE(tern::dns::valid_hostname(name253 + "d"));
}

TEST_CASE("names: parse_servers reads dns_servers", "[dns]") {
  auto ok = tern::dns::parse_servers({"192.0.2.53", "127.0.0.1:5353", "2001:DB8::53", "[::1]:5300", "[::1]", " 10.0.0.1 "});
  REQUIRE(ok);
  std::vector<ServerAddress> want = {{"192.0.2.53", 53}, {"127.0.0.1", 5353}, {"2001:db8::53", 53},
                                     {"::1", 5300},      {"::1", 53},         {"10.0.0.1", 53}};
  CHECK(*ok == want);
  CHECK(tern::dns::servers_csv(*ok) ==
        "192.0.2.53:53,127.0.0.1:5353,[2001:db8::53]:53,[::1]:5300,[::1]:53,10.0.0.1:53");
  CHECK(tern::dns::parse_servers({})->empty());

  for (const char* bad : {"ns.example.test", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:53x",
                          "[::1", "[::1]5353", "[127.0.0.1]:53", "::1:53:x", "[::1]:", "1.2.3.4:53:53", ""}) {
    CAPTURE(bad);
    auto r = tern::dns::parse_servers({bad});
    REQUIRE_FALSE(r);
    CHECK(r.error().text.find("dns_servers") == 0);
  }
}
