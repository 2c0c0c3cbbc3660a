#pragma once
// Reading a message as sendmail(1) gets it, and handing it to terndrop:
// lines end in LF or CRLF (both become CRLF, the queue's form), a header
// line longer than line_length_limit or a message larger than
// message_size_limit is refused with a clear error (body lines may be of
// any length, as in Postfix), the header block is held (at most
// header_size_limit) so that "-t" can take the recipients from it and remove
// Bcc:, and a missing From: is added. A first line starting with "From "
// (the mbox separator of a saved message) is dropped.

#include <sysexits.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/queue/maildrop.h"

namespace tern::sendmail {

// Lines from standard input, without their LF (and CR before it).
class LineSource {
 public:
  virtual ~LineSource() = default;
  // false at the end of the message. kLimit for an over-long line, unless
  // the source gives long lines in pieces: then continued() is true after a
  // piece that does not end its line.
  virtual Result<bool> next(std::string* line) = 0;
  virtual bool continued() const = 0;
};

// Standard input as lines, at most `limit` bytes each (the terminator not
// counted); a last line without LF is a line. With long_lines(true), a
// longer line comes in pieces of at most `limit` bytes instead of being an
// error, so that memory stays bounded (a message body, whose lines Postfix
// and smtpd's DATA take at any length).
class StdinLines final : public LineSource {
 public:
  explicit StdinLines(size_t limit, int fd = 0) : limit_(limit), fd_(fd) {}
  Result<bool> next(std::string* line) override;
  bool continued() const override { return continued_; }
  void long_lines(bool on) { long_lines_ = on; }
  bool at_eof() const { return eof_ && pos_ >= buf_.size(); }

 private:
  size_t limit_;
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool long_lines_ = false;
  bool continued_ = false;
};

// sendmail's rule for standard input: a line holding only "." ends the
// message unless -i (or -oi) was given.
class DotEndsInput final : public LineSource {
 public:
  DotEndsInput(LineSource& in, bool ignore_dots) : in_(in), ignore_dots_(ignore_dots) {}
  Result<bool> next(std::string* line) override;
  bool continued() const override { return in_.continued(); }

 private:
  LineSource& in_;
  bool ignore_dots_;
  bool done_ = false;
  bool line_start_ = true;  // the next piece starts a line
};

// SMTP DATA (sendmail -bs): "." alone ends it, a leading dot is removed
// from the others (RFC 5321 4.5.2).
class SmtpData final : public LineSource {
 public:
  explicit SmtpData(LineSource& in) : in_(in) {}
  Result<bool> next(std::string* line) override;
  bool continued() const override { return in_.continued(); }

 private:
  LineSource& in_;
  bool done_ = false;
  bool line_start_ = true;
};

struct MessageOptions {
  std::string terndrop;    // command_directory/terndrop
  std::string config_dir;  // passed to terndrop when not empty
  bool extract_recipients = false;  // -t
  unsigned notify = 0;              // -N, for the recipients -t finds
  std::string from_header;  // "From: ..." to add when the message has none; "" for none
  uint64_t size_limit = 0;  // message_size_limit; 0 none
  size_t header_size_limit = 102400;
  size_t header_count_limit = 1000;
};

// The outcome, as sendmail's exit status (sysexits.h) and what went wrong.
struct Submitted {
  int status = EX_OK;
  std::string error;  // empty when terndrop said it (or nothing went wrong)
};

// Reads the message from `in` and submits it with `envelope` (recipients
// from -t are added to those it has). No recipient at all is EX_USAGE.
Submitted submit_message(LineSource& in, queue::Submission envelope, const MessageOptions& opts);

}  // namespace tern::sendmail
