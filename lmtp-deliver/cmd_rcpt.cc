// RCPT TO: (RFC 5321 4.1.1.3) with NOTIFY and ORCPT (RFC 3461) accepted.
// The user is looked up in authd's userdb (the key without the
// recipient_delimiter extension); with a quota, the mailbox is checked on
// the worker pool (maildirsize), so a full one is refused now with 452
// 4.2.2 rather than after the data.

#include "common/base/log.h"
#include "common/base/strings.h"
#include "lmtp-deliver/session.h"

namespace tern::lmtp {

void Session::cmd_rcpt(const Command& c) {
  if (!mail_) return reply(503, "5.5.1", "Error: need MAIL command");
  // RFC 5321 4.5.3.1.8: 452 beyond the limit, so the client sends the rest
  // in another transaction.
  if (static_cast<int>(rcpts_.size()) >= settings_.recipient_limit)
    return reply(452, "4.5.3", "Error: too many recipients");
  mail::ArgFault why = mail::ArgFault::kNone;
  auto args = mail::parse_rcpt_args(c.args, arg_options(), mail_->params.smtputf8, &why);
  if (!args) return arg_error(why, /*sender=*/false);
  Rcpt r;
  r.address = args->recipient.str();
  if (args->recipient.is_postmaster) {
    // <Postmaster> without a domain (RFC 5321 4.5.1): the one of this host.
    r.resolved.user = "postmaster@" + to_lower(settings_.myhostname);
    r.resolved.delivered_to = r.resolved.user;
  } else {
    r.resolved = resolve_recipient(args->recipient, settings_.delimiters);
  }
  for (size_t i = 0; i < rcpts_.size(); ++i) {
    // Local parts of the userdb's users compare without regard to case (as
    // the lookup does), so Bob@ and bob@ are one recipient.
    if (rcpts_[i].dup_of < 0 && equals_nocase(rcpts_[i].resolved.delivered_to, r.resolved.delivered_to)) {
      // One copy per recipient; this RCPT still gets its own reply after
      // DATA (RFC 2033 4.2), the first one's.
      r.dup_of = static_cast<int>(i);
      rcpts_.push_back(std::move(r));
      return reply(250, "2.1.5", "Ok");
    }
  }
  pending_ = std::move(r);
  wait();
  auto done = [this](auth::UserdbReply reply) { userdb_answered(std::move(reply)); };
  lookup_ = settings_.userdb ? settings_.userdb->lookup(pending_.resolved.user, "lmtp", done)
                             : auth::UserdbLookup::start(ctx_.loop(), settings_.userdb_socket, pending_.resolved.user,
                                                         "lmtp", settings_.userdb_timeout, done);
}

void Session::userdb_answered(auth::UserdbReply r) {
  const std::string& addr = pending_.address;
  switch (r.status) {
    case auth::UserdbStatus::kNotFound:
      return accept_rcpt(Reply{550, "5.1.1", "<" + addr + "> User unknown"});
    case auth::UserdbStatus::kTempFail:
      log::warning("%s: userdb lookup for <%s> failed: %s", id_.c_str(), pending_.resolved.user.c_str(),
                   r.reason.c_str());
      return accept_rcpt(Reply{451, "4.3.0", "<" + addr + "> Temporary lookup failure"});
    case auth::UserdbStatus::kFound: break;
  }
  std::string home = r.fields["home"];
  if (!home.empty() && home[0] != '/' && !settings_.mailbox_base.empty()) home = settings_.mailbox_base + "/" + home;
  if (home.empty() || home[0] != '/') {
    log::warning("%s: userdb gives %s no absolute home: %s", id_.c_str(), r.user.c_str(),
                 home.empty() ? "none" : home.c_str());
    return accept_rcpt(Reply{451, "4.3.0", "<" + addr + "> Temporary failure: no mailbox configured"});
  }
  auto quota = store::user_quota(r.fields, settings_.quota_rule);
  if (!quota) {
    log::warning("%s: quota rule of %s: %s", id_.c_str(), r.user.c_str(), quota.error().text.c_str());
    return accept_rcpt(Reply{451, "4.3.0", "<" + addr + "> Temporary failure: quota configuration"});
  }
  pending_.box.home = home;
  pending_.box.mailbox_base = settings_.mailbox_base;
  pending_.box.quota = *quota;
  if (quota->unlimited()) return accept_rcpt(Reply{250, "2.1.5", "Ok"});
  // Already full? maildirsize is read on the worker pool.
  auto result = std::make_shared<Reply>();
  std::weak_ptr<bool> alive = alive_;
  Mailbox box = pending_.box;
  ctx_.workers().submit([box, addr, result] { *result = check_mailbox(box, addr); },
                        [this, alive, result] {
                          if (alive.expired()) return;
                          accept_rcpt(*result);
                        });
}

void Session::accept_rcpt(const Reply& r) {
  if (r.ok()) {
    rcpts_.push_back(std::move(pending_));
  } else {
    log::info("%s: reject: RCPT from %s: %s; from=<%s> to=<%s>", id_.c_str(), peer_.address.c_str(),
              r.line().c_str(), mail_->sender.str().c_str(), pending_.address.c_str());
  }
  pending_ = Rcpt();
  send(r);
  resume();
}

}  // namespace tern::lmtp
