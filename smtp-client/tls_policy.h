#pragma once
// Per-destination TLS policy (smtp_tls_policy_maps), as in Postfix's
// smtp_tls_policy_maps: a table looked up with the next hop as qmgr gave it,
// lower-cased ("example.org", "[mx.example.org]:2525"), then for a domain
// each parent as ".parent" ("sub.example.org" tries ".example.org", then
// ".org"). The first key found wins; none found: smtp_tls_security_level
// and smtp_tls_verify_cert_match.
//
// A value is a level, then attributes:
//   none | may | encrypt | verify | secure (taken as verify)
//   match=NAME:NAME...   names the certificate must match at verify:
//                        "hostname" (the MX host, the default), "nexthop"
//                        (the next hop's domain), a literal name, or
//                        ".domain" (any host below domain)
// Other attributes (protocols=, ciphers=) are accepted and ignored. A value
// that does not parse is an error: the delivery is deferred (4.7.5), never
// sent with less protection than the operator asked for.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "smtp-client/settings.h"

namespace tern::table {
class Table;
}

namespace tern::smtp_client {

struct TlsPolicy {
  TlsLevel level = TlsLevel::kNone;
  std::vector<std::string> match;  // empty: {"hostname"}
};

Result<TlsPolicy> parse_tls_policy(std::string_view value);

// Errc::kTemporary when the table failed; kInvalid for a bad value.
Result<TlsPolicy> tls_policy_for(const Settings& settings, std::string_view nexthop);

// The names a peer's certificate must match for host (the MX host name)
// and nexthop (the next hop's domain or host), from a policy's match list.
std::vector<std::string> match_names(const std::vector<std::string>& match, std::string_view host,
                                     std::string_view nexthop);

}  // namespace tern::smtp_client
