#include "imapd/login/settings.h"

#include <algorithm>

#include "common/base/strings.h"

namespace tern::imap_login {

Result<Settings> Settings::load(const config::MainCf& cf) {
  Settings s;
  s.wrappermode = cf.boolean("imap_tls_wrappermode");
  s.disable_plaintext_auth = cf.boolean("disable_plaintext_auth");
  for (auto& n : cf.list("login_trusted_networks")) {
    auto net = Network::parse(n);
    if (!net) return invalid("login_trusted_networks: " + net.error().text);
    s.trusted_networks.push_back(*net);
  }
  s.login_timeout = cf.seconds("imap_login_timeout");
  if (s.login_timeout.count() <= 0) return invalid("imap_login_timeout: must be positive");
  long long limit = cf.integer("imap_login_client_connection_limit");
  if (limit < 0 || limit > 1000000) return invalid("imap_login_client_connection_limit: 0 (no limit) up to 1000000");
  s.per_ip_limit = static_cast<int>(limit);
  s.tls_cert_file = cf.str("imapd_tls_cert_file");
  s.tls_key_file = cf.str("imapd_tls_key_file");
  std::string protocols(trim(cf.str("imapd_tls_protocols")));
  if (!protocols.starts_with(">=")) return invalid("imapd_tls_protocols: expected >=TLSv1.2 or >=TLSv1.3");
  auto min = tls::parse_min_protocol(trim(std::string_view(protocols).substr(2)));
  if (!min) return make_error(min.error().code, "imapd_tls_protocols: " + min.error().text);
  if (s.tls_cert_file.empty()) {
    // Refuse to serve a port that was promised TLS without it.
    if (s.wrappermode) return invalid("imap_tls_wrappermode = yes needs imapd_tls_cert_file");
  } else {
    tls::ServerOptions o;
    o.cert_file = s.tls_cert_file;
    o.key_file = s.tls_key_file;
    o.min_protocol = *min;
    auto ctx = tls::server_context(o);
    if (!ctx) return ctx.take_error();
    s.tls_ctx = std::move(*ctx);
  }
  std::string q = cf.str("queue_directory");
  s.auth_socket = q + "/login/auth";
  s.handoff_socket = q + "/login/imap";
  return s;
}

bool Settings::trusted(const std::string& address) const {
  return std::any_of(trusted_networks.begin(), trusted_networks.end(),
                     [&](const Network& n) { return n.contains(address); });
}

}  // namespace tern::imap_login
