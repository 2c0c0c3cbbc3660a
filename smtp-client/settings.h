#pragma once
// smtp-client's parameters (main.cf; man/tern.cf.5), one set per dialect:
// smtp_* for SMTP, lmtp_* for LMTP, named and defaulted as Postfix's smtp(8)
// and lmtp(8) name them. A request's protocol= picks the set.

#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "common/base/clock.h"
#include "common/config/main_cf.h"
#include "common/ipc/delivery_protocol.h"
#include "smtp-client/sasl_client.h"

namespace tern::table {
class Table;
}

namespace tern::smtp_client {

// smtp_tls_security_level and the levels of smtp_tls_policy_maps (tls_policy.h).
enum class TlsLevel { kNone, kMay, kEncrypt, kVerify };

struct Settings {
  std::string helo_name;        // smtp_helo_name / lmtp_lhlo_name
  int tcp_port = 25;            // smtp_tcp_port / lmtp_tcp_port
  Duration connect_timeout{};   // 0: the kernel's own limit
  Duration helo_timeout{};      // greeting and EHLO/LHLO
  Duration mail_timeout{};
  Duration rcpt_timeout{};
  Duration data_init_timeout{};
  Duration data_xfer_timeout{};  // each write of the message makes progress within it
  Duration data_done_timeout{};
  Duration rset_timeout{};
  Duration quit_timeout{};
  Duration cache_time_limit{};   // an idle cached session is closed after it
  Duration reuse_time_limit{};   // a session is not reused once this old
  long long reuse_count_limit = 0;  // 0: no limit
  // SMTP only (LMTP: no MX lookup, no TLS).
  bool ipv4 = true, ipv6 = true;     // inet_protocols
  size_t mx_address_limit = 5;       // smtp_mx_address_limit (0: no limit)
  int mx_session_limit = 2;          // smtp_mx_session_limit (0: no limit)
  std::string myhostname;            // lower case: the mail loop check (mx.h)
  TlsLevel tls_level = TlsLevel::kNone;
  std::vector<std::string> tls_match;  // smtp_tls_verify_cert_match
  SSL_CTX* tls_ctx = nullptr;          // made before the drop; not owned; null: no TLS
  const table::Table* tls_policy = nullptr;  // smtp_tls_policy_maps; not owned
  // 8-bit mail to a next hop without 8BITMIME is converted to
  // quoted-printable (RFC 6152 3); disable_mime_output_conversion = yes
  // sends it as it is, as Postfix then does.
  bool mime_output_conversion = true;
  // smtp_sasl_* (SMTP only; null: no AUTH). Loaded while privileged
  // (load_sasl_settings), shared by the process's sessions.
  std::shared_ptr<const SaslSettings> sasl;
};

// "none", "may", "encrypt", "verify" ("secure" is taken as verify).
Result<TlsLevel> parse_tls_level(std::string_view text);
const char* tls_level_name(TlsLevel level);

Settings load_settings(const config::MainCf& cf, ipc::DeliveryProtocol protocol);

// smtp_sasl_*: opens smtp_sasl_password_maps (before the privilege drop,
// so the file may be root's alone). Null when smtp_sasl_auth_enable is no.
Result<std::shared_ptr<const SaslSettings>> load_sasl_settings(const config::MainCf& cf);

}  // namespace tern::smtp_client
