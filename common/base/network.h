#pragma once
// An IPv4 or IPv6 network ("192.0.2.0/24", "[2001:db8::]/32", "10.0.0.1"):
// mynetworks and the smtpd limit exceptions, imap-login's
// login_trusted_networks.

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern {

struct Network {
  int family = AF_INET;
  unsigned char addr[16] = {};
  int prefix = 0;
  // Errors name the problem, not the parameter: the caller prefixes it.
  static Result<Network> parse(std::string_view text);
  bool contains(const std::string& address) const;
};

// The local address of a connected socket, in text ("127.0.0.1", "::1");
// "" when it has none (a unix socket) or getsockname fails.
std::string local_address(int fd);

// Turns off Nagle's algorithm on a TCP socket (a no-op that fails quietly
// on anything else: a unix socket, a pipe). For servers that write an
// answer in more than one write(): without it, the last small segment
// waits for the client's delayed ACK (40 ms on Linux) whenever the one
// before it is still unacknowledged.
void set_tcp_nodelay(int fd);

}  // namespace tern
