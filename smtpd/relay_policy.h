#pragma once
// Who may send mail where: Postfix's smtpd_relay_restrictions with the
// default permit_mynetworks, permit_sasl_authenticated,
// reject_unauth_destination. A recipient in a local domain
// (virtual_mailbox_domains, mydestination) is accepted from anyone; any
// other domain only from mynetworks or an authenticated client. A local
// recipient whose local part routes elsewhere (%-hack, bang path, quoted
// "@", source route) is treated as a relay attempt: otherwise
// "user%other.example@local" would relay through a later hop.

#include <netinet/in.h>

#include <string>
#include <vector>

#include "common/base/network.h"
#include "common/base/result.h"
#include "common/mail/smtp_path.h"

namespace tern::smtpd {

using tern::Network;  // one mynetworks entry

enum class RelayVerdict {
  kLocal,     // a local domain: accepted (then checked for a mailbox)
  kRelay,     // another domain, from a client allowed to relay
  kDenied,    // 554 5.7.1 Relay access denied
  kRouting,   // a local domain with routing in the local part: 554 5.7.1
};

struct RelayPolicy {
  std::vector<Network> mynetworks;
  std::vector<std::string> local_domains;  // lower case

  bool is_local_domain(const std::string& domain_lower) const;
  bool in_mynetworks(const std::string& address) const;
  RelayVerdict check(const mail::Address& rcpt, const std::string& client_address, bool authenticated) const;
  // reject_unauth_destination's question, whoever the client is: kLocal for
  // a local domain without routing, kRouting with it, kDenied otherwise.
  RelayVerdict destination(const mail::Address& rcpt) const;
};

}  // namespace tern::smtpd
