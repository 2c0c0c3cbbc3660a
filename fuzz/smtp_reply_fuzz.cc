// Server replies as a client reads them (common/mail/smtp_reply.h).
// Invariants, each abort()ing:
//   - a reply comes out only for a line "NNN" or "NNN text" (a final line),
//     its code is that of every line it was built from, 200..599, and it
//     holds at most kMaxReplyLines lines of at most kMaxReplyLine bytes;
//   - dsn() is X.Y.Z whose class is the code's first digit (3.0.0 for 3xx), and the
//     enhanced code, when set, is the start of the first line's text;
//   - an error leaves the reader ready for a fresh reply.
//
// Input: lines separated by LF, fed one at a time.

#include <string>

#include "common/ipc/delivery_protocol.h"
#include "common/mail/smtp_reply.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  std::string_view text = tern::fuzz::as_text(data, size);
  ReplyReader reader;
  size_t fed = 0;  // lines of the reply in progress
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto got = reader.feed(line);
    ++fed;
    if (!got) {
      if (reader.partial()) fail("an error left a partial reply");
      if (got.error().text.empty()) fail("an error without a reason");
      fed = 0;
      continue;
    }
    if (!*got) {
      if (!reader.partial()) fail("no reply and nothing partial");
      continue;
    }
    const Reply& r = **got;
    if (reader.partial()) fail("a reply left something partial");
    if (r.code < 200 || r.code > 599) fail("a code out of range");
    if (r.lines.size() != fed || r.lines.empty() || r.lines.size() > kMaxReplyLines) fail("wrong line count");
    for (const auto& l : r.lines) {
      if (l.size() > kMaxReplyLine || l.size() < 3) fail("a line of the wrong length");
      if (std::stoi(l.substr(0, 3)) != r.code) fail("a line with another code");
    }
    const std::string& last = r.lines.back();
    if (last.size() > 3 && last[3] != ' ') fail("a reply that does not end with a final line");
    std::string dsn = r.dsn();
    // 3xx (an intermediate reply) has no RFC 3463 class: dsn() says 3.0.0
    // and callers map it (smtp-client/outcome.h).
    if (r.klass() == 3 ? dsn != "3.0.0" : !tern::ipc::is_enhanced_status(dsn) || dsn[0] - '0' != r.klass())
      fail("dsn() is not of the reply's class");
    if (!r.enhanced.empty() && r.lines.front().compare(4, r.enhanced.size(), r.enhanced) != 0)
      fail("the enhanced code is not where it was read");
    fed = 0;
  }
  return 0;
}
