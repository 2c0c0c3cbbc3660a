// RCPT TO: (RFC 5321 4.1.1.3) with NOTIFY and ORCPT (RFC 3461), the
// restriction lists (restrictions.h, relay_policy.h) and smtpd_recipient_limit (RFC 5321 4.5.3.1.8:
// 452 beyond it, so the client sends the rest in another transaction).

#include "common/base/log.h"
#include "common/queue/qfile.h"
#include "smtpd/session.h"

namespace tern::smtpd {

void Session::cmd_rcpt(const Command& c) {
  if (!mail_) return error_reply(503, "5.5.1", "Error: need MAIL command");
  // The envelope went into the queue file with the first BDAT chunk.
  if (chunking_) return error_reply(503, "5.5.1", "Error: RCPT after BDAT");
  if (!wait_for_rate(RateEvent::kRcpt, c.args, &Session::rcpt_to)) rcpt_to(c.args);
}

void Session::rcpt_to(std::string_view text) {
  if (static_cast<int>(rcpts_.size()) >= settings_.recipient_limit)
    return reply(452, "4.5.3", "Error: too many recipients");
  mail::ArgFault why = mail::ArgFault::kNone;
  auto args = mail::parse_rcpt_args(text, arg_options(), mail_->params.smtputf8, &why);
  if (!args) return arg_error(why, args.error(), /*sender=*/false);
  const mail::Address& rcpt = args->recipient;
  // The restriction lists (restrictions.h), all at RCPT time as Postfix's
  // smtpd_delay_reject = yes has it.
  RestrictionFacts facts;
  facts.client_name = client_name_;
  facts.client_address = peer_.address;
  facts.helo = helo_;
  facts.sender = &mail_->sender;
  facts.recipient = &rcpt;
  facts.authenticated = authenticated();
  Verdict verdict = settings_.restrictions.evaluate(facts, settings_.relay);
  for (auto& e : verdict.config_errors) log::warning("%s", e.c_str());
  for (auto& n : verdict.notes) log_rcpt_event(n.kind.c_str(), n.text, rcpt.str());
  if (verdict.action == Verdict::Action::kReject) {
    log_rcpt_event("reject", std::to_string(verdict.code) + " " + verdict.enhanced + " " + verdict.text, rcpt.str());
    return error_reply(verdict.code, verdict.enhanced, verdict.text);
  }
  // HOLD and DISCARD apply to the whole message (access(5)).
  hold_ = hold_ || verdict.hold;
  discard_ = discard_ || verdict.discard;
  bool local = settings_.relay.destination(rcpt) != RelayVerdict::kDenied;
  queue::Recipient r;
  r.address = rcpt.is_postmaster ? "postmaster" : rcpt.str();
  r.notify = args->params.notify;
  if (args->params.orcpt) r.orcpt = args->params.orcpt->addr_type + ";" + args->params.orcpt->address;
  if (!local) {
    rcpts_.push_back(std::move(r));
    return reply(250, "2.1.5", "Ok");
  }
  // A local address: does anyone live there? The answer may need authd, so
  // reading stops until it comes (pipelined commands wait their turn).
  pending_rcpt_ = std::move(r);
  phase_ = Phase::kWaiting;
  pause_reading();
  checking_inline_ = true;
  rcpt_lookup_ = check_recipient(ctx_.loop(), settings_.directory, rcpt,
                                 [this](RecipientStatus status, std::string why) { recipient_checked(status, why); });
  checking_inline_ = false;
}

// "NOQUEUE: reject: RCPT from host[ip]: 554 5.7.1 <x@y>: ...; from=<> to=<>
// proto=ESMTP helo=<>", Postfix's shape (log summarisers read it).
void Session::log_rcpt_event(const char* kind, const std::string& text, const std::string& rcpt) {
  log::info("NOQUEUE: %s: RCPT from %s: %s; from=<%s> to=<%s> proto=%s helo=<%s>", kind, client().c_str(), text.c_str(),
            mail_->sender.str().c_str(), rcpt.c_str(), esmtp_ ? "ESMTP" : "SMTP", helo_.c_str());
}

void Session::recipient_checked(RecipientStatus status, const std::string& why) {
  bool resume = !checking_inline_;  // inline: the command loop goes on by itself
  phase_ = Phase::kCommands;
  const std::string& addr = pending_rcpt_.address;
  switch (status) {
    case RecipientStatus::kExists:
      rcpts_.push_back(std::move(pending_rcpt_));
      reply(250, "2.1.5", "Ok");
      break;
    case RecipientStatus::kUnknown:
      log_rcpt_event("reject", "550 5.1.1 <" + addr + ">: Recipient address rejected: " + why, addr);
      error_reply(550, "5.1.1", "<" + addr + ">: Recipient address rejected: " + why);
      break;
    case RecipientStatus::kTempFail:
      log::warning("recipient check for <%s> failed: %s", addr.c_str(), why.c_str());
      reply(451, "4.3.0", "<" + addr + ">: Temporary lookup failure");
      break;
  }
  check_answered(resume, "RCPT");
}

// After RCPT's or VRFY's recipient check has been answered: reading goes
// on, unless the client left meanwhile. With `resume` false the answer came
// inline, and the command loop goes on by itself.
void Session::check_answered(bool resume, const char* command) {
  if (phase_ == Phase::kClosing) return;
  if (closing_after_wait_) return finish(("lost connection after " + std::string(command)).c_str());
  resume_reading();
  if (resume) process_input();
}

}  // namespace tern::smtpd
