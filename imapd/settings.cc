#include "imapd/settings.h"

#include <algorithm>

#include "common/base/strings.h"
#include "common/store/maildirsize.h"

namespace tern::imapd {

Result<Settings> Settings::load(const config::MainCf& cf) {
  Settings s;
  s.timeout = cf.seconds("imapd_timeout");
  s.max_line = static_cast<size_t>(cf.integer("imap_max_line_length"));
  s.max_literal = static_cast<uint64_t>(cf.integer("imap_max_literal"));
  s.read_ahead = static_cast<size_t>(cf.integer("imapd_read_ahead"));
  s.client_limit = static_cast<int>(cf.integer("client_limit"));
  s.mime_nesting = static_cast<size_t>(std::max<long long>(1, cf.integer("mime_nesting_limit")));
  s.userdb_socket = cf.str("queue_directory") + "/private/userdb";
  s.mailbox_base = cf.str("virtual_mailbox_base");
  s.idle_check_interval = cf.seconds("imapd_idle_check_interval");
  s.max_userip = static_cast<int>(std::max<long long>(0, cf.integer("mail_max_userip_connections")));
  s.anvil_socket = cf.str("queue_directory") + "/private/anvil";
  s.quota_rule = std::string(trim(cf.str("quota_rule")));
  if (!s.quota_rule.empty()) {
    store::QuotaLimit check;
    if (Status st = store::apply_quota_rule(s.quota_rule, check); !st)
      return make_error(st.error().code, "quota_rule: " + st.error().text);
  }
  if (s.idle_check_interval < std::chrono::seconds(1)) return invalid("imapd_idle_check_interval: at least 1s");
  // RFC 3501 5.4: the autologout timer is at least 30 minutes.
  if (s.timeout < std::chrono::seconds(1800)) return invalid("imapd_timeout: at least 30m (RFC 3501 5.4)");
  // RFC 7162 3: clients should limit lines to 8192 octets; servers take more.
  if (s.max_line < 8192) return invalid("imap_max_line_length: at least 8192");
  if (s.read_ahead < 4096) return invalid("imapd_read_ahead: at least 4096");
  if (s.client_limit < 1) s.client_limit = 1;
  return s;
}

}  // namespace tern::imapd
