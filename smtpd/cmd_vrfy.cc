// VRFY (RFC 5321 4.1.1.6, 3.5.3).
//
// With disable_vrfy_command = yes (the default, as Postfix's) VRFY tells a
// harvester nothing: every address gets the neutral 252 RFC 5321 3.5.3
// allows, and EHLO does not list VRFY. With no, an address in a local
// domain gets RCPT's own answer from the same recipient check
// (recipient_check.h): 250 2.1.5 when someone lives there, 550 5.1.1 when
// not (counted toward smtpd_hard_error_limit, which bounds a harvest), 451
// 4.3.0 when the check could not be made. Any other address gets 252: this
// server cannot verify it. The argument is a path ("<user@domain>"), a
// bare mailbox ("user@domain") or "postmaster"; a user name without a
// domain is not guessed at (501 5.1.3).

#include <event2/bufferevent.h>

#include "common/base/log.h"
#include "common/base/strings.h"
#include "smtpd/session.h"

namespace tern::smtpd {
namespace {

constexpr std::string_view kCannotVerify = "Cannot VRFY user; try RCPT to find out";

}  // namespace

void Session::cmd_vrfy(const Command& c) {
  std::string_view arg = trim(c.args);
  if (arg.empty()) return error_reply(501, "5.5.4", "Syntax: VRFY address");
  if (!settings_.vrfy_enabled) return reply(252, "2.0.0", kCannotVerify);
  mail::PathOptions po;
  po.allow_postmaster = true;
  Result<mail::Address> addr = invalid("");
  if (arg.front() == '<') addr = mail::parse_path(arg, po);
  else if (equals_nocase(arg, "postmaster")) addr = mail::parse_path("<postmaster>", po);
  else addr = mail::parse_mailbox(arg, po.limits, false);
  if (!addr) return error_reply(501, "5.1.3", "Bad recipient address syntax");
  if (settings_.relay.check(*addr, peer_.address, authenticated()) != RelayVerdict::kLocal)
    return reply(252, "2.0.0", kCannotVerify);
  // The check may ask authd: reading stops until the answer, as for RCPT.
  std::string shown = addr->is_postmaster ? "postmaster" : addr->str();
  phase_ = Phase::kWaiting;
  pause_reading();
  checking_inline_ = true;
  rcpt_lookup_ = check_recipient(ctx_.loop(), settings_.directory, *addr,
                                 [this, shown](RecipientStatus status, std::string why) {
                                   vrfy_checked(shown, status, why);
                                 });
  checking_inline_ = false;
}

void Session::vrfy_checked(const std::string& addr, RecipientStatus status, const std::string& why) {
  bool resume = !checking_inline_;  // inline: the command loop goes on by itself
  phase_ = Phase::kCommands;
  switch (status) {
    case RecipientStatus::kExists:
      reply(250, "2.1.5", "<" + addr + ">");
      break;
    case RecipientStatus::kUnknown:
      log::info("NOQUEUE: reject: VRFY from %s: 550 5.1.1 <%s>: Recipient address rejected: %s", client().c_str(),
                addr.c_str(), why.c_str());
      error_reply(550, "5.1.1", "<" + addr + ">: Recipient address rejected: " + why);
      break;
    case RecipientStatus::kTempFail:
      log::warning("recipient check for <%s> failed: %s", addr.c_str(), why.c_str());
      reply(451, "4.3.0", "<" + addr + ">: Temporary lookup failure");
      break;
  }
  check_answered(resume, "VRFY");
}

}  // namespace tern::smtpd
