#pragma once
// What lmtp-deliver makes of a recipient and of the message it is given,
// apart from any I/O: which user an address belongs to (plus-addressing)
// and what the message's header says about loops.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/mail/header.h"
#include "common/mail/smtp_path.h"

namespace tern::lmtp {

struct RecipientAddress {
  // The userdb key: the local part without its extension, lower-cased, "@",
  // the domain lower-cased (as smtpd asks authd at RCPT time).
  std::string user;
  // The extension after recipient_delimiter ("user+folder": "folder"); ""
  // when none. lmtp_save_to_detail_mailbox delivers into it when it exists.
  std::string detail;
  // The address as the client gave it with the domain lower-cased: the
  // Delivered-To: value, the key for duplicate RCPTs and for loop checks.
  std::string delivered_to;
};

// delimiters: recipient_delimiter (a set of characters, as in Postfix).
RecipientAddress resolve_recipient(const mail::Address& rcpt, std::string_view delimiters);

// Reads the message's header section as it streams in (CRLF lines, after
// dot-unstuffing) with the cleanup step's parser (common/mail/header.h: a
// line that is neither a field nor a fold ends the section; its limits
// bound the memory), for what delivery needs: the Delivered-To: values
// (the loop check, as Postfix's local(8) does) and the Message-ID (the log).
class HeaderScan {
 public:
  void feed(std::string_view content);
  // End of the data: a header section without a body ends here too.
  void finish();
  // Does a Delivered-To: field name this address (compared without regard
  // to case, as Postfix does; angle brackets allowed)?
  bool delivered_to(std::string_view address) const;
  // The Message-ID field's value, control characters made "?", at most 255
  // bytes; "" when there is none.
  std::string message_id() const;

 private:
  void end_line();

  mail::HeaderParser parser_;
  std::string line_;  // the line being read, at most one field's limit
  bool done_ = false;
};

}  // namespace tern::lmtp
