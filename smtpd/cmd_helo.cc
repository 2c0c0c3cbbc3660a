// HELO and EHLO (RFC 5321 4.1.1.1): both reset the transaction; EHLO lists
// the extensions this session offers.

#include "common/base/strings.h"
#include "smtpd/session.h"

namespace tern::smtpd {

namespace {

// One word: a domain or an address literal, at most 255 octets (RFC 1035
// 2.3.4; a longer one would also make the Received: line break RFC 5322's
// 998), without white space or control characters (it goes into
// Received:). Bytes from 0x80 are allowed: U-labels (RFC 6531 3.7.1).
bool acceptable_helo(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (unsigned char ch : name)
    if (ch <= 0x20 || ch == 0x7f) return false;
  return true;
}

}  // namespace

void Session::cmd_helo(const Command& c, bool extended) {
  std::string_view name = trim(c.args);
  if (!acceptable_helo(name))
    return error_reply(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  reset_transaction();
  helo_ = std::string(name);
  esmtp_ = extended;
  if (!extended) return reply(250, "", settings_.myhostname);
  std::vector<std::string> lines = {settings_.myhostname, "PIPELINING"};
  lines.push_back(settings_.message_size_limit ? "SIZE " + std::to_string(settings_.message_size_limit) : "SIZE");
  // RFC 3207: STARTTLS until TLS is on; RFC 4954 with smtpd_sasl_auth_enable:
  // AUTH only once it is (a password never goes out in the clear).
  if (settings_.tls_ctx && settings_.tls_level != Settings::TlsLevel::kNone && !tls_active_)
    lines.push_back("STARTTLS");
  if (settings_.sasl_enabled && tls_active_) lines.push_back("AUTH PLAIN LOGIN");
  if (settings_.vrfy_enabled) lines.push_back("VRFY");
  // RFC 3030: BDAT (cmd_bdat.cc); BINARYMIME is not offered.
  lines.insert(lines.end(), {"ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"});
  // RFC 2034: with ENHANCEDSTATUSCODES offered, EHLO's own lines carry no code.
  reply_lines(250, "", lines);
}

}  // namespace tern::smtpd
