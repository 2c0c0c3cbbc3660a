#pragma once
// imap-login's settings from main.cf (man/tern.cf.5, "IMAP"): TLS, the
// plaintext-auth policy and the pre-login limits. Loaded while privileged:
// the certificate and key are read here, before the drop into login/.

#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/network.h"
#include "common/base/result.h"
#include "common/config/main_cf.h"
#include "common/tls/tls.h"

namespace tern::imap_login {

struct Settings {
  tls::SslCtxPtr tls_ctx;      // null: no TLS (no STARTTLS, and 993 refuses to start)
  std::string tls_cert_file, tls_key_file;
  bool wrappermode = false;    // imap_tls_wrappermode: TLS from the first byte (993)
  // disable_plaintext_auth (Dovecot's name): LOGIN and AUTHENTICATE only
  // over TLS or from login_trusted_networks.
  bool disable_plaintext_auth = true;
  std::vector<Network> trusted_networks;
  Duration login_timeout = std::chrono::seconds(180);  // imap_login_timeout: the whole pre-login phase
  int per_ip_limit = 50;        // imap_login_client_connection_limit (0: none), per process
  size_t max_command = 8192;    // a pre-login command with its literals
  int max_commands = 50;        // commands before login; then BYE
  int max_bad_commands = 10;    // BAD answers before BYE
  int max_auth_failures = 3;    // failed logins before BYE
  // Paths (outside the jail; main.cc maps them with jail_path).
  std::string auth_socket;     // login/auth
  std::string handoff_socket;  // login/imap
  Duration auth_timeout = std::chrono::seconds(30);
  Duration handoff_timeout = std::chrono::seconds(20);

  static Result<Settings> load(const config::MainCf& cf);
  bool trusted(const std::string& address) const;
};

}  // namespace tern::imap_login
