#include "lmtp-deliver/settings.h"

#include "common/base/strings.h"
#include "common/store/maildirsize.h"

namespace tern::lmtp {

Result<Settings> Settings::load(const config::MainCf& cf) {
  Settings s;
  s.myhostname = cf.str("myhostname");
  s.greeting = s.myhostname + " LMTP " + cf.str("mail_name") + " ready";
  s.timeout = cf.seconds("lmtp_deliver_timeout");
  s.line_limit = static_cast<size_t>(cf.integer("line_length_limit"));
  s.message_size_limit = static_cast<uint64_t>(cf.integer("message_size_limit"));
  s.recipient_limit = static_cast<int>(cf.integer("lmtp_deliver_recipient_limit"));
  s.delimiters = cf.str("recipient_delimiter");
  s.save_to_detail_mailbox = cf.boolean("lmtp_save_to_detail_mailbox");
  s.quota_rule = std::string(trim(cf.str("quota_rule")));
  s.temp_directory = cf.str("lmtp_deliver_temp_directory");
  s.mailbox_base = cf.str("virtual_mailbox_base");
  s.userdb_socket = cf.str("queue_directory") + "/private/userdb";
  if (s.line_limit < 512) return invalid("line_length_limit: at least 512 (RFC 5321 4.5.3.1.4)");
  if (s.recipient_limit < 1) return invalid("lmtp_deliver_recipient_limit must be at least 1");
  if (s.timeout.count() < 1) return invalid("lmtp_deliver_timeout must be at least 1s");
  if (s.temp_directory.empty() || s.temp_directory[0] != '/')
    return invalid("lmtp_deliver_temp_directory must be an absolute path: " + s.temp_directory);
  if (!s.quota_rule.empty()) {
    store::QuotaLimit check;
    if (Status st = store::apply_quota_rule(s.quota_rule, check); !st)
      return make_error(st.error().code, "quota_rule: " + st.error().text);
  }
  return s;
}

}  // namespace tern::lmtp
