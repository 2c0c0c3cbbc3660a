// authd's connections over socketpairs, on a real loop and worker pool with
// a TestClock, so the failure delay is checked without sleeping.
#include "authd/authd.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "common/auth/base64.h"
#include "common/base/clock.h"

using namespace tern;
using namespace std::chrono_literals;

namespace {

struct Harness {
  TestClock clock;
  event::Loop loop{clock};
  event::WorkerPool pool{loop, 2};
  std::shared_ptr<const auth::PasswdFile> users;
  std::unique_ptr<authd::Authd> authd;
  int done = 0;

  explicit Harness(authd::FailureLimits limits = {}) {
    auth::VmailIds ids{5000, 5000, "vmail", "vmail"};
    auto f = auth::PasswdFile::parse(
        "demo@example.test:{PLAIN}secret:5000:5000::/srv/mail/demo::userdb_quota_rule=*:storage=1G\n"
        "nopass@example.test::5000:5000::/srv/mail/nopass\n",
        "users", ids, "", nullptr);
    REQUIRE(f.ok());
    users = std::make_shared<const auth::PasswdFile>(std::move(*f));
    pool.start();
    authd::Settings s;
    s.failure_delay = 2s;
    s.failure_limits = limits;
    authd = std::make_unique<authd::Authd>(loop, pool, users, s, [this] { done++; });
  }
  ~Harness() {
    authd.reset();
    pool.stop();
  }

  int connect(authd::Protocol p) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    authd->accept(Fd(sv[0]), p, "test");
    return sv[1];
  }
  // The next line from the peer, running the loop meanwhile; "" on EOF,
  // "<timeout>" if nothing came within `limit` of real time.
  std::string line(int fd, std::string& buf, Duration limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      size_t nl = buf.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf.substr(0, nl + 1);
        buf.erase(0, nl + 1);
        return l;
      }
      if (std::chrono::steady_clock::now() > deadline) return "<timeout>";
      loop.run_for(5ms);
      char tmp[4096];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
      if (n == 0) return "";
      if (n > 0) buf.append(tmp, static_cast<size_t>(n));
    }
  }
  void send(int fd, const std::string& s) { REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == (ssize_t)s.size()); }
};

std::string plain(const std::string& user, const std::string& pw) {
  return auth::base64_encode(std::string("\0", 1) + user + std::string("\0", 1) + pw);
}

void handshake(Harness& h, int fd, std::string& buf) {
  CHECK(h.line(fd, buf) == "VERSION\t1\t2\n");
  CHECK(h.line(fd, buf) == "MECH\tPLAIN\tplaintext\n");
  CHECK(h.line(fd, buf) == "MECH\tLOGIN\tplaintext\n");
  CHECK(h.line(fd, buf).rfind("SPID\t", 0) == 0);
  CHECK(h.line(fd, buf).rfind("CUID\t", 0) == 0);
  CHECK(h.line(fd, buf).size() == 7 + 32 + 1);  // COOKIE\t<32 hex>\n
  CHECK(h.line(fd, buf) == "DONE\n");
  h.send(fd, "VERSION\t1\t0\nCPID\t4321\n");
}

}  // namespace

TEST_CASE("authd: PLAIN succeeds at once, a wrong password fails only after auth_failure_delay", "[authd]") {
  Harness h;
  std::string buf;
  int fd = h.connect(authd::Protocol::kClient);
  handshake(h, fd, buf);
  h.send(fd, "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tresp=" + plain("Demo@Example.Test", "secret") + "\n");
  CHECK(h.line(fd, buf) == "OK\t1\tuser=demo@example.test\n");
  h.send(fd, "AUTH\t2\tPLAIN\tservice=smtp\tnologin\tresp=" + plain("demo@example.test", "wrong") + "\n");
  CHECK(h.line(fd, buf, 300ms) == "<timeout>");
  h.clock.advance(1s);
  CHECK(h.line(fd, buf, 100ms) == "<timeout>");
  h.clock.advance(1s);
  CHECK(h.line(fd, buf) == "FAIL\t2\tuser=demo@example.test\n");
  // An unknown user and a user without a password fail the same way.
  h.send(fd, "AUTH\t3\tPLAIN\tservice=smtp\tresp=" + plain("ghost@example.test", "x") + "\n");
  h.send(fd, "AUTH\t4\tPLAIN\tservice=smtp\tresp=" + plain("nopass@example.test", "x") + "\n");
  CHECK(h.line(fd, buf, 2s) == "<timeout>");  // the dummy ARGON2ID check runs meanwhile
  h.clock.advance(2s);
  std::string a = h.line(fd, buf), b = h.line(fd, buf);
  CHECK(((a == "FAIL\t3\tuser=ghost@example.test\n" && b == "FAIL\t4\tuser=nopass@example.test\n") ||
         (b == "FAIL\t3\tuser=ghost@example.test\n" && a == "FAIL\t4\tuser=nopass@example.test\n")));
  ::close(fd);
}

