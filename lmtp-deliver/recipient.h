#pragma once
// What lmtp-deliver makes of a recipient and of the message it is given,
// apart from any I/O: which user an address belongs to (plus-addressing)
// and what the message's header says about loops.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
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
// dot-unstuffing), keeping only what delivery needs: every Delivered-To:
// value (for the loop check, as Postfix's local(8) does) and the
// Message-ID (for the log). Memory is bounded: a logical header line is
// kept up to kMaxHeader bytes (a longer one cannot be an address we
// compare with), and at most kMaxDeliveredTo values.
class HeaderScan {
 public:
  static constexpr size_t kMaxHeader = 2048;
  static constexpr size_t kMaxDeliveredTo = 256;

  void feed(std::string_view content);
  // End of the data: a header section without a body ends here too.
  void finish();
  // Does a Delivered-To: header name this address (compared without regard
  // to case, as Postfix does)?
  bool delivered_to(std::string_view address) const;
  const std::string& message_id() const { return message_id_; }
  bool in_body() const { return in_body_; }

 private:
  void end_physical_line();
  void end_header();

  bool in_body_ = false;
  std::string line_;    // the physical line being read
  bool line_long_ = false;
  std::string header_;  // the logical (unfolded) header being read
  bool header_long_ = false;
  std::vector<std::string> delivered_;  // lower-cased
  std::string message_id_;
};

}  // namespace tern::lmtp
