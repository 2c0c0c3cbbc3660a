#pragma once
// sendmail -bs (smtp.cc).

#include <string>

#include "cli/sendmail/message.h"

namespace tern::sendmail {

struct SmtpOptions {
  std::string hostname;  // myhostname
  std::string banner;    // smtpd_banner
  size_t line_limit = 2048;
  MessageOptions message;
};

// Returns sendmail's exit status.
int run_smtp(const SmtpOptions& opts);

}  // namespace tern::sendmail