TEST_CASE("authd: LOGIN over CONT rounds, bad base64 and stray CONT get FAIL with a reason", "[authd]") {
  Harness h;
  std::string buf;
  int fd = h.connect(authd::Protocol::kClient);
  handshake(h, fd, buf);
  h.send(fd, "AUTH\t7\tLOGIN\tservice=smtp\n");
  CHECK(h.line(fd, buf) == "CONT\t7\tVXNlcm5hbWU6\n");
  h.send(fd, "CONT\t7\t" + auth::base64_encode("demo@example.test") + "\n");
  CHECK(h.line(fd, buf) == "CONT\t7\tUGFzc3dvcmQ6\n");
  h.send(fd, "CONT\t7\t" + auth::base64_encode("secret") + "\n");
  CHECK(h.line(fd, buf) == "OK\t7\tuser=demo@example.test\n");
  h.send(fd, "AUTH\t8\tPLAIN\tservice=smtp\tresp=!!!!\n");
  CHECK(h.line(fd, buf) == "FAIL\t8\treason=Invalid base64 data in initial response\n");
  h.send(fd, "CONT\t99\tAAAA\n");
  CHECK(h.line(fd, buf) == "FAIL\t99\treason=Authentication request timed out\n");
  ::close(fd);
}

TEST_CASE("authd: breaking the protocol closes that connection only", "[authd]") {
  Harness h;
  const char* bad[] = {"HELLO\n", "VERSION\t2\t0\n", "VERSION\t1\t0\nAUTH\t1\tPLAIN\tservice=smtp\n",
                       "VERSION\t1\t0\nCPID\t1\nAUTH\t1\tCRAM-MD5\tservice=smtp\n",
                       "VERSION\t1\t0\nCPID\t1\nAUTH\t1\tPLAIN\n"};
  for (const char* b : bad) {
    CAPTURE(b);
    std::string buf;
    int fd = h.connect(authd::Protocol::kClient);
    while (h.line(fd, buf) != "DONE\n") {
    }
    h.send(fd, b);
    CHECK(h.line(fd, buf) == "");  // EOF
    ::close(fd);
  }
  std::string buf;
  int fd = h.connect(authd::Protocol::kClient);
  handshake(h, fd, buf);
  h.send(fd, "AUTH\t1\tPLAIN\tservice=smtp\tresp=" + plain("demo@example.test", "secret") + "\n");
  CHECK(h.line(fd, buf) == "OK\t1\tuser=demo@example.test\n");
  ::close(fd);
}

TEST_CASE("authd: userdb answers USER and confirms a login once with REQUEST", "[authd]") {
  Harness h;
  std::string cbuf, mbuf;
  int c = h.connect(authd::Protocol::kClient);
  std::string cookie;
  for (std::string l; (l = h.line(c, cbuf)) != "DONE\n";)
    if (l.rfind("COOKIE\t", 0) == 0) cookie = l.substr(7, 32);
  h.send(c, "VERSION\t1\t2\nCPID\t4321\n");
  h.send(c, "AUTH\t5\tPLAIN\tservice=imap\tresp=" + plain("demo@example.test", "secret") + "\n");
  CHECK(h.line(c, cbuf) == "OK\t5\tuser=demo@example.test\n");

  int m = h.connect(authd::Protocol::kMaster);
  CHECK(h.line(m, mbuf) == "VERSION\t1\t0\n");
  CHECK(h.line(m, mbuf).rfind("SPID\t", 0) == 0);
  h.send(m, "VERSION\t1\t0\nUSER\t1\tDEMO@example.test\tservice=lmtp\n");
  CHECK(h.line(m, mbuf) ==
        "USER\t1\tdemo@example.test\thome=/srv/mail/demo\tuid=5000\tgid=5000\tquota_rule=*:storage=1G\n");
  h.send(m, "USER\t2\tghost@example.test\tservice=lmtp\n");
  CHECK(h.line(m, mbuf) == "NOTFOUND\t2\n");
  h.send(m, "REQUEST\t3\t4321\t5\t" + std::string(32, '0') + "\n");
  CHECK(h.line(m, mbuf) == "FAIL\t3\n");  // wrong cookie
  h.send(m, "REQUEST\t4\t4321\t5\t" + cookie + "\n");
  CHECK(h.line(m, mbuf) ==
        "USER\t4\tdemo@example.test\thome=/srv/mail/demo\tuid=5000\tgid=5000\tquota_rule=*:storage=1G\n");
  h.send(m, "REQUEST\t5\t4321\t5\t" + cookie + "\n");
  CHECK(h.line(m, mbuf) == "FAIL\t5\n");  // only once
  h.send(m, "CPID\t1\n");
  CHECK(h.line(m, mbuf) == "");
  ::close(m);
  ::close(c);
}

