#include "smtpd/settings.h"

#include "common/base/strings.h"

namespace tern::smtpd {

Result<Settings> Settings::load(const config::MainCf& cf) {
  Settings s;
  s.myhostname = cf.str("myhostname");
  s.mail_name = cf.str("mail_name");
  s.banner = cf.str("smtpd_banner");
  s.timeout = cf.seconds("smtpd_timeout");
  s.data_timeout = cf.seconds("smtpd_data_timeout");
  s.hard_error_limit = static_cast<int>(cf.integer("smtpd_hard_error_limit"));
  s.peername_lookup = cf.boolean("smtpd_peername_lookup");
  s.line_limit = static_cast<size_t>(cf.integer("line_length_limit"));
  s.message_size_limit = static_cast<unsigned long long>(cf.integer("message_size_limit"));
  s.recipient_limit = static_cast<int>(cf.integer("smtpd_recipient_limit"));
  std::string bare = to_lower(cf.str("smtpd_forbid_bare_newline"));
  if (bare == "normalize") s.normalize_bare_newlines = true;
  else if (bare != "yes") return invalid("smtpd_forbid_bare_newline: expected yes or normalize, not " + bare);
  s.vrfy_enabled = !cf.boolean("disable_vrfy_command");
  std::string tls = to_lower(cf.str("smtpd_tls_security_level"));
  if (tls == "none") s.tls_level = Settings::TlsLevel::kNone;
  else if (tls == "may") s.tls_level = Settings::TlsLevel::kMay;
  else if (tls == "encrypt") s.tls_level = Settings::TlsLevel::kEncrypt;
  else return invalid("smtpd_tls_security_level: expected none, may or encrypt, not " + tls);
  s.wrappermode = cf.boolean("smtpd_tls_wrappermode");
  s.tls_cert_file = cf.str("smtpd_tls_cert_file");
  s.tls_key_file = cf.str("smtpd_tls_key_file");
  std::string protocols(trim(cf.str("smtpd_tls_protocols")));
  if (!protocols.starts_with(">=")) return invalid("smtpd_tls_protocols: expected >=TLSv1.2 or >=TLSv1.3");
  auto min = tls::parse_min_protocol(trim(std::string_view(protocols).substr(2)));
  if (!min) return make_error(min.error().code, "smtpd_tls_protocols: " + min.error().text);
  s.tls_min_protocol = *min;
  bool tls_needed = s.wrappermode || s.tls_level == Settings::TlsLevel::kEncrypt;
  if (s.tls_cert_file.empty()) {
    // Refuse to serve a port that was promised TLS without it.
    if (tls_needed)
      return invalid("smtpd_tls_security_level = encrypt or smtpd_tls_wrappermode = yes needs smtpd_tls_cert_file");
  } else if (s.tls_level != Settings::TlsLevel::kNone || s.wrappermode) {
    tls::ServerOptions o;
    o.cert_file = s.tls_cert_file;
    o.key_file = s.tls_key_file;
    o.min_protocol = s.tls_min_protocol;
    auto ctx = tls::server_context(o);
    if (!ctx) return ctx.take_error();
    s.tls_ctx = std::move(*ctx);
  }
  s.sasl_enabled = cf.boolean("smtpd_sasl_auth_enable");
  s.sasl_required = cf.boolean("smtpd_sasl_auth_required");
  if (s.sasl_required && !s.sasl_enabled)
    return invalid("smtpd_sasl_auth_required = yes needs smtpd_sasl_auth_enable = yes");
  if (s.sasl_enabled && !s.tls_ctx)
    return invalid("smtpd_sasl_auth_enable = yes: AUTH is offered only over TLS, and this service has none "
                   "(smtpd_tls_cert_file, smtpd_tls_security_level)");
  s.auth_socket = cf.str("queue_directory") + "/private/auth";
  for (auto& spec : cf.list("smtpd_sender_login_maps")) {
    auto t = table::open(spec);
    if (!t) return make_error(t.error().code, "smtpd_sender_login_maps: " + t.error().text);
    s.sender_logins.maps.push_back(std::move(*t));
  }
  s.sender_logins.delimiters = cf.str("recipient_delimiter");
  if (s.line_limit < 512) return invalid("line_length_limit: at least 512 (RFC 5321 4.5.3.1.4)");
  if (s.hard_error_limit < 1 || s.recipient_limit < 1) return invalid("smtpd limits must be at least 1");
  for (auto& n : cf.list("mynetworks")) {
    auto net = Network::parse(n);
    if (!net) return invalid("mynetworks: " + net.error().text);
    s.relay.mynetworks.push_back(*net);
  }
  static constexpr std::pair<Stage, const char*> kLists[] = {
      {Stage::kClient, "smtpd_client_restrictions"}, {Stage::kHelo, "smtpd_helo_restrictions"},
      {Stage::kSender, "smtpd_sender_restrictions"}, {Stage::kRelay, "smtpd_relay_restrictions"},
      {Stage::kRecipient, "smtpd_recipient_restrictions"}};
  for (auto [stage, name] : kLists) {
    if (auto st = s.restrictions.set(stage, name, cf.list(name)); !st) return st.take_error();
  }
  if (auto st = s.restrictions.check_not_open_relay(); !st) return st.take_error();
  s.restrictions.set_null_sender_key(cf.str("smtpd_null_access_lookup_key"));
  auto limits = ClientLimits::load(cf);
  if (!limits) return limits.take_error();
  s.limits = std::move(*limits);
  for (auto& d : cf.list("virtual_mailbox_domains")) s.relay.local_domains.push_back(to_lower(d));
  for (auto& d : cf.list("mydestination")) s.relay.local_domains.push_back(to_lower(d));
  s.directory.delimiters = cf.str("recipient_delimiter");
  for (auto& d : cf.list("mydestination")) s.directory.mydestination.push_back(to_lower(d));
  for (auto& d : cf.list("virtual_mailbox_domains")) s.directory.virtual_mailbox_domains.push_back(to_lower(d));
  // Tables are opened now, before the chroot (DESIGN.md).
  for (auto& spec : cf.list("alias_maps")) {
    auto t = table::open(spec);
    if (!t) return make_error(t.error().code, "alias_maps: " + t.error().text);
    s.directory.alias_maps.push_back(std::move(*t));
  }
  for (auto& spec : cf.list("virtual_alias_maps")) {
    auto t = table::open(spec);
    if (!t) return make_error(t.error().code, "virtual_alias_maps: " + t.error().text);
    s.directory.virtual_alias_maps.push_back(std::move(*t));
  }
  s.directory.userdb_socket = cf.str("queue_directory") + "/private/userdb";
  // The cleanup step expands aliases with the same tables (alias_expand.h);
  // main.cc points cleanup.aliases here once the settings have their place.
  for (auto& t : s.directory.virtual_alias_maps) s.aliases.virtual_alias_maps.push_back(t.get());
  for (auto& t : s.directory.alias_maps) s.aliases.alias_maps.push_back(t.get());
  s.aliases.mydestination = s.directory.mydestination;
  s.aliases.local_domains = s.directory.mydestination;
  for (auto& d : s.directory.virtual_mailbox_domains) s.aliases.local_domains.push_back(d);
  s.aliases.myorigin = cf.str("myorigin");
  s.aliases.delimiters = s.directory.delimiters;
  s.cleanup.queue_dir = cf.str("queue_directory");
  s.cleanup.myhostname = s.myhostname;
  s.cleanup.message_size_limit = s.message_size_limit;
  s.cleanup.header_size_limit = static_cast<size_t>(cf.integer("header_size_limit"));
  s.cleanup.header_count_limit = static_cast<size_t>(cf.integer("header_count_limit"));
  s.cleanup.hopcount_limit = static_cast<int>(cf.integer("hopcount_limit"));
  return s;
}

}  // namespace tern::smtpd
