#pragma once
// smtpd's parameters, read once per process from main.cf (and -o overrides).
// Every name is in the parameter table (common/config/params.cc) and
// documented in tern.cf(5).

#include <chrono>
#include <string>
#include <vector>

#include "common/config/main_cf.h"
#include "common/queue/cleanup.h"
#include "smtpd/client_limits.h"
#include "smtpd/recipient_check.h"
#include "common/tls/tls.h"
#include "smtpd/relay_policy.h"
#include "smtpd/restrictions.h"
#include "smtpd/sender_login.h"

namespace tern::smtpd {

struct Settings {
  std::string myhostname;
  std::string mail_name;
  std::string banner;                 // smtpd_banner, after "220 "
  std::chrono::seconds timeout{300};  // smtpd_timeout: per command, per read in DATA
  std::chrono::seconds data_timeout{1800};  // smtpd_data_timeout: the whole DATA phase
  int hard_error_limit = 20;          // smtpd_hard_error_limit
  bool peername_lookup = true;        // smtpd_peername_lookup: the client's forward-confirmed name
  size_t line_limit = 2048;           // line_length_limit: a command line
  unsigned long long message_size_limit = 52428800;  // 0 = unlimited
  int recipient_limit = 1000;         // smtpd_recipient_limit
  bool normalize_bare_newlines = false;  // smtpd_forbid_bare_newline = normalize
  bool vrfy_enabled = false;          // disable_vrfy_command = no
  // TLS (RFC 3207, RFC 8314): the context is built before the drop.
  enum class TlsLevel { kNone, kMay, kEncrypt };
  TlsLevel tls_level = TlsLevel::kMay;  // smtpd_tls_security_level
  bool wrappermode = false;             // smtpd_tls_wrappermode: TLS from the first byte
  std::string tls_cert_file, tls_key_file;
  int tls_min_protocol = TLS1_2_VERSION;  // smtpd_tls_protocols
  tls::SslCtxPtr tls_ctx;               // null: STARTTLS not offered
  // AUTH (RFC 4954) through authd, only over TLS.
  bool sasl_enabled = false;            // smtpd_sasl_auth_enable
  bool sasl_required = false;           // smtpd_sasl_auth_required: AUTH before MAIL (RFC 6409 4.3)
  std::string auth_socket;              // queue_directory/private/auth, as seen after the drop
  std::chrono::seconds auth_timeout{30};
  SenderLogins sender_logins;           // smtpd_sender_login_maps
  RelayPolicy relay;
  Restrictions restrictions;  // the smtpd_*_restrictions lists
  ClientLimits limits;  // per-client counts and rates, through anvil
  queue::CleanupSettings cleanup;
  RecipientDirectory directory;
  queue::AliasSettings aliases;  // views of directory's tables

  static Result<Settings> load(const config::MainCf& cf);
};

}  // namespace tern::smtpd
