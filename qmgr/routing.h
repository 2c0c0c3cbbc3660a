#pragma once
// Routing: which delivery agent takes a recipient, and where it sends it
// (DESIGN.md, "The queue"). In Postfix's order:
//
//   1. transport_maps, looked up with the full address (lower-cased), then
//      the address without its extension (user+ext@domain -> user@domain,
//      recipient_delimiter), then the domain, then each parent domain as
//      ".parent" (sub.example.com tries ".example.com", then ".com"), then
//      "*". The first table that has a key wins; a table that fails (not
//      "not found") makes the route a temporary failure.
//   2. a domain in virtual_mailbox_domains: virtual_transport
//      (default lmtp:unix:private/deliver, lmtp-deliver through smtp-client)
//   2a. a domain in mydestination: bounced, 5.1.1 "User unknown in local
//      recipient table". Such a domain has no mailboxes, only alias_maps
//      entries (smtpd refuses other names at RCPT); a recipient there that
//      is left after alias expansion (sendmail to an unknown local name, an
//      alias that names itself) has nowhere to go, and sending it to
//      relayhost or to the MX of our own name would loop.
//   3. relayhost, when set: default_transport's agent with relayhost as the
//      next hop
//   4. default_transport (default smtp) with the recipient's domain.
//
// A value is "transport:nexthop", as in Postfix's transport(5):
//   lmtp:unix:private/deliver   LMTP over a unix socket (inside the agent's chroot)
//   lmtp:inet:host:port         LMTP over TCP
//   smtp:[host]:port            SMTP to that host, no MX lookup
//   smtp:domain                 SMTP to the domain's MX hosts
//   smtp:                       an empty next hop: the recipient's domain
//   :[host]                     an empty transport: default_transport's
//   error:5.1.2 text            bounced at once with that text (5.0.0 when
//                               it starts with no enhanced status code)
//   discard:text                marked delivered without delivery
// The transport is the name of the master.cf service qmgr connects to:
// queue_directory/private/<transport>. Its dialect (the delivery request's
// protocol) is LMTP for the transport "lmtp" and for a next hop written
// "unix:..." or "inet:...", SMTP otherwise.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/ipc/delivery_protocol.h"

namespace tern::table {
class Table;
}

namespace tern::qmgr {

struct RoutingSettings {
  std::vector<const table::Table*> transport_maps;  // owned by the caller
  std::vector<std::string> virtual_mailbox_domains;  // lower case
  std::vector<std::string> mydestination;            // lower case
  std::string virtual_transport = "lmtp:unix:private/deliver";
  std::string relayhost;
  std::string default_transport = "smtp";
  std::string recipient_delimiter = "+";
};

enum class RouteKind { kDeliver, kError, kDiscard };

struct Route {
  RouteKind kind = RouteKind::kDeliver;
  std::string transport;  // master.cf service name (kDeliver)
  std::string nexthop;    // as the agent takes it (kDeliver)
  ipc::DeliveryProtocol protocol = ipc::DeliveryProtocol::kSmtp;
  std::string dsn;        // kError: the enhanced status code
  std::string text;       // kError: the reason; kDiscard: the log text
  bool operator==(const Route&) const = default;
};

// Errc::kTemporary when a table lookup failed; kInvalid for a value that
// names no transport or an empty next hop that cannot be filled.
Result<Route> route(std::string_view address, const RoutingSettings& settings);

// "transport:nexthop" -> a Route, with the recipient's domain for an empty
// next hop and default_transport's name for an empty transport.
Result<Route> parse_transport_value(std::string_view value, std::string_view domain,
                                    std::string_view default_transport);

// A transport name as master.cf services are named (letters, digits, '-',
// '_', '.'); anything else could name a path outside private/.
bool valid_transport_name(std::string_view name);

}  // namespace tern::qmgr
