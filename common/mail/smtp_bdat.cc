#include "common/mail/smtp_bdat.h"

#include <cstring>
#include <limits>

#include "common/base/strings.h"

namespace tern::mail {

Result<BdatArgs> parse_bdat_args(std::string_view args) {
  size_t digits = 0;
  while (digits < args.size() && args[digits] >= '0' && args[digits] <= '9') ++digits;
  if (digits == 0) return invalid("the chunk size must be a decimal number");
  if (digits > kMaxChunkSizeDigits) return invalid("the chunk size has too many digits");
  BdatArgs out;
  for (size_t i = 0; i < digits; ++i) out.size = out.size * 10 + static_cast<uint64_t>(args[i] - '0');
  std::string_view rest = args.substr(digits);
  if (rest.empty()) return out;
  if (rest.front() == ' ' && equals_nocase(rest.substr(1), "LAST")) {
    out.last = true;
    return out;
  }
  return invalid("expected only the chunk size and LAST");
}

void ChunkDecoder::feed(std::string_view in, std::string* out) {
  if (in.empty()) return;
  size_t i = 0;
  if (held_cr_) {
    held_cr_ = false;
    if (in.front() == '\n') {
      out->append("\r\n");
      line_open_ = false;
      i = 1;
    } else {
      bare_cr_ = true;
      out->push_back('\r');
      line_open_ = true;
    }
  }
  while (i < in.size()) {
    // The run up to the next CR or LF goes out as it is.
    const char* start = in.data() + i;
    size_t n = in.size() - i;
    size_t stop = n;
    if (const void* cr = std::memchr(start, '\r', n)) stop = static_cast<size_t>(static_cast<const char*>(cr) - start);
    if (const void* lf = std::memchr(start, '\n', stop)) stop = static_cast<size_t>(static_cast<const char*>(lf) - start);
    if (stop > 0) {
      out->append(start, stop);
      line_open_ = true;
      i += stop;
    }
    if (i == in.size()) break;
    if (in[i] == '\n') {
      bare_lf_ = true;
      out->append("\r\n");  // RFC 5321 2.3.8: lines end in CRLF
      line_open_ = false;
      ++i;
      continue;
    }
    // A CR: the octet after it (perhaps in the next chunk) decides.
    if (i + 1 == in.size()) {
      held_cr_ = true;
      break;
    }
    if (in[i + 1] == '\n') {
      out->append("\r\n");
      line_open_ = false;
      i += 2;
    } else {
      bare_cr_ = true;
      out->push_back('\r');
      line_open_ = true;
      ++i;
    }
  }
}

void ChunkDecoder::finish(std::string* out) {
  if (held_cr_) {
    held_cr_ = false;
    bare_cr_ = true;
    out->push_back('\r');
    line_open_ = true;
  }
  if (line_open_) {
    out->append("\r\n");
    line_open_ = false;
  }
}

bool ChunkAccount::admit(uint64_t size) {
  if (limit_ != 0 && (total_ > limit_ || size > limit_ - total_)) return false;
  uint64_t room = std::numeric_limits<uint64_t>::max() - total_;
  total_ += size < room ? size : room;  // no limit: the count saturates
  ++chunks_;
  return true;
}

}  // namespace tern::mail
