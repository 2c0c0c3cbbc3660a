// sendmail's message path (message.h).

#include "cli/sendmail/message.h"

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "cli/sendmail/drop.h"
#include "common/base/strings.h"
#include "common/mail/address_list.h"
#include "common/mail/header.h"

namespace tern::sendmail {

Result<bool> StdinLines::next(std::string* line) {
  bool skipping = false;  // inside an over-long line: dropped up to its LF
  continued_ = false;
  // A piece of a long line: at most limit_ bytes, never ending in the CR of
  // a CRLF (which the next piece would then not see).
  auto piece = [&] {
    size_t n = limit_;
    if (n > 1 && buf_[pos_ + n - 1] == '\r') --n;
    line->assign(buf_, pos_, n);
    pos_ += n;
    continued_ = true;
    return true;
  };
  for (;;) {
    size_t lf = buf_.find('\n', pos_);
    if (lf != std::string::npos) {
      size_t end = lf;
      if (end > pos_ && buf_[end - 1] == '\r') --end;
      if (!skipping && end - pos_ > limit_ && long_lines_) return piece();
      if (skipping || end - pos_ > limit_) {
        pos_ = lf + 1;
        return make_error(Errc::kLimit, strf("message line longer than %zu bytes (line_length_limit)", limit_));
      }
      line->assign(buf_, pos_, end - pos_);
      pos_ = lf + 1;
      return true;
    }
    if (buf_.size() - pos_ > limit_ + 1) {
      if (long_lines_) return piece();
      skipping = true;
      buf_.clear();
      pos_ = 0;
    }
    if (eof_) {
      if (skipping) return make_error(Errc::kLimit, strf("message line longer than %zu bytes (line_length_limit)", limit_));
      if (pos_ >= buf_.size()) return false;
      if (buf_.size() - pos_ > limit_ && long_lines_) return piece();
      line->assign(buf_, pos_, std::string::npos);  // a last line without LF
      pos_ = buf_.size();
      return true;
    }
    buf_.erase(0, pos_);
    pos_ = 0;
    size_t old = buf_.size();
    buf_.resize(old + 65536);
    ssize_t got;
    do {
      got = ::read(fd_, buf_.data() + old, 65536);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      buf_.resize(old);
      return sys_error("read standard input");
    }
    buf_.resize(old + static_cast<size_t>(got));
    if (got == 0) eof_ = true;
  }
}

Result<bool> DotEndsInput::next(std::string* line) {
  if (done_) return false;
  auto more = in_.next(line);
  if (more && *more && !ignore_dots_ && line_start_ && !in_.continued() && *line == ".") more = false;
  if (more && !*more) done_ = true;
  if (more && *more) line_start_ = !in_.continued();
  return more;
}

Result<bool> SmtpData::next(std::string* line) {
  if (done_) return false;
  auto more = in_.next(line);
  if (!more) return more;
  if (!*more) {
    done_ = true;
    return invalid("input ended inside DATA");
  }
  const bool start = std::exchange(line_start_, !in_.continued());
  if (!start) return true;
  if (*line == "." && !in_.continued()) {
    done_ = true;
    return false;
  }
  if (!line->empty() && (*line)[0] == '.') line->erase(0, 1);
  return true;
}

namespace {

Submitted refused(int status, std::string text) { return {status, std::move(text)}; }

std::string too_big(uint64_t limit) {
  return strf("message larger than message_size_limit (%llu bytes)", static_cast<unsigned long long>(limit));
}

}  // namespace

Submitted submit_message(LineSource& in, queue::Submission env, const MessageOptions& o) {
  mail::HeaderLimits limits;
  limits.total = limits.field = o.header_size_limit;
  limits.fields = o.header_count_limit;
  mail::HeaderParser parser(limits);
  std::string header, line;
  bool separator = false, body_line = false, first = true;
  for (;;) {
    auto more = in.next(&line);
    if (!more) return refused(EX_DATAERR, more.error().text);
    if (!*more) break;
    // A leading mbox "From " line (a message saved from a mailbox) is not
    // part of the message: dropped, as Postfix's sendmail does.
    if (std::exchange(first, false) && line.starts_with("From ") && !in.continued()) continue;
    auto step = parser.add_line(line);
    if (!step) return refused(EX_DATAERR, step.error().text);
    if (*step == mail::HeaderParser::Step::kMore) {
      if (in.continued())
        return refused(EX_DATAERR, "a header line longer than line_length_limit bytes (fold it)");
      header += line + "\r\n";
      continue;
    }
    (*step == mail::HeaderParser::Step::kEnd ? separator : body_line) = true;
    break;
  }
  if (o.extract_recipients) {
    auto found = mail::header_recipients(header);
    if (!found) return refused(EX_DATAERR, "-t: " + found.error().text);
    header = std::move(found->header);
    for (auto& a : found->recipients) {
      if (env.recipients.size() >= queue::kMaxSubmissionRecipients)
        return refused(EX_DATAERR, strf("more than %zu recipients", queue::kMaxSubmissionRecipients));
      queue::Recipient r;
      r.address = std::move(a);
      r.notify = o.notify;
      env.recipients.push_back(std::move(r));
    }
  }
  if (env.recipients.empty())
    return refused(EX_USAGE, "no recipient addresses: name them as arguments, or use -t to take them from the message");
  if (!o.from_header.empty() && !mail::find_field(parser.fields(), "From")) header += o.from_header + "\r\n";

  auto drop = Drop::start(o.terndrop, o.config_dir, env);
  if (!drop) return refused(EX_DATAERR, drop.error().text);
  drop->write(header);
  if (separator || body_line) drop->write("\r\n");
  if (body_line) drop->write(in.continued() ? line : line + "\r\n");
  for (;;) {
    if (o.size_limit != 0 && drop->size() > o.size_limit) {
      drop->abort();
      return refused(EX_DATAERR, too_big(o.size_limit));
    }
    auto more = in.next(&line);
    if (!more) {
      drop->abort();
      return refused(more.error().code == Errc::kSystem ? EX_IOERR : EX_DATAERR, more.error().text);
    }
    if (!*more) break;
    drop->write(line);
    if (!in.continued()) drop->write("\r\n");
  }
  return {drop->finish(), ""};
}

}  // namespace tern::sendmail
