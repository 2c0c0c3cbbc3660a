#pragma once
// The DATA stream as smtpd receives it (RFC 5321 4.1.1.4, 4.5.2): dot-unstuffing, the end of data,
// and what SMTP smuggling abuses.
//
// Only <CRLF>.<CRLF> ends the data: the CRLF before the dot must be a real
// CRLF, so "\n.\r\n" or "\r.\r\n" never ends it (a receiver that accepted
// those would let a sender smuggle a second message past another MTA that
// does not). A bare CR or LF inside the data is recorded; by default the
// session refuses the message with 550 5.5.2 once the real end arrives (the
// connection goes on: the commands a smuggler hid inside are data, and they
// are discarded with it). In normalise mode a bare LF ends a line like CRLF
// and is stored as CRLF (migrated cron mail, broken scripts), and a bare CR
// is kept as is.
//
// The decoded content is what goes on the wire: CRLF line ends, not
// dot-stuffed.

#include <cstddef>
#include <string>
#include <string_view>

namespace tern::mail {

class DataDecoder {
 public:
  enum class BareNewlines { kReject, kNormalize };
  explicit DataDecoder(BareNewlines mode = BareNewlines::kReject) : mode_(mode) {}

  // Decodes as much of `in` as belongs to the data, appending the content to
  // *out, and returns how many bytes it consumed. Once done(), the rest of
  // the input (pipelined commands) is not consumed.
  size_t feed(std::string_view in, std::string* out);
  bool done() const { return state_ == State::kDone; }
  bool saw_bare_lf() const { return bare_lf_; }
  bool saw_bare_cr() const { return bare_cr_; }
  // True when the message must be refused for bare CR/LF (reject mode).
  bool refused() const { return mode_ == BareNewlines::kReject && (bare_lf_ || bare_cr_); }

 private:
  enum class State {
    kLineStart,           // after CRLF (or at the start of the data)
    kLineStartAfterBare,  // after a bare LF: a dot here never ends the data
    kMiddle,              // inside a line
    kCr,                  // saw CR, waiting for LF
    kDot,                 // a dot at the start of a line
    kDotCr,               // a dot at the start of a line, then CR
    kDone,
  };
  void middle_byte(char c, std::string* out);
  void bare_lf(std::string* out);

  BareNewlines mode_;
  State state_ = State::kLineStart;
  bool dot_after_bare_ = false;  // the kDot/kDotCr line began after a bare LF
  bool bare_lf_ = false;
  bool bare_cr_ = false;
};

}  // namespace tern::mail
