#include "common/auth/auth_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/client_protocol.h"
#include "common/base/fd.h"
#include "common/event/loop.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace tern::auth;
using namespace std::chrono_literals;

TEST_CASE("auth_client: parses each line authd's handshake and answers hold", "[auth]") {
  auto v = parse_server_line("VERSION\t1\t2");
  REQUIRE(v.ok());
  CHECK(std::get<ServerVersion>(*v).major == 1);
  CHECK(std::get<ServerVersion>(*v).minor == 2);
  auto m = parse_server_line("MECH\tPLAIN\tplaintext");
  REQUIRE(m.ok());
  CHECK(std::get<ServerMech>(*m).name == "PLAIN");
  CHECK(std::get<ServerMech>(*m).flags == std::vector<std::string>{"plaintext"});
  CHECK(std::get<ServerCookie>(*parse_server_line("COOKIE\t00112233445566778899aabbccddeeff")).hex ==
        "00112233445566778899aabbccddeeff");
  for (const char* line : {"SPID\t123", "CUID\t7", "FUTURE\tx"})
    CHECK(std::holds_alternative<ServerIgnored>(*parse_server_line(line)));
  CHECK(std::holds_alternative<ServerDone>(*parse_server_line("DONE")));
  auto ok = parse_server_line("OK\t3\tuser=demo@example.test\tfoo=bar");
  REQUIRE(ok.ok());
  CHECK(std::get<ServerOk>(*ok).id == 3);
  CHECK(std::get<ServerOk>(*ok).user == "demo@example.test");
  auto cont = parse_server_line("CONT\t4\tVXNlcm5hbWU6");
  REQUIRE(cont.ok());
  CHECK(std::get<ServerCont>(*cont).data == "VXNlcm5hbWU6");
  CHECK(std::get<ServerCont>(*parse_server_line("CONT\t4\t")).data.empty());
  CHECK(std::get<ServerCont>(*parse_server_line("CONT\t4")).data.empty());
  auto fail = parse_server_line("FAIL\t5\treason=no\001tway\tuser=x\ttemp");
  REQUIRE(fail.ok());
  CHECK(std::get<ServerFail>(*fail).id == 5);
  CHECK(std::get<ServerFail>(*fail).reason == "no\tway");
  CHECK(std::get<ServerFail>(*fail).temp);
  CHECK_FALSE(std::get<ServerFail>(*parse_server_line("FAIL\t6")).temp);
}

TEST_CASE("auth_client: refuses broken server lines", "[auth]") {
  for (const char* line : {"", "VERSION\t1", "VERSION\tx\t2", "MECH", "OK", "OK\tx\tuser=a", "OK\t1", "CONT\t1\ta\tb",
                           "FAIL\t-1", "CONT\t99999999999"}) {
    INFO("line: " << line);
    CHECK_FALSE(parse_server_line(line).ok());
  }
  CHECK_FALSE(parse_server_line(std::string(kClientMaxLine + 1, 'A')).ok());
}

TEST_CASE("auth_client: the AUTH line is Postfix's shape with resp last and values escaped", "[auth]") {
  AuthRequest r;
  r.mech = "PLAIN";
  r.local_ip = "192.0.2.1";
  r.remote_ip = "198.51.100.7";
  r.secured = true;
  r.initial = "AGRlbW8AcHc=";
  CHECK(format_auth_line(1, r) ==
        "AUTH\t1\tPLAIN\tservice=smtp\tsecured\tlip=192.0.2.1\trip=198.51.100.7\tresp=AGRlbW8AcHc=");
  AuthRequest login;
  login.mech = "LOGIN";
  login.service = "sm\ttp";
  CHECK(format_auth_line(2, login) == "AUTH\t2\tLOGIN\tservice=sm\001ttp");
  login.initial = "";
  CHECK(format_auth_line(3, login) == "AUTH\t3\tLOGIN\tservice=sm\001ttp\tresp=");
}

namespace {

// A scripted auth server on a unix socket, one connection, on its own
// thread: reads the client's lines and answers each AUTH/CONT from a script.
struct FakeServer {
  std::string path;
  Fd listener;
  std::thread thread;
  std::vector<std::string> received;
  std::vector<std::string> script;  // answers, in order, to the lines after CPID

