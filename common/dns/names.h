#pragma once
// Names and addresses the resolver works with, checked before anything is
// sent: the reverse name of an address (RFC 1035 3.5, RFC 3596 2.5), host
// names as DNS answers may carry them, IP addresses in one canonical text
// form, and the dns_servers list of main.cf.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::dns {

// "192.0.2.1" -> "1.2.0.192.in-addr.arpa"; "2001:db8::1" ->
// "1.0.0.0.…8.b.d.0.1.0.0.2.ip6.arpa". kInvalid for anything that is not an
// address.
Result<std::string> reverse_name(std::string_view address);

// The address in inet_ntop's form ("::ffff:192.0.2.1" stays IPv6, "2001:DB8::1"
// -> "2001:db8::1"), or "" when it is not an IPv4 or IPv6 address.
std::string canonical_address(std::string_view address);
// 4, 6, or 0 when not an address.
int address_family(std::string_view address);

// A host name a PTR or MX answer may hand us and we may print in a log line
// or a Received: header: letters, digits and hyphens in dot-separated labels
// of 1..63 characters, no label starting or ending with a hyphen, at most
// 253 characters, one optional trailing dot (RFC 1123 2.1, as Postfix's
// valid_hostname). Anything else from the DNS is treated as no name at all.
bool valid_hostname(std::string_view name);

// One DNS server of dns_servers: "192.0.2.53", "192.0.2.53:5353",
// "2001:db8::53", "[2001:db8::53]:5353" (port 1..65535, default 53).
struct ServerAddress {
  std::string address;  // canonical text form
  int port = 53;
  bool operator==(const ServerAddress&) const = default;
};
// Parses every item of the list; an empty list is valid (the system's
// /etc/resolv.conf). Names are refused: the resolver cannot look up its own
// servers.
Result<std::vector<ServerAddress>> parse_servers(const std::vector<std::string>& items);
// The list in the form ares_set_servers_ports_csv() reads:
// "192.0.2.53:53,[2001:db8::53]:5353".
std::string servers_csv(const std::vector<ServerAddress>& servers);

}  // namespace tern::dns
