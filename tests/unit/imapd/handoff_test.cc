// imapd's handoff listener against a real Authd in the same loop: a login
// done on one auth connection (as imap-login does it) is confirmed once
// with REQUEST on another, and only then is the client served; a forged
// cookie gets the client * BYE and imap-login FAIL.
#include "imapd/handoff.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "authd/authd.h"
#include "common/auth/base64.h"
#include "common/ipc/imap_handoff.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace std::chrono_literals;

namespace {

struct Served {
  Fd client;
  imapd::UserInfo user;
  imapd::ClientInfo info;
  std::optional<std::string> tag;
  std::string pending;
};

struct World {
  test::TempDir dir;
  event::Loop loop;
  event::WorkerPool pool{loop, 2};
  std::unique_ptr<authd::Authd> authd;
  Fd listener;
  event::IoWatch accepting;
  std::optional<Served> served;
  int finished = 0;
  std::unique_ptr<imapd::HandoffListener> handoff;

  World() {
    auth::VmailIds ids{static_cast<uid_t>(::getuid()), static_cast<gid_t>(::getgid()), "vmail", "vmail"};
    auto f = auth::PasswdFile::parse("demo@example.test:{PLAIN}secret::::/srv/mail/demo::userdb_quota_rule=*:storage=1G\n",
                                     "users", ids, "", nullptr);
    REQUIRE(f.ok());
    pool.start();
    authd::Settings s;
    s.confirm_uid = static_cast<uid_t>(::getuid());
    authd = std::make_unique<authd::Authd>(loop, pool, std::make_shared<const auth::PasswdFile>(std::move(*f)), s,
                                           [] {});
    std::string path = dir.path() + "/auth";
    listener = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(listener.get(), 8) == 0);
    accepting = event::IoWatch(loop, listener.get(), event::IoWatch::kRead, [this](short) {
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) authd->accept(Fd(fd), authd::Protocol::kClient, "test");
    });
    handoff = std::make_unique<imapd::HandoffListener>(
        loop, path, 5s,
        [this](Fd c, imapd::UserInfo u, imapd::ClientInfo i, std::optional<std::string> t, std::string p) {
          served = Served{std::move(c), std::move(u), std::move(i), std::move(t), std::move(p)};
        },
        [this] { finished++; });
  }
  ~World() {
    handoff.reset();
    authd.reset();
    pool.stop();
  }

  // Reads one line from fd while running the loop; "" on EOF or timeout.
  std::string line(int fd, std::string& buf) {
    for (int i = 0; i < 1000; ++i) {
      size_t nl = buf.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf.substr(0, nl + 1);
        buf.erase(0, nl + 1);
        return l;
      }
      loop.run_for(5ms);
      char tmp[4096];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
      if (n == 0) return "";
      if (n > 0) buf.append(tmp, static_cast<size_t>(n));
    }
    return "";
  }

  // imap-login's side: a login on its own auth connection; the cookie.
  std::string login(Fd* conn) {
    std::string path = dir.path() + "/auth";
    auto fd = ipc::connect_unix(path);
    REQUIRE(fd.ok());
    *conn = std::move(*fd);
    std::string buf, cookie;
    for (std::string l; (l = line(conn->get(), buf)) != "DONE\n";) {
      REQUIRE(!l.empty());
      if (l.rfind("COOKIE\t", 0) == 0) cookie = l.substr(7, 32);
    }
    std::string hello = "VERSION\t1\t2\nCPID\t4242\nAUTH\t3\tPLAIN\tservice=imap\tsecured\tresp=" +
                        auth::base64_encode(std::string("\0demo@example.test\0secret", 25)) + "\n";
    REQUIRE(::send(conn->get(), hello.data(), hello.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(hello.size()));
    CHECK(line(conn->get(), buf) == "OK\t3\tuser=demo@example.test\n");
    return cookie;
  }

  // Hands a client over with the request `r`; returns imapd's reply line
  // and the client's peer end.
  std::string hand_over(const ipc::HandoffRequest& r, Fd* client_peer) {
    int hc[2], cl[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hc) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cl) == 0);
    Fd ours(hc[1]), client(cl[0]);
    *client_peer = Fd(cl[1]);
    handoff->accept(Fd(hc[0]));
    std::string buf;
    CHECK(line(ours.get(), buf) == "VERSION\timap-handoff\t1\t0\n");
    REQUIRE(ipc::send_with_fd(ours.get(), r.format(), client.get()).ok());
    client.reset();
    return line(ours.get(), buf);
  }
};

