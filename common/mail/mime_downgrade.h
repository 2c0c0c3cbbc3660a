#pragma once
// 8-bit to 7-bit MIME conversion for a next hop that does not offer
// 8BITMIME (RFC 6152 3: the client "MUST either return the message as
// undeliverable or convert it"), streamed a chunk at a time, never the
// whole message in memory.
//
//   MimeDowngrade scan;                        // pass 1: what needs doing
//   while (more) scan.feed(chunk, ignored);  scan.finish(ignored);
//   DowngradePlan plan = scan.plan();
//   if (plan.signed_8bit) bounce 5.6.3;  else if (plan.convert()) {
//     MimeDowngrade conv(plan);                // pass 2: the same bytes again
//     while (more) conv.feed(chunk, out);  conv.finish(out);
//   }
//
// Two passes because the decision for a part is made at the end of its
// header section (the Content-Transfer-Encoding field must be rewritten
// before the body goes out) but depends on the body: a part declared 7bit
// (or declaring nothing) may carry 8-bit bytes all the same, and a
// multipart/signed part deep in the message decides whether the message
// can be sent at all. Both passes run the same state machine, so parts are
// numbered alike.
//
// What is converted (RFC 2045 6.7, RFC 2046 5.1):
//   - a leaf part (any type but multipart/* and message/rfc822) whose body
//     has a byte >= 0x80 or NUL is encoded quoted-printable, line by line
//     (hard line breaks stay CRLF, soft breaks keep encoded lines within 76
//     octets, trailing white space and "=" are encoded); its
//     Content-Transfer-Encoding field is replaced by (or, when absent,
//     completed with) "Content-Transfer-Encoding: quoted-printable", and a
//     top-level message without MIME-Version gets "MIME-Version: 1.0";
//   - multipart/* and message/rfc822 parts, and leaf parts without 8-bit
//     bytes, that declare 8bit or binary are relabelled 7bit (their
//     content is 7-bit once the parts inside are converted);
//   - message/rfc822 bodies are parsed as messages (their parts converted);
//     parts of multipart/digest default to message/rfc822 (RFC 2046 5.1.5).
// What is not (sent as it is, counted in the plan):
//   - 8-bit bytes in header fields (an RFC 2047 encoding would have to
//     guess the charset and the field's structure; Postfix leaves them
//     too), in the preamble or epilogue of a multipart, and in parts past
//     kMaxParts or kMaxDepth, or after a header section longer than
//     kMaxHeader;
//   - anything inside multipart/signed (RFC 1847 2.1: the signed data must
//     not change, or the signature breaks). A message with 8-bit bytes in a
//     signed part cannot be converted: plan.signed_8bit, and smtp-client
//     bounces it 5.6.3 (RFC 3463 "conversion required but not supported")
//     rather than send 8-bit data to a 7-bit server or break the signature.
//
// Lines may end in CRLF or LF; line length is not limited (bytes past
// kMaxLine without a line end are handled as fragments that are never
// boundaries), and every count is bounded, so hostile input costs bounded
// memory.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mail {

struct DowngradePlan {
  bool convertible_8bit = false;  // some leaf body outside multipart/signed has 8-bit bytes
  bool signed_8bit = false;       // some body inside multipart/signed has 8-bit bytes
  bool other_8bit = false;        // 8-bit bytes in headers, preamble, epilogue, unparsed parts
  std::vector<uint8_t> part_8bit;  // by part number: the leaf body has 8-bit bytes
  size_t parts = 0;

  // Something must be rewritten (8-bit bodies to encode).
  bool convert() const { return convertible_8bit; }
  bool any_8bit() const { return convertible_8bit || signed_8bit || other_8bit; }
};

// The quoted-printable encoder (RFC 2045 6.7), streaming: encode() takes
// the bytes of a line in any number of pieces, line_end() ends the line
// with a hard CRLF.
class QpEncoder {
 public:
  void encode(std::string_view in, std::string& out);
  void line_end(std::string& out);
  // The end of the data without a final line end.
  void finish(std::string& out);

 private:
  void token(std::string& out, const char* s, size_t n);
  size_t col_ = 0;
  char pending_ = 0;  // a space or tab not yet known to be trailing
};

class MimeDowngrade {
 public:
  static constexpr size_t kMaxLine = 4096;       // longer: fragments, never a boundary
  static constexpr size_t kMaxHeader = 256 * 1024;  // one part's header section
  static constexpr size_t kMaxDepth = 32;        // nested multiparts and messages
  static constexpr size_t kMaxParts = 10000;

  // Scan: feed() writes nothing; plan() tells what the bytes need.
  MimeDowngrade();
  // Convert by the plan of a scan of the same bytes.
  explicit MimeDowngrade(DowngradePlan plan);

  void feed(std::string_view in, std::string& out);
  void finish(std::string& out);
  const DowngradePlan& plan() const { return plan_; }

 private:
  enum class State { kHeader, kLeaf, kMulti, kOpaque };
  struct Multipart {
    std::string boundary;
    bool is_signed = false;
    bool digest = false;
    bool closed = false;
  };

  void process(std::string_view raw, bool line_start, std::string& out);
  bool boundary(std::string_view content, std::string_view raw, std::string& out);
  void end_header(std::string_view blank, std::string& out);
  void begin_part(bool digest_default);
  void body(std::string_view raw, std::string_view content, bool eol, std::string& out);
  void emit(std::string& out, std::string_view s) {
    if (!scan_) out.append(s);
  }
  bool in_signed() const;

  bool scan_;
  DowngradePlan plan_;
  std::vector<Multipart> stack_;
  State state_ = State::kHeader;
  size_t part_ = 0;
  bool digest_default_ = false;
  bool qp_ = false;
  QpEncoder encoder_;
  std::string header_;
  std::string line_;
  bool mid_line_ = false;  // line_ continues a line whose start was processed
};

}  // namespace tern::mail
