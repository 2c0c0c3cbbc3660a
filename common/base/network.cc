#include "common/base/network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "common/base/strings.h"

namespace tern {

std::string local_address(int fd) {
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return "";
  char buf[INET6_ADDRSTRLEN] = "";
  if (local.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, buf, sizeof buf);
  else if (local.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, buf, sizeof buf);
  return buf;
}

void set_tcp_nodelay(int fd) {
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<Network> Network::parse(std::string_view text) {
  Network n;
  std::string t(trim(text));
  std::string prefix;
  if (auto slash = t.find('/'); slash != std::string::npos) {
    prefix = t.substr(slash + 1);
    t.resize(slash);
  }
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  int max;
  if (inet_pton(AF_INET, t.c_str(), n.addr) == 1) {
    n.family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, t.c_str(), n.addr) == 1) {
    n.family = AF_INET6;
    max = 128;
  } else {
    return invalid("not a network address: " + std::string(text));
  }
  n.prefix = max;
  if (!prefix.empty()) {
    auto p = parse_int(prefix);
    if (!p || *p < 0 || *p > max) return invalid("bad prefix length: " + std::string(text));
    n.prefix = static_cast<int>(*p);
  }
  // Host bits set ("192.0.2.1/24") are a typo Postfix refuses too.
  for (int bit = n.prefix; bit < max; ++bit)
    if (n.addr[bit / 8] & (0x80 >> (bit % 8)))
      return invalid("host bits set in " + std::string(text));
  return n;
}

bool Network::contains(const std::string& address) const {
  unsigned char a[16] = {};
  if (inet_pton(family, address.c_str(), a) != 1) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, addr, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (addr[full] & mask);
}

}  // namespace tern