ipc::HandoffRequest request(const std::string& cookie) {
  ipc::HandoffRequest r;
  r.user = "demo@example.test";
  r.auth_id = 3;
  r.cookie_hex = cookie;
  r.cpid = 4242;
  r.rip = "192.0.2.7";
  r.lip = "127.0.0.1";
  r.secured = true;
  r.tag = "a1";
  r.pending = "a2 NOOP\r\n";
  return r;
}

}  // namespace

TEST_CASE("handoff: a login authd confirms is served once, with its tag and pipelined bytes", "[imapd]") {
  World w;
  Fd auth_conn;
  std::string cookie = w.login(&auth_conn);
  Fd peer;
  CHECK(w.hand_over(request(cookie), &peer) == "OK\n");
  REQUIRE(w.served);
  CHECK(w.served->user.user == "demo@example.test");
  CHECK(w.served->user.home == "/srv/mail/demo");
  CHECK(w.served->user.fields["quota_rule"] == "*:storage=1G");
  CHECK(w.served->info.rip == "192.0.2.7");
  CHECK(w.served->info.secured);
  CHECK(w.served->tag == std::optional<std::string>("a1"));
  CHECK(w.served->pending == "a2 NOOP\r\n");
  // The descriptor is the client's: what imapd writes, the client reads.
  CHECK(::send(w.served->client.get(), "x", 1, MSG_NOSIGNAL) == 1);
  char c = 0;
  CHECK(::recv(peer.get(), &c, 1, 0) == 1);
  CHECK(c == 'x');
  CHECK(w.finished == 0);

  // The same login a second time: authd confirms each login once.
  w.served.reset();
  Fd peer2;
  std::string reply = w.hand_over(request(cookie), &peer2);
  CHECK(reply.rfind("FAIL\t", 0) == 0);
  CHECK_FALSE(w.served);
  char buf[128];
  ssize_t n = ::recv(peer2.get(), buf, sizeof buf, 0);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<size_t>(n)).rfind("* BYE [UNAVAILABLE]", 0) == 0);
}

TEST_CASE("handoff: a forged cookie, another user's name or no descriptor is refused", "[imapd]") {
  World w;
  Fd auth_conn;
  std::string cookie = w.login(&auth_conn);
  Fd peer;
  CHECK(w.hand_over(request(std::string(32, 'f')), &peer).rfind("FAIL\t", 0) == 0);
  auto other = request(cookie);
  other.user = "admin@example.test";
  CHECK(w.hand_over(other, &peer).rfind("FAIL\treason=user mismatch", 0) == 0);
  CHECK_FALSE(w.served);
  // A HANDOFF line without a descriptor.
  int hc[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hc) == 0);
  Fd ours(hc[1]);
  w.handoff->accept(Fd(hc[0]));
  std::string buf;
  CHECK(w.line(ours.get(), buf) == "VERSION\timap-handoff\t1\t0\n");
  std::string l = request(cookie).format();
  REQUIRE(::send(ours.get(), l.data(), l.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(l.size()));
  CHECK(w.line(ours.get(), buf).rfind("FAIL\treason=no client socket", 0) == 0);
  CHECK_FALSE(w.served);
  w.loop.run_for(20ms);
  CHECK(w.finished == 3);
}
