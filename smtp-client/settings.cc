#include "smtp-client/settings.h"

namespace tern::smtp_client {

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
  return s;
}

}  // namespace tern::smtp_client
