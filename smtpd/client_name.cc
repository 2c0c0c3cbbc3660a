// Session start: the client's forward-confirmed reverse name
// (common/dns/client_name.h), then the greeting. As in Postfix, the 220
// waits for the name, so that every log line of the session, "connect
// from" included, and the Received: header carry it; the lookup is bounded
// by dns_timeout and the loop serves other clients meanwhile. Input the
// client sends before the greeting stays unread until then.

#include "common/base/log.h"
#include "smtpd/session.h"

namespace tern::smtpd {

void Session::start() {
  if (settings_.peername_lookup && ctx_.resolver() && !peer_.local && !tls_broken_) {
    name_lookup_ = std::make_unique<dns::ClientNameLookup>(*ctx_.resolver(), peer_.address,
                                                           [this](dns::ClientName n) { name_known(std::move(n)); });
    return;
  }
  greet();
}

void Session::name_known(dns::ClientName n) {
  // Postfix's wording, which fail2ban-style filters read.
  for (const auto& w : n.warnings) log::warning("%s", w.c_str());
  // A temporary failure also gives "unknown"; Postfix keeps the difference
  // for its policies and says it only when asked to.
  if (!n.detail.empty())
    log::debug("client name of %s: unknown (%s%s)", peer_.address.c_str(), n.temporary ? "temporary failure: " : "",
               n.detail.c_str());
  client_name_ = std::move(n.name);
  name_lookup_.reset();  // destroys the lookup whose callback this is: allowed (client_name.h)
  greet();
}

}  // namespace tern::smtpd
