#include "common/auth/client_protocol.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tern::auth;

TEST_CASE("client_protocol: the handshake is Dovecot's, byte for byte", "[auth]") {
  HandshakeInfo h;
  h.mechanisms = {{"PLAIN", {"plaintext"}}, {"LOGIN", {"plaintext"}}};
  h.spid = 4242;
  h.cuid = 7;
  h.cookie_hex = "00112233445566778899aabbccddeeff";
  CHECK(format_client_handshake(h) ==
        "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t4242\nCUID\t7\n"
        "COOKIE\t00112233445566778899aabbccddeeff\nDONE\n");
}

TEST_CASE("client_protocol: parses what Postfix's xsasl_dovecot_server sends", "[auth]") {
  auto v = parse_client_line("VERSION\t1\t0");
  REQUIRE(v.ok());
  CHECK(std::get<ClientVersion>(*v).major == 1);
  CHECK(std::get<ClientCpid>(*parse_client_line("CPID\t31337")).pid == 31337);
  auto a = parse_client_line("AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=192.0.2.1\trip=198.51.100.7\tsecured\tresp=AHUAcA==");
  REQUIRE(a.ok());
  const auto& auth = std::get<AuthCommand>(*a);
  CHECK(auth.id == 1);
  CHECK(auth.mech == "PLAIN");
  CHECK(auth.service == "smtp");
  CHECK(auth.nologin);
  CHECK(auth.secured);
  CHECK(auth.lip == "192.0.2.1");
  CHECK(auth.rip == "198.51.100.7");
  REQUIRE(auth.resp);
  CHECK(*auth.resp == "AHUAcA==");
  auto empty_ip = parse_client_line("AUTH\t2\tLOGIN\tservice=smtp\tnologin\tlip=\trip=");
  REQUIRE(empty_ip.ok());
  CHECK(!std::get<AuthCommand>(*empty_ip).resp);
  auto c = parse_client_line("CONT\t2\tZGVtbw==");
  REQUIRE(c.ok());
  CHECK(std::get<ContCommand>(*c).data == "ZGVtbw==");
  CHECK(std::get<ContCommand>(*parse_client_line("CONT\t2\t")).data.empty());
  CHECK(std::get<CancelCommand>(*parse_client_line("CANCEL\t9")).id == 9);
}

TEST_CASE("client_protocol: refuses broken lines", "[auth]") {
  for (const char* bad : {"", "HELLO", "VERSION\t1", "VERSION\tx\t0", "CPID\t0", "CPID\t-1", "CPID\t1\t2", "AUTH\t1",
                          "AUTH\tx\tPLAIN\tservice=smtp", "AUTH\t1\tPLAIN", "AUTH\t1\tPLAIN\tservice=",
                          "AUTH\t1\tPLAIN\tservice=smtp\tresp=AA==\tsecured", "AUTH\t99999999999\tPLAIN\tservice=smtp",
                          "CONT\t1", "CONT\tx\tAA==", "CANCEL", "auth\t1\tPLAIN\tservice=smtp"}) {
    CAPTURE(bad);
    CHECK(!parse_client_line(bad).ok());
  }
  auto long_resp = parse_client_line("AUTH\t1\tPLAIN\tservice=smtp\tresp=" + std::string(kMaxSaslBase64 + 4, 'A'));
  REQUIRE(!long_resp.ok());
  CHECK(long_resp.error().code == tern::Errc::kLimit);
  CHECK(!parse_client_line(std::string(kClientMaxLine + 1, 'A')).ok());
}

TEST_CASE("client_protocol: replies escape the user and the reason", "[auth]") {
  CHECK(format_ok(3, "demo@example.test") == "OK\t3\tuser=demo@example.test\n");
  CHECK(format_ok(3, "a\tb") == "OK\t3\tuser=a\001tb\n");
  CHECK(format_cont(4, "VXNlcm5hbWU6") == "CONT\t4\tVXNlcm5hbWU6\n");
  CHECK(format_cont(4, "") == "CONT\t4\t\n");
  CHECK(format_fail(5, {"", "demo@example.test", false}) == "FAIL\t5\tuser=demo@example.test\n");
  CHECK(format_fail(6, {"Invalid base64 data in initial response", "", false}) ==
        "FAIL\t6\treason=Invalid base64 data in initial response\n");
  CHECK(format_fail(7, {"x\ny", "", true}) == "FAIL\t7\treason=x\001ny\ttemp\n");
}
