#pragma once
// CHUNKING (RFC 3030): the BDAT command's argument, the octet count of a
// transaction, and what happens to the content's line ends.
//
//   bdat-cmd   = "BDAT" SP chunk-size [ SP end-marker ] CR LF
//   chunk-size = 1*DIGIT
//   end-marker = "LAST"
//
// Exactly chunk-size octets follow the command line: no dot-stuffing and no
// end marker, so the content can never end early or hide a command (there
// is nothing to smuggle with). Decisions (written down per DESIGN.md):
//   - chunk-size has at most 19 digits (it fits in 64 bits); a longer or
//     malformed number, a sign, extra spaces or words are a syntax error
//     (501 5.5.4). "LAST" is case-insensitive, as SMTP keywords are.
//   - CHUNKING without BINARYMIME, as Postfix offers it: the queue holds the
//     message as it goes on the wire (CRLF line ends), so a bare LF is stored
//     as CRLF whatever smtpd_forbid_bare_newline says (in BDAT it cannot end
//     the data anywhere, and once it is CRLF it cannot end it at the next
//     hop either). A bare CR is kept as sent only when the administrator
//     chose smtpd_forbid_bare_newline = normalize; by default it refuses the
//     message, as in DATA, since relayed with DATA a "<CR>.<CR><LF>" could
//     end the message early at a lenient next hop.
//   - A CRLF may be split between two chunks: the decoder keeps a CR that
//     ends a chunk until the next octet (or the end of the message) says
//     what it was.
//   - A message whose last line has no CRLF gets one at the end, as Postfix
//     does: RFC 5322 2.1 lines end in CRLF, and relayed with DATA the
//     message could not be sent otherwise.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::mail {

inline constexpr size_t kMaxChunkSizeDigits = 19;

struct BdatArgs {
  uint64_t size = 0;
  bool last = false;
};

// The text after "BDAT " (the command line without its CRLF). kInvalid with
// a reason on any syntax error.
Result<BdatArgs> parse_bdat_args(std::string_view args);

// The content of one message sent in chunks, octets in, wire form out.
class ChunkDecoder {
 public:
  enum class BareCr { kRefuse, kKeep };
  explicit ChunkDecoder(BareCr mode = BareCr::kRefuse) : mode_(mode) {}

  // Appends the wire form of `in` (the next octets of the content) to *out.
  void feed(std::string_view in, std::string* out);
  // The end of the message (BDAT ... LAST): a CR still held is a bare CR,
  // and an unfinished last line gets its CRLF.
  void finish(std::string* out);

  bool saw_bare_lf() const { return bare_lf_; }
  bool saw_bare_cr() const { return bare_cr_; }
  // True when the message must be refused (a bare CR in kRefuse mode).
  bool refused() const { return mode_ == BareCr::kRefuse && bare_cr_; }

 private:
  BareCr mode_;
  bool held_cr_ = false;  // the last octet fed was a CR
  bool line_open_ = false;  // output since the last CRLF
  bool bare_lf_ = false;
  bool bare_cr_ = false;
};

// The octets announced by the BDAT commands of one transaction, against
// message_size_limit (RFC 1870 applies to the whole message, not a chunk).
class ChunkAccount {
 public:
  explicit ChunkAccount(uint64_t limit) : limit_(limit) {}  // 0: no limit
  // Counts a chunk of `size` octets; false (and nothing counted) when the
  // running total would pass the limit.
  bool admit(uint64_t size);
  uint64_t total() const { return total_; }
  int chunks() const { return chunks_; }

 private:
  uint64_t limit_;
  uint64_t total_ = 0;
  int chunks_ = 0;
};

}  // namespace tern::mail
