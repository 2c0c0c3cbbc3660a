#pragma once
// Is there anyone at a local address? Answered at RCPT time, so an unknown
// user gets 550 5.1.1 from smtpd and never a bounce later (backscatter).
//
//   postmaster and abuse, in every local domain (RFC 5321 4.5.1, RFC 2142),
//   always exist: alias_maps send them to the administrator;
//   virtual_alias_maps (full address, then without the extension) accept;
//   a mydestination domain has no mailboxes: only alias_maps entries
//   (the local part, then without the extension) exist there;
//   a virtual_mailbox_domains address exists when authd's userdb knows the
//   user (without the extension: user+tag@domain is user@domain).
// A table or userdb problem is a temporary failure (451 4.3.0), never a 5xx.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/auth/userdb_client.h"
#include "common/event/loop.h"
#include "common/mail/smtp_path.h"
#include "common/table/table.h"

namespace tern::smtpd {

enum class RecipientStatus { kExists, kUnknown, kTempFail };

struct RecipientDirectory {
  std::string delimiters;  // recipient_delimiter
  std::vector<std::string> mydestination;            // lower case
  std::vector<std::string> virtual_mailbox_domains;  // lower case
  std::vector<std::unique_ptr<table::Table>> alias_maps;
  std::vector<std::unique_ptr<table::Table>> virtual_alias_maps;
  std::string userdb_socket;  // as seen after the drop
  Duration userdb_timeout = std::chrono::seconds(10);
  // The process's persistent connection to userdb_socket (set by main once
  // the loop runs); null: one connection per lookup.
  auth::UserdbClient* userdb = nullptr;
};

// Runs the check; `done` gets the status and a reason for the log. The
// returned handle cancels the check when destroyed (it may be null when the
// answer came at once, in which case `done` already ran).
std::unique_ptr<auth::UserdbLookup> check_recipient(event::Loop& loop, const RecipientDirectory& dir,
                                                    const mail::Address& rcpt,
                                                    std::function<void(RecipientStatus, std::string)> done);

}  // namespace tern::smtpd
