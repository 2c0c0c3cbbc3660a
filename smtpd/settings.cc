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
  s.line_limit = static_cast<size_t>(cf.integer("line_length_limit"));
  s.message_size_limit = static_cast<unsigned long long>(cf.integer("message_size_limit"));
  s.recipient_limit = static_cast<int>(cf.integer("smtpd_recipient_limit"));
  std::string bare = to_lower(cf.str("smtpd_forbid_bare_newline"));
  if (bare == "normalize") s.normalize_bare_newlines = true;
  else if (bare != "yes") return invalid("smtpd_forbid_bare_newline: expected yes or normalize, not " + bare);
  // Refuse what this version cannot do rather than serve without the
  // protection the administrator asked for (TLS and AUTH come next).
  std::string tls = to_lower(cf.str("smtpd_tls_security_level"));
  if (tls == "encrypt" || cf.boolean("smtpd_tls_wrappermode"))
    return invalid("TLS (smtpd_tls_security_level = encrypt, smtpd_tls_wrappermode) is not implemented by this "
                   "version of smtpd; refusing to serve this port without it");
  if (cf.boolean("smtpd_sasl_auth_enable"))
    return invalid("smtpd_sasl_auth_enable = yes: AUTH is not implemented by this version of smtpd");
  if (tls != "none" && tls != "may") return invalid("smtpd_tls_security_level: expected none, may or encrypt");
  s.starttls_wanted = tls == "may";
  if (s.line_limit < 512) return invalid("line_length_limit: at least 512 (RFC 5321 4.5.3.1.4)");
  if (s.hard_error_limit < 1 || s.recipient_limit < 1) return invalid("smtpd limits must be at least 1");
  for (auto& n : cf.list("mynetworks")) {
    auto net = Network::parse(n);
    if (!net) return net.take_error();
    s.relay.mynetworks.push_back(*net);
  }
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
  s.cleanup.queue_dir = cf.str("queue_directory");
  s.cleanup.myhostname = s.myhostname;
  s.cleanup.message_size_limit = s.message_size_limit;
  s.cleanup.header_size_limit = static_cast<size_t>(cf.integer("header_size_limit"));
  s.cleanup.header_count_limit = static_cast<size_t>(cf.integer("header_count_limit"));
  s.cleanup.hopcount_limit = static_cast<int>(cf.integer("hopcount_limit"));
  return s;
}

}  // namespace tern::smtpd
