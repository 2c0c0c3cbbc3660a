// RSET, NOOP, QUIT and HELP (RFC 5321 4.1.1.5 - 4.1.1.10); VRFY is in cmd_vrfy.cc.

#include "smtpd/session.h"

namespace tern::smtpd {

void Session::cmd_rset(const Command& c) {
  if (!c.args.empty()) return error_reply(501, "5.5.4", "Syntax: RSET");
  reset_transaction();
  reply(250, "2.0.0", "Ok");
}

void Session::cmd_noop(const Command&) { reply(250, "2.0.0", "Ok"); }

void Session::cmd_quit(const Command&) {
  reply(221, "2.0.0", "Bye");
  close_after_reply();
}

void Session::cmd_help(const Command&) {
  reply(214, "2.0.0", "Commands: HELO EHLO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; see RFC 5321");
}

}  // namespace tern::smtpd