TEST_CASE("authd: imapd confirms imap-login's login with REQUEST on login/auth itself, once", "[authd]") {
  Harness h;
  std::string lbuf, ibuf;
  int login = h.connect(authd::Protocol::kClient);  // imap-login
  std::string cookie;
  for (std::string l; (l = h.line(login, lbuf)) != "DONE\n";)
    if (l.rfind("COOKIE\t", 0) == 0) cookie = l.substr(7, 32);
  h.send(login, "VERSION\t1\t2\nCPID\t4321\n");
  h.send(login, "AUTH\t7\tPLAIN\tservice=imap\tsecured\tresp=" + plain("demo@example.test", "secret") + "\n");
  CHECK(h.line(login, lbuf) == "OK\t7\tuser=demo@example.test\n");

  int imapd = h.connect(authd::Protocol::kClient);  // a second connection: imapd
  for (std::string l; (l = h.line(imapd, ibuf)) != "DONE\n";) REQUIRE(!l.empty());
  h.send(imapd, "VERSION\t1\t2\nCPID\t999\n");
  h.send(imapd, "REQUEST\t1\t4321\t7\t" + std::string(32, 'f') + "\n");
  CHECK(h.line(imapd, ibuf) == "FAIL\t1\n");  // a forged cookie
  h.send(imapd, "REQUEST\t2\t4321\t7\t" + cookie + "\n");
  CHECK(h.line(imapd, ibuf) ==
        "USER\t2\tdemo@example.test\thome=/srv/mail/demo\tuid=5000\tgid=5000\tquota_rule=*:storage=1G\n");
  h.send(imapd, "REQUEST\t3\t4321\t7\t" + cookie + "\n");
  CHECK(h.line(imapd, ibuf) == "FAIL\t3\n");  // only once
  h.send(imapd, "REQUEST\tx\n");
  CHECK(h.line(imapd, ibuf) == "");  // a broken REQUEST closes the connection
  ::close(imapd);
  ::close(login);
}

TEST_CASE("authd: the service name picks the protocol", "[authd]") {
  CHECK(authd::protocol_for_service("auth") == authd::Protocol::kClient);
  CHECK(authd::protocol_for_service("login/auth") == authd::Protocol::kClient);
  CHECK(authd::protocol_for_service("userdb") == authd::Protocol::kMaster);
  CHECK(authd::protocol_for_service("private/auth-userdb") == authd::Protocol::kMaster);
}

TEST_CASE("authd: an address past auth_failure_limit is refused, even with the right password, until the ban ends",
          "[authd]") {
  Harness h({3, 300s, 60s, 100});
  std::string buf;
  int fd = h.connect(authd::Protocol::kClient);
  handshake(h, fd, buf);
  auto auth = [&](int id, const std::string& rip, const std::string& pw) {
    h.send(fd, "AUTH\t" + std::to_string(id) + "\tPLAIN\tservice=smtp\tnologin\trip=" + rip +
                   "\tresp=" + plain("demo@example.test", pw) + "\n");
  };
  auto fails_after_delay = [&](int id) {
    CHECK(h.line(fd, buf, 300ms) == "<timeout>");
    h.clock.advance(2s);
    CHECK(h.line(fd, buf) == "FAIL\t" + std::to_string(id) + "\tuser=demo@example.test\n");
  };
  for (int i = 1; i <= 3; i++) {
    auth(i, "192.0.2.7", "wrong");
    fails_after_delay(i);
  }
  // Refused now: the same FAIL after the same delay, though the password is right.
  auth(4, "192.0.2.7", "secret");
  fails_after_delay(4);
  // Another address is not affected.
  auth(5, "192.0.2.8", "secret");
  CHECK(h.line(fd, buf) == "OK\t5\tuser=demo@example.test\n");
  // The ban (60s) began with the third failure; two delays (4s) have passed
  // since.
  CHECK(h.authd->failures().refused("192.0.2.7"));
  h.clock.advance(54s);
  auth(6, "192.0.2.7", "secret");
  fails_after_delay(6);  // 58s after it began: still refused
  auth(7, "192.0.2.7", "secret");  // 60s: served again
  CHECK(h.line(fd, buf) == "OK\t7\tuser=demo@example.test\n");
  ::close(fd);
}
