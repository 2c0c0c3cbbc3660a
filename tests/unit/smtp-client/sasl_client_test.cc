#include "smtp-client/sasl_client.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "common/auth/base64.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace tern::smtp_client;

namespace {

mail::Reply reply(int code, std::string text) {
  mail::Reply r;
  r.code = code;
  r.lines.push_back(std::to_string(code) + " " + text);
  return r;
}

std::string b64(std::string_view s) { return auth::base64_encode(s); }

SaslLogin login(std::string u, std::string p) {
  SaslLogin l;
  l.user = std::move(u);
  l.password = std::move(p);
  return l;
}

}  // namespace

TEST_CASE("sasl client: PLAIN sends the credentials as an initial response and succeeds on 235") {
  SaslClient c("PLAIN", login("alice", "s3:cret"));
  CHECK(c.first_command() == "AUTH PLAIN " + b64(std::string("\0alice\0s3:cret", 14)) + "\r\n");
  CHECK(c.on_reply(reply(235, "2.7.0 Authentication successful")).kind == SaslClient::Step::Kind::kSuccess);
}

TEST_CASE("sasl client: PLAIN answers an empty 334 with the credentials once") {
  SaslClient c("PLAIN", login("alice", "pw"));
  auto s = c.on_reply(reply(334, ""));
  CHECK(s.kind == SaslClient::Step::Kind::kSend);
  CHECK(s.line == b64(std::string("\0alice\0pw", 9)) + "\r\n");
  CHECK(c.on_reply(reply(334, "")).kind == SaslClient::Step::Kind::kFailure);
}

TEST_CASE("sasl client: LOGIN sends the user name, then the password, on two challenges") {
  SaslClient c("LOGIN", login("bob@example.org", "pw"));
  CHECK(c.first_command() == "AUTH LOGIN\r\n");
  auto s1 = c.on_reply(reply(334, b64("Username:")));
  CHECK((s1.kind == SaslClient::Step::Kind::kSend && s1.line == b64("bob@example.org") + "\r\n"));
  auto s2 = c.on_reply(reply(334, b64("Password:")));
  CHECK((s2.kind == SaslClient::Step::Kind::kSend && s2.line == b64("pw") + "\r\n"));
  auto s3 = c.on_reply(reply(334, b64("More:")));
  CHECK((s3.kind == SaslClient::Step::Kind::kFailure && !s3.why.empty()));
}

TEST_CASE("sasl client: a refusal or a malformed challenge is a failure") {
  SaslClient c("LOGIN", login("u", "p"));
  auto s = c.on_reply(reply(535, "5.7.8 Error: authentication failed"));
  CHECK((s.kind == SaslClient::Step::Kind::kFailure && s.why.empty()));
  SaslClient d("LOGIN", login("u", "p"));
  auto t = d.on_reply(reply(334, "not*base64!"));
  CHECK((t.kind == SaslClient::Step::Kind::kFailure && !t.why.empty()));
}

TEST_CASE("sasl client: the mechanism is chosen by the options, the filter and the server's list") {
  SaslOptions tls;  // noanonymous only
  auto plain_text = parse_sasl_options({"noplaintext, noanonymous"});
  REQUIRE(plain_text);
  CHECK(choose_mechanism({"LOGIN", "PLAIN", "CRAM-MD5"}, tls, {}) == "PLAIN");
  CHECK(choose_mechanism({"LOGIN"}, tls, {}) == "LOGIN");
  CHECK(choose_mechanism({"CRAM-MD5"}, tls, {}).empty());
  CHECK(choose_mechanism({"LOGIN", "PLAIN"}, *plain_text, {}).empty());
  CHECK(choose_mechanism({"LOGIN", "PLAIN"}, tls, {"LOGIN"}) == "LOGIN");
  CHECK_FALSE(parse_sasl_options({"noplaintext", "bogus"}));
  for (const char* w : {"noactive", "nodictionary", "mutual_auth"}) {
    auto o = parse_sasl_options({w});
    REQUIRE(o);
    CHECK_FALSE(o->plaintext_allowed());
  }
}

TEST_CASE("sasl client: logins are looked up by next hop, then without the port, then by host") {
  CHECK(sasl_lookup_keys("[smtp.example]:587", "smtp.example") ==
        std::vector<std::string>{"[smtp.example]:587", "[smtp.example]", "smtp.example"});
  CHECK(sasl_lookup_keys("example.org", "mx1.example.org") == std::vector<std::string>{"example.org", "mx1.example.org"});
  CHECK(sasl_lookup_keys("[ipv6:::1]:25", "") == std::vector<std::string>{"[ipv6:::1]:25", "[ipv6:::1]"});

  test::TempDir dir;
  std::string path = dir.path() + "/sasl_passwd";
  std::ofstream(path) << "[relay.example]:587 alice:pa:ss\nexample.org bob:pw\nbroken.example nocolon\n";
  auto t = table::open("texthash:" + path);
  REQUIRE(t);
  SaslSettings s;
  s.enable = true;
  s.maps.push_back(std::move(*t));
  auto a = s.lookup("[relay.example]:587", "relay.example");
  REQUIRE(a);
  CHECK((a->user == "alice" && a->password == "pa:ss"));
  auto b = s.lookup("example.org", "mx1.example.org");
  REQUIRE(b);
  CHECK(b->user == "bob");
  CHECK(s.lookup("[other.example]:25", "other.example").error().code == Errc::kNotFound);
  CHECK(s.lookup("broken.example", "").error().code == Errc::kInvalid);
}
