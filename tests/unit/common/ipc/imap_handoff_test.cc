#include "common/ipc/imap_handoff.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

using namespace tern;
using tern::ipc::HandoffRequest;

TEST_CASE("imap_handoff: a request survives format and parse, pipelined bytes and all", "[ipc]") {
  HandoffRequest r;
  r.user = "demo@example.test";
  r.auth_id = 7;
  r.cookie_hex = "00112233445566778899aabbccddeeff";
  r.cpid = 4321;
  r.rip = "192.0.2.7";
  r.lip = "198.51.100.1";
  r.secured = true;
  r.tag = "a001";
  r.pending = std::string("b NOOP\r\nc SELECT \"in\tbox\"\r\n%\0", 30);
  std::string line = r.format();
  CHECK(line.rfind("HANDOFF\tuser=demo@example.test\tauth_id=7\t", 0) == 0);
  CHECK(line.back() == '\n');
  CHECK(line.find('\r') == std::string::npos);
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  auto p = HandoffRequest::parse(line);
  REQUIRE(p.ok());
  CHECK(p->user == r.user);
  CHECK(p->auth_id == 7);
  CHECK(p->cookie_hex == r.cookie_hex);
  CHECK(p->cpid == 4321);
  CHECK(p->rip == r.rip);
  CHECK(p->lip == r.lip);
  CHECK(p->secured);
  CHECK(p->tag == r.tag);
  CHECK(p->pending == r.pending);
}

TEST_CASE("imap_handoff: broken requests are refused", "[ipc]") {
  const char* bad[] = {
      "HELLO\tuser=a\n",
      "HANDOFF\tauth_id=1\tcookie=ab\tcpid=1\n",                    // no user
      "HANDOFF\tuser=a\tauth_id=x\tcookie=ab\tcpid=1\n",            // bad id
      "HANDOFF\tuser=a\tauth_id=1\tcookie=zz\tcpid=1\n",            // cookie not hex
      "HANDOFF\tuser=a\tauth_id=1\tcookie=ab\tcpid=0\n",            // no pid
      "HANDOFF\tuser=a\tauth_id=1\tcookie=ab\tcpid=1\ttag=a b\n",   // a tag with a space
      "HANDOFF\tuser=a\tauth_id=1\tcookie=ab\tcpid=1\tpending=%zz\n",  // bad escape
  };
  for (const char* b : bad) {
    CAPTURE(b);
    CHECK_FALSE(HandoffRequest::parse(b).ok());
  }
  HandoffRequest big;
  big.user = "a";
  big.auth_id = big.cpid = 1;
  big.cookie_hex = "ab";
  big.pending.assign(ipc::kHandoffMaxPending + 1, 'x');
  CHECK(HandoffRequest::parse(big.format()).error().code == Errc::kLimit);
}

TEST_CASE("imap_handoff: a descriptor travels with the first byte of the line", "[ipc]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  Fd rd(pipefd[0]), wr(pipefd[1]);
  auto sent = ipc::send_with_fd(a.get(), "HANDOFF\tx=1\n", wr.get());
  REQUIRE(sent.ok());
  CHECK(*sent == 12);
  wr.reset();  // the receiver's copy keeps the pipe open
  char buf[64];
  Fd got;
  auto n = ipc::recv_with_fd(b.get(), buf, sizeof buf, &got);
  REQUIRE(n.ok());
  CHECK(std::string(buf, *n) == "HANDOFF\tx=1\n");
  REQUIRE(got);
  CHECK(::write(got.get(), "z", 1) == 1);
  char c = 0;
  CHECK(::read(rd.get(), &c, 1) == 1);
  CHECK(c == 'z');
  // A line without a descriptor gives none.
  REQUIRE(::send(a.get(), "x", 1, 0) == 1);
  Fd none;
  n = ipc::recv_with_fd(b.get(), buf, sizeof buf, &none);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  CHECK_FALSE(none);
}
