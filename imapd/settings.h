#pragma once
// imapd's parameters, read once per process from main.cf (and -o
// overrides). Every name is in common/config/params.cc and tern.cf(5).

#include <chrono>
#include <cstdint>
#include <string>

#include "common/base/clock.h"
#include "common/config/main_cf.h"

namespace tern::imapd {

struct Settings {
  // imapd_timeout: an authenticated client silent this long is logged out
  // (RFC 3501 5.4: at least 30 minutes; IDLE counts as silence too, and
  // clients re-issue IDLE well within it, RFC 2177).
  std::chrono::seconds timeout{1800};
  size_t max_line = 65536;              // imap_max_line_length: one command in memory (lines + kept literals)
  uint64_t max_literal = 52428800;      // imap_max_literal: one literal (an APPEND message)
  size_t read_ahead = 262144;           // imapd_read_ahead: pipelined input read ahead, then stop reading
  int client_limit = 1000;              // sessions one process serves
  size_t mime_nesting = 100;            // mime_nesting_limit: deeper parts are opaque bodies
  std::string userdb_socket;            // queue_directory/private/userdb
  std::string mailbox_base;             // virtual_mailbox_base (relative homes)
  Duration userdb_timeout = std::chrono::seconds(10);
  // imapd_idle_check_interval: during IDLE the selected folder is synced
  // this often even when no inotify event came (Dovecot's
  // mailbox_idle_check_interval): the only way changes arrive when the
  // process has no inotify instance or a watch could not be added.
  std::chrono::seconds idle_check_interval{30};
  // mail_max_userip_connections (Dovecot's name): sessions of one user from
  // one address, counted by anvil over every imapd process (0: no limit).
  int max_userip = 10;
  // quota_rule: the Maildir++ quota of users whose userdb gives none (as
  // lmtp-deliver applies it; "" = none). imapd/quota.h.
  std::string quota_rule;
  std::string anvil_socket;  // queue_directory/private/anvil

  static Result<Settings> load(const config::MainCf& cf);
};

}  // namespace tern::imapd
