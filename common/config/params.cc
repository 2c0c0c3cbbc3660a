#include "common/config/params.h"

#include <algorithm>
#include <cctype>

#include "build_paths.h"

namespace tern::config {

namespace {

using T = ParamType;

// The one list of main.cf parameters. Keep man/tern.cf.5 in step: a unit
// test fails for any name here that the man page does not document.
std::vector<ParamDef> make_table() {
  std::vector<ParamDef> t = {
      // Paths and accounts.
      {"config_directory", build::kConfigDir, T::kString,
       "directory holding main.cf and master.cf (set by -c DIR or MAIL_CONFIG)"},
      {"queue_directory", "/var/spool/tern", T::kString,
       "root of the mail queue and of the private/, public/ and login/ sockets; the default chroot jail"},
      {"daemon_directory", build::kDaemonDir, T::kString,
       "directory of the daemon programs that master.cf commands name"},
      {"command_directory", build::kSbinDir, T::kString, "directory of the administrative commands"},
      {"data_directory", "/var/lib/tern", T::kString,
       "directory for files Tern writes outside the queue (caches, pid of master)"},
      {"mail_owner", "tern", T::kString,
       "account that owns the queue and runs services with unpriv=y in master.cf"},
      {"auth_owner", "tern-auth", T::kString, "account authd runs as; the only reader of passwd_file"},
      {"login_owner", "tern-login", T::kString, "account imap-login runs as; it owns nothing"},
      {"vmail_owner", "vmail", T::kString,
       "account that owns every Maildir; lmtp-deliver and imapd run as it"},
      {"private_group", "tern-priv", T::kString, "group allowed to use the sockets in private/"},
      {"login_group", "tern-login", T::kString, "group allowed to use the sockets in login/"},
      {"setgid_group", "terndrop", T::kString,
       "group that owns maildrop/; terndrop is set-gid to it"},

      // Host identity and the mail this host accepts.
      {"myhostname", kComputedDefault, T::kString,
       "fully-qualified name of this host, used in greetings and Received: headers"},
      {"mydomain", kComputedDefault, T::kString,
       "domain of this host: myhostname without its first label"},
      {"myorigin", "$myhostname", T::kString,
       "domain appended to local submissions whose addresses have none"},
      {"mydestination", "$myhostname, localhost.$mydomain, localhost", T::kList,
       "the host's own names; their local parts exist only through alias_maps"},
      {"inet_interfaces", "all", T::kList,
       "addresses inet services listen on when master.cf names no host (all = every address)"},
      {"inet_protocols", "all", T::kList, "address families used for listening and for outgoing SMTP",
       "all ipv4 ipv6"},
      {"mynetworks", "127.0.0.0/8 [::1]/128", T::kList,
       "trusted client networks, allowed to relay without authentication"},
      {"virtual_mailbox_domains", "", T::kList,
       "domains whose users have mailboxes here, delivered over LMTP to lmtp-deliver"},
      {"virtual_mailbox_base", "", T::kString,
       "root of the mail store; relative home directories in passwd_file are taken below it"},
      {"passwd_file", "$config_directory/users", T::kString,
       "Dovecot-compatible passwd-file of users, their password hashes and homes"},
      {"auth_failure_delay", "2s", T::kTime,
       "how long authd delays the answer to a failed login (Dovecot's auth_failure_delay), with a timer"},
      {"auth_failure_limit", "10", T::kInt,
       "failed logins from one client address within auth_failure_window before authd refuses it (0: never)"},
      {"auth_failure_window", "5m", T::kTime, "the period over which authd counts an address's failed logins"},
      {"auth_failure_ban_time", "10m", T::kTime,
       "how long authd refuses an address that reached auth_failure_limit, without checking passwords"},
      {"alias_maps", "lmdb:$config_directory/aliases", T::kList,
       "lookup tables that rewrite local recipients (/etc/aliases format)"},
      {"alias_database", "$alias_maps", T::kList, "the alias tables that newaliases rebuilds"},
      {"local_login_sender_maps", "", T::kList,
       "tables naming the envelope senders each local login may give to sendmail; empty: any sender"},

      // Logging.
      {"syslog_name", "tern", T::kString, "prefix of every log line's tag (syslog_name/program[pid])"},
      {"syslog_facility", "mail", T::kString, "syslog facility for log lines"},
      {"maillog_file", "", T::kString,
       "file master writes log lines to instead of syslog, e.g. /dev/stdout in a container (empty: syslog)"},

      // Processes.
      {"default_process_limit", "100", T::kInt, "maxproc of master.cf services whose column says \"-\""},
      {"client_limit", "1000", T::kInt, "clients one service process serves at once"},
      {"service_throttle_time", "60s", T::kTime,
       "how long master waits before restarting a service that failed before serving anyone"},
      {"max_idle", "100s", T::kTime, "how long a service process waits for a new client before it exits"},
      {"max_use", "10000", T::kInt,
       "clients a process serves before it exits and master replaces it (0 = unlimited)"},
      {"worker_threads", "16", T::kInt,
       "threads each daemon runs for blocking work: fsync, renames, directory scans, password hashing"},
      {"graceful_stop_time", "30s", T::kTime,
       "how long stopping or reloading children get to finish their clients before master kills them"},
      {"alternate_config_directories", "", T::kList,
       "configuration directories besides the default that set-gid terndrop accepts with -c"},
      {"import_environment", "TZ LANG", T::kList,
       "environment variables master passes on to the services (name or name=value)"},

      // Delivery status notifications (common/queue/dsn.h).
      {"bounce_size_limit", "50000", T::kSize,
       "largest original message a failure or delay report returns whole; larger: its header only"},
      {"double_bounce_recipient", "postmaster", T::kString,
       "who is told when a message from the null sender <> cannot be delivered (Postfix: 2bounce_notice_recipient)"},

      // DNS (common/dns): every daemon that resolves.
      {"dns_servers", "", T::kList,
       "DNS servers to ask (ip, ip:port, [ipv6]:port); empty: those of /etc/resolv.conf"},
      {"dns_timeout", "10s", T::kTime,
       "the longest one DNS lookup may take, retries included; then it counts as a temporary failure"},

      // SMTP and LMTP client (smtp-client): Postfix's smtp(8)/lmtp(8) names and defaults.
      {"smtp_helo_name", "$myhostname", T::kString,
       "the name smtp-client sends in EHLO or HELO"},
      {"lmtp_lhlo_name", "$myhostname", T::kString,
       "the name smtp-client sends in LHLO"},
      {"smtp_tcp_port", "25", T::kInt,
       "port of an SMTP nexthop given as [host] or a domain without a port (every MX host's port)"},
      {"lmtp_tcp_port", "24", T::kInt,
       "port of an LMTP nexthop inet:host given without a port"},
      {"smtp_connect_timeout", "30s", T::kTime,
       "SMTP client time limit for completing a TCP connection (0: the kernel's own limit)"},
      {"lmtp_connect_timeout", "0s", T::kTime,
       "LMTP client time limit for completing a TCP connection (0: the kernel's own limit)"},
      {"smtp_helo_timeout", "300s", T::kTime,
       "SMTP client time limit for receiving the greeting and the reply to EHLO/HELO"},
      {"lmtp_lhlo_timeout", "300s", T::kTime,
       "LMTP client time limit for receiving the greeting and the reply to LHLO"},
      {"smtp_mail_timeout", "300s", T::kTime,
       "SMTP client time limit for the reply to MAIL FROM"},
      {"lmtp_mail_timeout", "300s", T::kTime,
       "LMTP client time limit for the reply to MAIL FROM"},
      {"smtp_rcpt_timeout", "300s", T::kTime,
       "SMTP client time limit for the reply to RCPT TO"},
      {"lmtp_rcpt_timeout", "300s", T::kTime,
       "LMTP client time limit for the reply to RCPT TO"},
      {"smtp_data_init_timeout", "120s", T::kTime,
       "SMTP client time limit for the reply to DATA"},
      {"lmtp_data_init_timeout", "120s", T::kTime,
       "LMTP client time limit for the reply to DATA"},
      {"smtp_data_xfer_timeout", "180s", T::kTime,
       "SMTP client time limit for each write of the message making progress"},
      {"lmtp_data_xfer_timeout", "180s", T::kTime,
       "LMTP client time limit for each write of the message making progress"},
      {"smtp_data_done_timeout", "600s", T::kTime,
       "SMTP client time limit for the reply (LMTP: each reply) to the end of data"},
      {"lmtp_data_done_timeout", "600s", T::kTime,
       "LMTP client time limit for the reply (LMTP: each reply) to the end of data"},
      {"smtp_rset_timeout", "20s", T::kTime,
       "SMTP client time limit for the reply to RSET before a cached session is reused"},
      {"lmtp_rset_timeout", "20s", T::kTime,
       "LMTP client time limit for the reply to RSET before a cached session is reused"},
      {"smtp_quit_timeout", "300s", T::kTime,
       "SMTP client time limit for the reply to QUIT"},
      {"lmtp_quit_timeout", "300s", T::kTime,
       "LMTP client time limit for the reply to QUIT"},
      {"smtp_connection_cache_time_limit", "2s", T::kTime,
       "SMTP client: how long an idle session waits for the next request to the same nexthop (0: no caching)"},
      {"lmtp_connection_cache_time_limit", "2s", T::kTime,
       "LMTP client: how long an idle session waits for the next request to the same nexthop (0: no caching)"},
      {"smtp_connection_reuse_count_limit", "0", T::kInt,
       "SMTP client: how many times a session may be reused (0: no limit)"},
      {"lmtp_connection_reuse_count_limit", "0", T::kInt,
       "LMTP client: how many times a session may be reused (0: no limit)"},
      {"smtp_connection_reuse_time_limit", "300s", T::kTime,
       "SMTP client: a session is not reused once this old"},
      {"lmtp_connection_reuse_time_limit", "300s", T::kTime,
       "LMTP client: a session is not reused once this old"},
      {"smtp_mx_address_limit", "5", T::kInt,
       "SMTP client: at most this many MX addresses are tried per delivery attempt (0: no limit)"},
      {"smtp_mx_session_limit", "2", T::kInt,
       "SMTP client: at most this many sessions past EHLO per delivery attempt (0: no limit)"},
      {"smtp_tls_security_level", "may", T::kString,
       "SMTP client TLS: none, may (STARTTLS when offered), encrypt (required) or verify (and the certificate)"},
      {"smtp_tls_CAfile", "", T::kString,
       "SMTP client: PEM trust anchors for verify (empty: the system's bundle), read before the chroot"},
      {"smtp_tls_policy_maps", "", T::kList,
       "SMTP client: a table of next hop -> TLS level [match=name:name] overriding smtp_tls_security_level"},
      {"smtp_tls_verify_cert_match", "hostname", T::kList,
       "SMTP client, verify: the names a certificate must match (hostname = the MX host, nexthop, or a name)"},

      // SMTP client: authentication to a relay, MIME conversion.
      {"disable_mime_output_conversion", "no", T::kBool,
       "yes: send 8-bit mail as it is to a next hop without 8BITMIME instead of converting it to quoted-printable"},
      {"smtp_sasl_auth_enable", "no", T::kBool,
       "authenticate (AUTH, RFC 4954) to next hops that smtp_sasl_password_maps has a login for"},
      {"smtp_sasl_password_maps", "", T::kList,
       "tables mapping a next hop ([host]:port, [host], host or domain) to user:password, read before the privilege drop"},
      {"smtp_sasl_security_options", "noplaintext, noanonymous", T::kList,
       "SASL restrictions without TLS: noplaintext (the default) keeps PLAIN and LOGIN off cleartext sessions"},
      {"smtp_sasl_tls_security_options", "noanonymous", T::kList,
       "SASL restrictions inside a TLS session, where PLAIN and LOGIN are allowed by default"},
      {"smtp_sasl_mechanism_filter", "", T::kList,
       "the SASL mechanisms smtp-client may use, of those the server offers (empty: PLAIN, LOGIN)"},
      {"smtp_sasl_auth_soft_bounce", "yes", T::kBool,
       "an authentication failure (even 535) defers the mail instead of bouncing it"},

      // IMAP (imap-login; imapd's own parameters are beside it).
      {"imapd_tls_cert_file", "$smtpd_tls_cert_file", T::kString,
       "PEM certificate chain for imap-login's STARTTLS (143) and imaps (993); default: smtpd's"},
      {"imapd_tls_key_file", "$smtpd_tls_key_file", T::kString,
       "PEM private key of imapd_tls_cert_file, read before the privilege drop"},
      {"imapd_tls_protocols", ">=TLSv1.2", T::kString,
       "the oldest TLS version imap-login accepts: >=TLSv1.2 or >=TLSv1.3"},
      {"imap_tls_wrappermode", "no", T::kBool, "yes: TLS from the first byte (imaps, port 993, RFC 8314)"},
      {"disable_plaintext_auth", "yes", T::kBool,
       "IMAP LOGIN and AUTHENTICATE only over TLS or from login_trusted_networks (Dovecot's name)"},
      {"login_trusted_networks", "", T::kList,
       "networks whose IMAP clients may log in without TLS (Dovecot's name); loopback is not implied"},
      {"imap_login_timeout", "180s", T::kTime,
       "how long an IMAP client may take from connecting to logging in"},
      {"mail_max_userip_connections", "10", T::kInt,
       "IMAP sessions of one user from one client address, over every imapd process (Dovecot's name; 0: no limit)"},
      {"imap_login_client_connection_limit", "50", T::kInt,
       "IMAP connections not yet logged in from one client address, per imap-login process (0: no limit)"},

      // SMTP server.
      {"smtpd_tls_cert_file", "", T::kString,
       "PEM certificate chain for smtpd's STARTTLS and smtps (empty: no TLS)"},
      {"smtpd_tls_key_file", "", T::kString,
       "PEM private key of smtpd_tls_cert_file, read before the privilege drop"},
      {"recipient_delimiter", "+", T::kString,
       "characters that separate a user from an address extension (user+tag@domain)"},
      {"virtual_alias_maps", "", T::kList,
       "tables mapping full addresses (user@domain) to other addresses"},
      {"queue_run_delay", "300s", T::kTime,
       "how often qmgr scans the queue when nothing woke it"},
      {"smtpd_peername_lookup", "yes", T::kBool,
       "look up each client's reverse name (and confirm it forward) for logs and Received:"},
      {"smtpd_tls_security_level", "may", T::kString,
       "none, may (offer STARTTLS) or encrypt (require it before MAIL and AUTH)"},
      {"smtpd_tls_wrappermode", "no", T::kBool,
       "yes: TLS from the first byte (smtps, port 465, RFC 8314)"},
      {"smtpd_sasl_auth_enable", "no", T::kBool,
       "offer AUTH (RFC 4954) through authd, after TLS only"},
      {"smtpd_sasl_auth_required", "no", T::kBool,
       "yes: MAIL needs AUTH first (530 5.7.0), as on submission (RFC 6409 4.3)"},
      {"smtpd_sender_login_maps", "", T::kList,
       "tables mapping a sender address (or @domain) to the SASL logins that own it; empty: own address and aliases"},
      {"smtpd_client_restrictions", "", T::kList,
       "restrictions on the client, evaluated at RCPT time (smtpd(8), RESTRICTIONS)"},
      {"smtpd_helo_restrictions", "", T::kList,
       "restrictions on the HELO/EHLO name, evaluated at RCPT time"},
      {"smtpd_sender_restrictions", "", T::kList,
       "restrictions on the MAIL FROM address, evaluated at RCPT time"},
      {"smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
       T::kList, "restrictions that decide who may relay, evaluated at RCPT time before smtpd_recipient_restrictions"},
      {"smtpd_recipient_restrictions", "", T::kList,
       "restrictions on each RCPT TO address, evaluated last"},
      {"smtpd_null_access_lookup_key", "<>", T::kString,
       "the key check_sender_access looks up for the null sender"},
      {"smtpd_tls_protocols", ">=TLSv1.2", T::kString,
       "the oldest TLS version smtpd accepts: >=TLSv1.2 or >=TLSv1.3"},
      {"mail_name", "Tern", T::kString,
       "the mail system's name in smtpd_banner and Received: headers"},
      {"smtpd_banner", "$myhostname ESMTP $mail_name", T::kString,
       "the text after 220 in smtpd's greeting (RFC 5321 4.2)"},
      {"smtpd_timeout", "300s", T::kTime,
       "how long smtpd waits for a command, or for more DATA, before 421 and disconnect"},
      {"smtpd_data_timeout", "1800s", T::kTime,
       "the longest the DATA phase may last, however the client trickles"},
      {"smtpd_hard_error_limit", "20", T::kInt,
       "errors in one session before smtpd answers 421 and disconnects"},
      {"line_length_limit", "2048", T::kInt,
       "longest SMTP command line (a longer one gets 500 5.5.2), and longest header line sendmail accepts"},
      {"message_size_limit", "52428800", T::kSize,
       "largest message in bytes (SIZE and actual); 0 means no limit"},
      {"smtpd_recipient_limit", "1000", T::kInt,
       "recipients per message; beyond it 452 4.5.3"},
      {"smtpd_forbid_bare_newline", "yes", T::kString,
       "yes: refuse a message with a bare CR or LF (SMTP smuggling); normalize: store it as CRLF"},
      {"disable_vrfy_command", "yes", T::kBool,
       "yes: VRFY gets a neutral 252 for every address; no: RCPT's recipient check answers it (250, 550 5.1.1)"},
      {"header_size_limit", "102400", T::kSize,
       "largest message header block in bytes; larger is refused with 552 5.3.4"},
      {"header_count_limit", "1000", T::kInt,
       "most header fields in one message; more is refused with 552 5.3.4"},
      {"hopcount_limit", "50", T::kInt,
       "most Received: header fields; more means a mail loop (554 5.4.6)"},
      {"mime_nesting_limit", "100", T::kInt,
       "deepest MIME nesting (multipart and message/rfc822 levels) imapd divides a message into; deeper is one opaque part"},

      // Local delivery: lmtp-deliver.
      {"lmtp_deliver_timeout", "300s", T::kTime,
       "how long lmtp-deliver waits for a command, or for more DATA, before 421 and disconnect"},
      {"lmtp_deliver_recipient_limit", "1000", T::kInt,
       "recipients per LMTP transaction; beyond it 452 4.5.3"},
      {"lmtp_deliver_temp_directory", "/tmp", T::kString,
       "where lmtp-deliver keeps a message (an unlinked file) while it arrives, before copying it into each Maildir"},
      {"lmtp_save_to_detail_mailbox", "no", T::kBool,
       "yes: user+folder@domain is delivered into the folder when it exists (else INBOX), as Dovecot's option"},
      {"quota_rule", "", T::kString,
       "Dovecot-style quota for users whose passwd_file entry has no userdb_quota_rule (*:storage=1G, *:messages=N); empty: none"},

      // IMAP server after login: imapd.
      {"imapd_timeout", "30m", T::kTime,
       "how long an authenticated IMAP client may stay silent (IDLE included) before * BYE; at least 30m (RFC 3501 5.4)"},
      {"imap_max_line_length", "65536", T::kSize,
       "most one IMAP command holds in memory: its lines plus in-memory literals (not an APPEND message); beyond it BAD, the session goes on"},
      {"imap_max_literal", "52428800", T::kSize,
       "largest IMAP literal (an APPEND message); a larger one gets NO [TOOBIG] before it is sent"},
      {"imapd_idle_check_interval", "30s", T::kTime,
       "during IDLE, the selected folder is synced this often even without an inotify event (at least 1s)"},
      {"imapd_read_ahead", "262144", T::kSize,
       "bytes of pipelined IMAP commands imapd reads ahead of the one it is executing; then it stops reading until they are done"},

      // Per-client limits: smtpd asks anvil, which counts for every process.
      {"smtpd_client_connection_count_limit", "50", T::kInt,
       "connections one client may have open to one service at once (0 = no limit); beyond it 421 4.7.0"},
      {"smtpd_client_connection_rate_limit", "0", T::kInt,
       "connections one client may make to one service per anvil_rate_time_unit (0 = no limit); beyond it 421 4.7.0"},
      {"smtpd_client_message_rate_limit", "0", T::kInt,
       "MAIL commands one client may send to one service per anvil_rate_time_unit (0 = no limit); beyond it 450 4.7.1"},
      {"smtpd_client_recipient_rate_limit", "0", T::kInt,
       "RCPT commands one client may send to one service per anvil_rate_time_unit (0 = no limit); beyond it 450 4.7.1"},
      {"smtpd_client_event_limit_exceptions", "$mynetworks", T::kList,
       "client networks exempt from the per-client connection and rate limits"},
      {"anvil_rate_time_unit", "60s", T::kTime, "the time unit of anvil's rates (the smtpd_client_*_rate_limit parameters)"},
      {"anvil_status_update_time", "600s", T::kTime,
       "how often anvil logs the peak counts and rates of the period (0 = never)"},

      // Queue manager (qmgr): routing, scheduling, retries.
      {"transport_maps", "", T::kList,
       "tables mapping a recipient (address, domain, .parent, *) to transport:nexthop, looked up first"},
      {"virtual_transport", "lmtp:unix:private/deliver", T::kString,
       "where mail for virtual_mailbox_domains goes (transport:nexthop)"},
      {"relayhost", "", T::kString,
       "the next hop for mail to other domains ([host]:port or domain); empty: the recipient's domain"},
      {"default_transport", "smtp", T::kString,
       "the transport (and optional :nexthop) for mail no other rule routes"},
      {"qmgr_message_active_limit", "20000", T::kInt, "most messages qmgr works on at once (in active/)"},
      {"default_destination_concurrency_limit", "20", T::kInt,
       "parallel deliveries to one destination (transport and next hop); <transport>_destination_concurrency_limit overrides"},
      {"default_destination_recipient_limit", "50", T::kInt,
       "recipients in one delivery request; <transport>_destination_recipient_limit overrides"},
      {"lmtp_destination_concurrency_limit", "$default_destination_concurrency_limit", T::kInt,
       "parallel deliveries to one LMTP destination"},
      {"lmtp_destination_recipient_limit", "$default_destination_recipient_limit", T::kInt,
       "recipients in one LMTP delivery request"},
      {"minimal_backoff_time", "300s", T::kTime,
       "the shortest wait before a deferred message is tried again"},
      {"maximal_backoff_time", "4000s", T::kTime, "the longest wait between two attempts of a deferred message"},
      {"maximal_queue_lifetime", "5d", T::kTime,
       "how long a message may stay deferred before it is returned to its sender"},
      {"delay_warning_time", "0h", T::kTime,
       "a message still deferred this long gets one delay report (action delayed) to its sender; 0: none"},
      {"bounce_queue_lifetime", "5d", T::kTime,
       "the same for a message from the null sender (a bounce); then it is given up"},
      {"transport_retry_time", "60s", T::kTime,
       "how long qmgr waits before connecting again to a delivery agent it could not reach"},
  };
  std::sort(t.begin(), t.end(), [](const ParamDef& a, const ParamDef& b) { return a.name < b.name; });
  return t;
}

}  // namespace

const std::vector<ParamDef>& param_table() {
  static const std::vector<ParamDef> table = make_table();
  return table;
}

const ParamDef* find_param(std::string_view name) {
  const auto& t = param_table();
  auto it = std::lower_bound(t.begin(), t.end(), name,
                             [](const ParamDef& d, std::string_view n) { return d.name < n; });
  if (it == t.end() || it->name != name) return nullptr;
  return &*it;
}

const char* param_type_name(ParamType type) {
  switch (type) {
    case ParamType::kString: return "string";
    case ParamType::kInt: return "integer";
    case ParamType::kBool: return "boolean";
    case ParamType::kTime: return "time";
    case ParamType::kSize: return "size";
    case ParamType::kList: return "list";
  }
  return "?";
}

bool is_per_transport_param(std::string_view name) {
  for (std::string_view suffix : {std::string_view("_destination_concurrency_limit"),
                                  std::string_view("_destination_recipient_limit")}) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) return true;
  }
  return false;
}

bool valid_param_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace tern::config
