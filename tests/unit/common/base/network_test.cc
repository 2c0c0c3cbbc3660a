#include "common/base/network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace tern {
namespace {

TEST_CASE("Network: addresses, prefixes and containment", "[base][network]") {
  auto v4 = Network::parse("192.0.2.0/24");
  REQUIRE(v4);
  CHECK(v4->contains("192.0.2.77"));
  CHECK_FALSE(v4->contains("192.0.3.1"));
  CHECK_FALSE(v4->contains("::1"));
  auto host = Network::parse("10.0.0.1");
  REQUIRE(host);
  CHECK(host->contains("10.0.0.1"));
  CHECK_FALSE(host->contains("10.0.0.2"));
  auto v6 = Network::parse("[2001:db8::]/32");
  REQUIRE(v6);
  CHECK(v6->contains("2001:db8:1::5"));
  CHECK_FALSE(v6->contains("2001:db9::1"));
  CHECK_FALSE(Network::parse("192.0.2.0/33"));
  CHECK_FALSE(Network::parse("not an address"));
}

TEST_CASE("local_address: the text address a connected socket is bound to", "[base][network]") {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  int server = ::accept(listener, nullptr, nullptr);
  REQUIRE(server >= 0);
  CHECK(local_address(server) == "127.0.0.1");
  CHECK(local_address(client) == "127.0.0.1");
  ::close(server);
  ::close(client);
  ::close(listener);

  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  CHECK(local_address(pair[0]).empty());
  ::close(pair[0]);
  ::close(pair[1]);
  CHECK(local_address(-1).empty());
}

TEST_CASE("set_tcp_nodelay: Nagle off on a TCP socket, harmless on a unix socket", "[base][network]") {
  int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(tcp >= 0);
  int on = -1;
  socklen_t len = sizeof on;
  set_tcp_nodelay(tcp);
  REQUIRE(::getsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0);
  CHECK(on != 0);
  ::close(tcp);
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  set_tcp_nodelay(pair[0]);
  CHECK(::write(pair[0], "x", 1) == 1);
  ::close(pair[0]);
  ::close(pair[1]);
}

}  // namespace
}  // namespace tern
