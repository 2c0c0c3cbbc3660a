#include "smtpd/relay_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "common/base/strings.h"

namespace tern::smtpd {

bool RelayPolicy::is_local_domain(const std::string& domain_lower) const {
  return std::find(local_domains.begin(), local_domains.end(), domain_lower) != local_domains.end();
}

bool RelayPolicy::in_mynetworks(const std::string& address) const {
  return std::any_of(mynetworks.begin(), mynetworks.end(), [&](const Network& n) { return n.contains(address); });
}

RelayVerdict RelayPolicy::check(const mail::Address& rcpt, const std::string& client_address,
                                bool authenticated) const {
  bool trusted = authenticated || in_mynetworks(client_address);
  if (rcpt.is_postmaster) return RelayVerdict::kLocal;  // RFC 5321 4.5.1
  if (!rcpt.is_address_literal && is_local_domain(rcpt.domain_lower)) {
    // Routing inside a local address is relaying by another name; a trusted
    // client may still do it (Postfix: allow_untrusted_routing = no).
    if (mail::has_routing_tricks(rcpt) && !trusted) return RelayVerdict::kRouting;
    return RelayVerdict::kLocal;
  }
  return trusted ? RelayVerdict::kRelay : RelayVerdict::kDenied;
}

RelayVerdict RelayPolicy::destination(const mail::Address& rcpt) const {
  if (rcpt.is_postmaster) return RelayVerdict::kLocal;  // RFC 5321 4.5.1
  if (rcpt.is_address_literal || !is_local_domain(rcpt.domain_lower)) return RelayVerdict::kDenied;
  return mail::has_routing_tricks(rcpt) ? RelayVerdict::kRouting : RelayVerdict::kLocal;
}

}  // namespace tern::smtpd
