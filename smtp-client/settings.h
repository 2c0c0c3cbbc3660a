#pragma once
// smtp-client's parameters (main.cf; man/tern.cf.5), one set per dialect:
// smtp_* for SMTP, lmtp_* for LMTP, named and defaulted as Postfix's smtp(8)
// and lmtp(8) name them. A request's protocol= picks the set.

#include <string>

#include "common/base/clock.h"
#include "common/config/main_cf.h"
#include "common/ipc/delivery_protocol.h"

namespace tern::smtp_client {

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
};

Settings load_settings(const config::MainCf& cf, ipc::DeliveryProtocol protocol);

}  // namespace tern::smtp_client
