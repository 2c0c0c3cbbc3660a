#include "smtp-client/settings.h"

#include "common/base/strings.h"

namespace tern::smtp_client {

Result<TlsLevel> parse_tls_level(std::string_view text) {
  std::string t = to_lower(text);
  if (t == "none" || t.empty()) return TlsLevel::kNone;
  if (t == "may") return TlsLevel::kMay;
  if (t == "encrypt") return TlsLevel::kEncrypt;
  if (t == "verify" || t == "secure") return TlsLevel::kVerify;
  return invalid("TLS security level: expected none, may, encrypt or verify, not \"" + std::string(text) + "\"");
}

const char* tls_level_name(TlsLevel level) {
  switch (level) {
    case TlsLevel::kNone: return "none";
    case TlsLevel::kMay: return "may";
    case TlsLevel::kEncrypt: return "encrypt";
    case TlsLevel::kVerify: return "verify";
  }
  return "?";
}

Settings load_settings(const config::MainCf& cf, ipc::DeliveryProtocol protocol) {
  bool lmtp = protocol == ipc::DeliveryProtocol::kLmtp;
  std::string p = lmtp ? "lmtp_" : "smtp_";
  auto t = [&](const std::string& name) -> Duration { return cf.seconds(p + name); };
  Settings s;
  s.helo_name = cf.str(lmtp ? "lmtp_lhlo_name" : "smtp_helo_name");
  s.tcp_port = static_cast<int>(cf.integer(p + "tcp_port"));
  s.connect_timeout = t("connect_timeout");
  s.helo_timeout = t(lmtp ? "lhlo_timeout" : "helo_timeout");
  s.mail_timeout = t("mail_timeout");
  s.rcpt_timeout = t("rcpt_timeout");
  s.data_init_timeout = t("data_init_timeout");
  s.data_xfer_timeout = t("data_xfer_timeout");
  s.data_done_timeout = t("data_done_timeout");
  s.rset_timeout = t("rset_timeout");
  s.quit_timeout = t("quit_timeout");
  s.cache_time_limit = t("connection_cache_time_limit");
  s.reuse_time_limit = t("connection_reuse_time_limit");
  s.reuse_count_limit = cf.integer(p + "connection_reuse_count_limit");
  auto protocols = cf.list("inet_protocols");
  bool all = protocols.empty();
  for (const auto& x : protocols) all = all || x == "all";
  s.ipv4 = all;
  s.ipv6 = all;
  for (const auto& x : protocols) {
    if (x == "ipv4") s.ipv4 = true;
    if (x == "ipv6") s.ipv6 = true;
  }
  s.myhostname = to_lower(cf.str("myhostname"));
  if (!lmtp) {
    s.mx_address_limit = static_cast<size_t>(std::max<long long>(0, cf.integer("smtp_mx_address_limit")));
    s.mx_session_limit = static_cast<int>(std::max<long long>(0, cf.integer("smtp_mx_session_limit")));
    auto level = parse_tls_level(cf.str("smtp_tls_security_level"));
    s.tls_level = level ? *level : TlsLevel::kMay;  // checked at start (main.cc)
    s.tls_match = cf.list("smtp_tls_verify_cert_match");
  }
  s.mime_output_conversion = !cf.boolean("disable_mime_output_conversion");
  return s;
}

}  // namespace tern::smtp_client

namespace tern::smtp_client {

Result<std::shared_ptr<const SaslSettings>> load_sasl_settings(const config::MainCf& cf) {
  if (!cf.boolean("smtp_sasl_auth_enable")) return std::shared_ptr<const SaslSettings>();
  auto s = std::make_shared<SaslSettings>();
  s->enable = true;
  for (const auto& spec : cf.list("smtp_sasl_password_maps")) {
    auto t = table::open(spec);
    if (!t) return make_error(t.error().code, "smtp_sasl_password_maps: " + t.error().text);
    s->maps.push_back(std::move(*t));
  }
  auto o = parse_sasl_options(cf.list("smtp_sasl_security_options"));
  if (!o) return invalid("smtp_sasl_security_options: " + o.error().text);
  s->options = *o;
  auto t = parse_sasl_options(cf.list("smtp_sasl_tls_security_options"));
  if (!t) return invalid("smtp_sasl_tls_security_options: " + t.error().text);
  s->tls_options = *t;
  for (const auto& m : cf.list("smtp_sasl_mechanism_filter")) s->filter.push_back(upper_ascii(m));
  s->soft_bounce = cf.boolean("smtp_sasl_auth_soft_bounce");
  return std::shared_ptr<const SaslSettings>(std::move(s));
}

}  // namespace tern::smtp_client
