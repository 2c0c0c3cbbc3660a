#include "common/auth/master_protocol.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tern::auth;

TEST_CASE("master_protocol: handshake and replies are Dovecot's", "[auth]") {
  CHECK(format_master_handshake(77) == "VERSION\t1\t0\nSPID\t77\n");
  CHECK(format_user_reply(1, "demo@example.test",
                          {{"home", "/srv/mail/demo"}, {"uid", "5000"}, {"gid", "5000"}, {"quota_rule", "*:storage=1G"}}) ==
        "USER\t1\tdemo@example.test\thome=/srv/mail/demo\tuid=5000\tgid=5000\tquota_rule=*:storage=1G\n");
  CHECK(format_user_reply(2, "t\tab", {{"home", "/a\tb"}}) == "USER\t2\tt\001tab\thome=/a\001tb\n");
  CHECK(format_notfound(3) == "NOTFOUND\t3\n");
  CHECK(format_master_fail(4) == "FAIL\t4\n");
}

TEST_CASE("master_protocol: parses USER and REQUEST", "[auth]") {
  auto u = parse_master_line("USER\t1\tdemo@example.test\tservice=lmtp\trip=::1");
  REQUIRE(u.ok());
  const auto& user = std::get<UserCommand>(*u);
  CHECK(user.id == 1);
  CHECK(user.user == "demo@example.test");
  CHECK(user.service == "lmtp");
  auto r = parse_master_line("REQUEST\t9\t1234\t5\t00112233445566778899AABBCCDDEEFF\tsession_pid=99");
  REQUIRE(r.ok());
  const auto& req = std::get<RequestCommand>(*r);
  CHECK(req.client_pid == 1234);
  CHECK(req.client_id == 5);
  CHECK(req.cookie_hex == "00112233445566778899aabbccddeeff");
  REQUIRE(req.params.size() == 1);
  CHECK(std::get<MasterVersion>(*parse_master_line("VERSION\t1\t0")).major == 1);
}

TEST_CASE("master_protocol: refuses broken lines", "[auth]") {
  for (const char* bad : {"", "USER\t1", "USER\t1\tdemo", "USER\tx\tdemo\tservice=lmtp", "REQUEST\t1\t2\t3",
                          "REQUEST\t1\t2\t3\tzz", "REQUEST\t1\t2\t3\tabc", "LIST\t1", "CPID\t1"}) {
    CAPTURE(bad);
    CHECK(!parse_master_line(bad).ok());
  }
}
