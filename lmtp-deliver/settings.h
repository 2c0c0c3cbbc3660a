#pragma once
// lmtp-deliver's parameters, read once per process from main.cf (and -o
// overrides). Every name is in common/config/params.cc and tern.cf(5).

#include <chrono>
#include <cstdint>
#include <string>

#include "common/auth/userdb_client.h"
#include "common/base/clock.h"
#include "common/config/main_cf.h"

namespace tern::lmtp {

struct Settings {
  std::string myhostname;
  std::string greeting;                     // after "220 "
  std::chrono::seconds timeout{300};        // lmtp_deliver_timeout: per command, per read in DATA
  size_t line_limit = 2048;                 // line_length_limit
  uint64_t message_size_limit = 52428800;   // 0 = unlimited
  int recipient_limit = 1000;               // lmtp_deliver_recipient_limit
  std::string delimiters;                   // recipient_delimiter
  bool save_to_detail_mailbox = false;      // lmtp_save_to_detail_mailbox
  std::string quota_rule;                   // the default for users without one; "" = none
  std::string temp_directory = "/tmp";      // lmtp_deliver_temp_directory: the message while it arrives
  std::string mailbox_base;                 // virtual_mailbox_base
  std::string userdb_socket;                // queue_directory/private/userdb
  Duration userdb_timeout = std::chrono::seconds(10);
  // The process's persistent, pipelined connection to userdb_socket (set
  // by main once privileges are dropped; userdb_client.h).
  auth::UserdbClient* userdb = nullptr;

  static Result<Settings> load(const config::MainCf& cf);
};

}  // namespace tern::lmtp
