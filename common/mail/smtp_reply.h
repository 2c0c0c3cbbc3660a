#pragma once
// SMTP/LMTP server replies (RFC 5321 4.2), as a client reads them
// (smtp-client; fuzz/smtp_reply_fuzz.cc).
//
//   ReplyReader r;
//   for each line from the server (CRLF or LF removed):
//     auto got = r.feed(line);      // error: protocol error, the session ends
//     if (got && *got) use(**got);  // a complete reply
//
// A reply is one line "NNN text" or several "NNN-text" lines ending with
// "NNN text" (all with the same code). Bounds, as hostile servers exist: a
// line longer than kMaxReplyLine or a reply of more than kMaxReplyLines
// lines is a protocol error (the caller defers; Postfix truncates instead,
// we refuse to guess what such a server meant). A line that does not start
// with three digits and a space, hyphen or end, or a continuation with
// another code, is a protocol error too.
//
// The enhanced status code (RFC 2034, 3463) is taken from the first line
// when its text starts with "X.Y.Z " whose class matches the reply code's
// first digit; otherwise there is none and callers use X.0.0, as Postfix
// does.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::mail {

inline constexpr size_t kMaxReplyLine = 2048;
inline constexpr size_t kMaxReplyLines = 100;

struct Reply {
  int code = 0;               // 200..599
  std::string enhanced;       // "5.1.1", "" when the server gave none
  std::vector<std::string> lines;  // the raw lines, without CR LF

  int klass() const { return code / 100; }
  // The lines joined by one space, as Postfix writes a reply in its logs
  // ("550-5.1.1 first 550 5.1.1 second").
  std::string text() const;
  // The enhanced code, or "X.0.0" for the reply's class ("3.0.0" for an
  // intermediate 3xx reply, which RFC 3463 has no class for: callers map it).
  std::string dsn() const;
};

class ReplyReader {
 public:
  // A complete reply, nullopt when more lines are needed, or an error.
  Result<std::optional<Reply>> feed(std::string_view line);
  // True while a multiline reply is partly read.
  bool partial() const { return !lines_.empty(); }
  void reset() { lines_.clear(); }

 private:
  std::vector<std::string> lines_;
  int code_ = 0;
};

// "X.Y.Z" at the start of text (followed by a space or the end) whose class
// is `klass`; "" otherwise.
std::string enhanced_code_in(std::string_view text, int klass);

}  // namespace tern::mail
