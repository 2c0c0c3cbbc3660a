// sendmail -bs: a minimal SMTP dialogue on standard input and output (as
// Postfix's "sendmail -bs"), for programs that speak SMTP to a local
// command. Each message goes through terndrop like any other local
// submission, so pickup records the caller's uid and the cleanup step treats
// it as local mail.
//
// Commands: EHLO (PIPELINING, SIZE, 8BITMIME, DSN, ENHANCEDSTATUSCODES),
// HELO, MAIL (SIZE, BODY, RET, ENVID; SMTPUTF8 is not offered), RCPT
// (NOTIFY, ORCPT), DATA, RSET, NOOP, VRFY (252), HELP, QUIT. The end of
// input ends the dialogue. Replies carry RFC 3463 enhanced status codes.

#include "cli/sendmail/smtp.h"

#include <cstdio>

#include "common/base/strings.h"
#include "common/mail/smtp_path.h"

namespace tern::sendmail {
namespace {

void reply(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  std::fputs("\r\n", stdout);
  std::fflush(stdout);
}

// "MAIL FROM:<a>" -> the text after "FROM:", or nullopt.
std::optional<std::string_view> after_keyword(std::string_view args, std::string_view keyword) {
  if (!starts_with_nocase(args, keyword)) return std::nullopt;
  return args.substr(keyword.size());
}

std::string path_reply(mail::ArgFault why, bool sender, const std::string& text) {
  switch (why) {
    case mail::ArgFault::kParamUnknown: return "555 5.5.4 Error: " + text;
    case mail::ArgFault::kParamSyntax: return "501 5.5.4 Error: " + text;
    case mail::ArgFault::kNonAscii: return "553 5.6.7 Error: " + text;
    default: return std::string(sender ? "501 5.1.7" : "501 5.1.3") + " Error: " + text;
  }
}

}  // namespace

int run_smtp(const SmtpOptions& o) {
  StdinLines in(o.line_limit);
  mail::ArgOptions args;
  args.offered.smtputf8 = false;
  std::optional<queue::Submission> tx;
  reply("220 " + o.banner);
  std::string line;
  for (;;) {
    auto more = in.next(&line);
    if (!more) {
      if (more.error().code != Errc::kLimit) return EX_IOERR;
      reply("500 5.5.2 Error: line too long");
      continue;
    }
    if (!*more) return 0;
    std::string_view l = trim(line);
    size_t sp = l.find(' ');
    std::string verb = to_lower(l.substr(0, sp));
    std::string_view rest = sp == std::string_view::npos ? std::string_view() : trim(l.substr(sp + 1));
    if (verb == "ehlo") {
      tx.reset();
      std::string size = o.message.size_limit ? strf(" %llu", static_cast<unsigned long long>(o.message.size_limit)) : "";
      reply("250-" + o.hostname + "\r\n250-PIPELINING\r\n250-SIZE" + size +
            "\r\n250-8BITMIME\r\n250-DSN\r\n250 ENHANCEDSTATUSCODES");
    } else if (verb == "helo") {
      tx.reset();
      reply("250 " + o.hostname);
    } else if (verb == "mail") {
      auto from = after_keyword(rest, "FROM:");
      if (!from) {
        reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        continue;
      }
      if (tx) {
        reply("503 5.5.1 Error: nested MAIL command");
        continue;
      }
      mail::ArgFault why = mail::ArgFault::kNone;
      auto m = mail::parse_mail_args(trim(*from), args, &why);
      if (!m) {
        reply(path_reply(why, true, m.error().text));
        continue;
      }
      if (m->params.size && o.message.size_limit && *m->params.size > o.message.size_limit) {
        reply("552 5.3.4 Message size exceeds fixed limit");
        continue;
      }
      tx.emplace();
      tx->sender = m->sender.is_null ? "" : m->sender.str();
      if (m->params.ret == mail::Ret::kFull) tx->ret = queue::DsnRet::kFull;
      if (m->params.ret == mail::Ret::kHdrs) tx->ret = queue::DsnRet::kHdrs;
      if (m->params.envid) tx->envid = *m->params.envid;
      reply("250 2.1.0 Ok");
    } else if (verb == "rcpt") {
      auto to = after_keyword(rest, "TO:");
      if (!to) {
        reply("501 5.5.4 Syntax: RCPT TO:<address>");
        continue;
      }
      if (!tx) {
        reply("503 5.5.1 Error: need MAIL command");
        continue;
      }
      if (tx->recipients.size() >= queue::kMaxSubmissionRecipients) {
        reply("452 4.5.3 Error: too many recipients");
        continue;
      }
      mail::ArgFault why = mail::ArgFault::kNone;
      auto r = mail::parse_rcpt_args(trim(*to), args, false, &why);
      if (!r) {
        reply(path_reply(why, false, r.error().text));
        continue;
      }
      queue::Recipient rcpt;
      rcpt.address = r->recipient.str();
      rcpt.notify = r->params.notify;
      if (r->params.orcpt) rcpt.orcpt = r->params.orcpt->addr_type + ";" + r->params.orcpt->address;
      tx->recipients.push_back(std::move(rcpt));
      reply("250 2.1.5 Ok");
    } else if (verb == "data") {
      if (!tx) {
        reply("503 5.5.1 Error: need MAIL command");
        continue;
      }
      if (tx->recipients.empty()) {
        reply("503 5.5.1 Error: need RCPT command");
        continue;
      }
      reply("354 End data with <CR><LF>.<CR><LF>");
      SmtpData data(in);
      in.long_lines(true);  // DATA's lines, as smtpd's, at any length; commands stay limited
      Submitted s = submit_message(data, std::move(*tx), o.message);
      tx.reset();
      // Read the rest of a refused message: its lines are data, not commands.
      std::string skip;
      for (;;) {
        auto m = data.next(&skip);
        if (m && !*m) break;
        if (!m && m.error().code != Errc::kLimit) break;
      }
      in.long_lines(false);
      if (in.at_eof() && s.status != EX_OK) return s.status;
      if (s.status == EX_OK) reply("250 2.0.0 Ok: queued");
      else if (s.status == EX_DATAERR) reply("552 5.3.4 Error: " + s.error);
      else if (s.status == EX_NOPERM) reply("553 5.7.1 Error: sender refused");
      else reply("451 4.3.0 Error: queue file write error");
    } else if (verb == "rset") {
      tx.reset();
      reply("250 2.0.0 Ok");
    } else if (verb == "noop") {
      reply("250 2.0.0 Ok");
    } else if (verb == "vrfy") {
      reply("252 2.0.0 Send some mail, I'll try my best");
    } else if (verb == "help") {
      reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");
    } else if (verb == "quit") {
      reply("221 2.0.0 Bye");
      return 0;
    } else {
      reply("502 5.5.2 Error: command not recognized");
    }
  }
}

}  // namespace tern::sendmail