  explicit FakeServer(const std::string& p, std::vector<std::string> answers) : path(p), script(std::move(answers)) {
    listener = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(listener.get(), 4) == 0);
    thread = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    if (thread.joinable()) thread.join();
  }
  void serve() {
    Fd c(::accept(listener.get(), nullptr, nullptr));
    if (!c) return;
    std::string hello = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\nCOOKIE\tab\nDONE\n";
    (void)!::write(c.get(), hello.data(), hello.size());
    std::string in;
    size_t next = 0;
    char buf[1024];
    for (;;) {
      ssize_t n = ::read(c.get(), buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      size_t eol;
      while ((eol = in.find('\n')) != std::string::npos) {
        std::string line = in.substr(0, eol);
        in.erase(0, eol + 1);
        received.push_back(line);
        if (line.rfind("AUTH\t", 0) == 0 || line.rfind("CONT\t", 0) == 0) {
          if (next >= script.size()) return;
          std::string answer = script[next++] + "\n";
          (void)!::write(c.get(), answer.data(), answer.size());
        }
      }
    }
  }
};

}  // namespace

TEST_CASE("auth_client: a LOGIN exchange relays the server's challenges and ends in OK", "[auth]") {
  test::TempDir dir;
  std::string path = dir.path() + "/auth";
  event::Loop loop;
  std::vector<std::string> challenges;
  std::optional<AuthResult> result;
  {
    FakeServer server(path, {"CONT\t1\tVXNlcm5hbWU6", "CONT\t1\tUGFzc3dvcmQ6", "OK\t1\tuser=demo@example.test"});
    auto client = std::make_unique<AuthClient>(loop, path, 5s);
    AuthRequest r;
    r.mech = "LOGIN";
    r.remote_ip = "192.0.2.9";
    client->begin(r, {[&](std::string c) {
                        challenges.push_back(c);
                        client->respond(challenges.size() == 1 ? "ZGVtbw==" : "cHc=");
                      },
                      [&](AuthResult res) {
                        result = res;
                        loop.stop();
                      }});
    CHECK(client->busy());
    loop.run_for(5s);
    client.reset();  // closes the connection: the server thread ends
  }
  REQUIRE(result);
  CHECK(result->outcome == AuthOutcome::kOk);
  CHECK(result->user == "demo@example.test");
  // What imapd needs to confirm this login with authd's REQUEST.
  CHECK(result->request_id == 1);
  CHECK(result->cookie_hex == "ab");
  CHECK(result->client_pid == static_cast<unsigned>(::getpid()));
  CHECK(challenges == std::vector<std::string>{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"});
}

TEST_CASE("auth_client: FAIL and FAIL temp reach the caller, a second request reuses the connection", "[auth]") {
  test::TempDir dir;
  std::string path = dir.path() + "/auth";
  event::Loop loop;
  std::vector<AuthResult> results;
  std::vector<std::string> received;
  {
    FakeServer server(path, {"FAIL\t1\treason=bad", "FAIL\t2\ttemp"});
    auto client = std::make_unique<AuthClient>(loop, path, 5s);
    AuthRequest r;
    r.mech = "PLAIN";
    r.initial = "AGEAYg==";
    std::function<void(AuthResult)> second = [&](AuthResult res) {
      results.push_back(res);
      loop.stop();
    };
    client->begin(r, {nullptr, [&](AuthResult res) {
                        results.push_back(res);
                        client->begin(r, {nullptr, second});
                      }});
    loop.run_for(5s);
    client.reset();
    server.thread.join();
    received = server.received;
  }
  REQUIRE(results.size() == 2);
  CHECK(results[0].outcome == AuthOutcome::kFail);
  CHECK(results[0].reason == "bad");
  CHECK(results[1].outcome == AuthOutcome::kTempFail);
  REQUIRE(received.size() == 4);
  CHECK(received[0] == "VERSION\t1\t2");
  CHECK(received[1].rfind("CPID\t", 0) == 0);
  CHECK(received[2] == "AUTH\t1\tPLAIN\tservice=smtp\tresp=AGEAYg==");
  CHECK(received[3] == "AUTH\t2\tPLAIN\tservice=smtp\tresp=AGEAYg==");
}

TEST_CASE("auth_client: no server is a temporary failure, reported on the loop and not inside begin()", "[auth]") {
  test::TempDir dir;
  event::Loop loop;
  std::optional<AuthResult> result;
  AuthClient client(loop, dir.path() + "/missing", 5s);
  AuthRequest r;
  r.mech = "PLAIN";
  client.begin(r, {nullptr, [&](AuthResult res) {
                     result = res;
                     loop.stop();
                   }});
  CHECK_FALSE(result);
  loop.run_for(5s);
  REQUIRE(result);
  CHECK(result->outcome == AuthOutcome::kTempFail);
  CHECK(result->reason.find("connect") != std::string::npos);
}
