#pragma once
// The next hop of a delivery request (common/ipc/delivery_protocol.h), as
// smtp-client reaches it:
//
//   LMTP  unix:PATH          a socket inside the chroot (private/deliver)
//         inet:HOST:PORT     HOST a name, an IPv4 address or [IPv6]
//         inet:HOST          port lmtp_tcp_port (24)
//         HOST:PORT, HOST    as inet: (Postfix's lmtp accepts these too)
//   SMTP  [HOST]:PORT        no MX lookup (RFC 5321 5.1 does not apply)
//         [HOST]             port smtp_tcp_port (25)
//         [ipv6:ADDR]        the address literal spelling of RFC 5321 4.1.3
//         DOMAIN[:PORT]      MX lookup (mx.h)
//
// A HOST that is not an address must be a valid host name (dns/names.h).

#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/ipc/delivery_protocol.h"

namespace tern::smtp_client {

struct Nexthop {
  enum class Kind { kUnix, kInet, kDomain };
  Kind kind = Kind::kInet;
  std::string path;      // kUnix: relative to the chroot
  std::string host;      // kInet, kDomain: a name or an address (no brackets)
  int port = 0;
  int family = 0;        // 4 or 6 when host is an address, else 0
  std::string text;      // as the request gave it (the TLS policy's key)
};

Result<Nexthop> parse_nexthop(ipc::DeliveryProtocol protocol, std::string_view text, int default_port);

}  // namespace tern::smtp_client
