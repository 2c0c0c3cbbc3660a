// The header section parser and the trace-field builders
// (common/mail/header.h). Invariants, each abort()ing:
//   - every field has a valid name, its raw text starts with that name, and
//     the limits hold for what was accepted; a limit error names its limit;
//   - the fields written back (CRLF after each) parse to the same fields,
//     and parsing line by line gives the same result as parsing the block;
//   - body_offset lies within the input;
//   - fold_field only inserts CRLF before white space (removing what it
//     added gives the input back);
//   - a Received: built from hostile client text has no line that does not
//     start with white space after the first, and no bare CR or LF.

#include <chrono>
#include <cstring>
#include <string>

#include "common/mail/header.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::mail;

namespace {

bool same_fields(const std::vector<HeaderField>& a, const std::vector<HeaderField>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].raw != b[i].raw) return false;
  return true;
}

void check_block(std::string_view text, const HeaderLimits& limits) {
  HeaderLimit which = HeaderLimit::kNone;
  auto block = parse_header_block(text, limits, &which);
  if (!block) {
    if (which == HeaderLimit::kNone || block.error().code != tern::Errc::kLimit) fail("error without its limit");
    return;
  }
  if (which != HeaderLimit::kNone) fail("success with a limit set");
  if (block->body_offset > text.size()) fail("body_offset past the input");
  if (block->fields.size() > limits.fields) fail("field count limit not enforced");
  std::string written;
  for (const auto& f : block->fields) {
    if (!is_field_name(f.name)) fail("invalid field name accepted");
    if (f.raw.compare(0, f.name.size(), f.name) != 0) fail("raw does not start with the name");
    if (f.raw.size() > limits.field) fail("field size limit not enforced");
    (void)f.unfolded();
    written += f.raw + "\r\n";
  }
  if (written.size() > limits.total) fail("total size limit not enforced");
  written += "\r\n";
  auto again = parse_header_block(written, limits);
  if (!again) fail("written-back header does not parse");
  if (!same_fields(again->fields, block->fields)) fail("written-back header parses differently");
  if (again->body_offset != written.size()) fail("written-back header has a body");

  // Line by line, as smtpd and pickup feed it.
  HeaderParser p(limits);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto step = p.add_line(text.substr(pos, nl - pos));
    if (!step) fail("incremental parse failed where the block parse did not");
    if (*step != HeaderParser::Step::kMore) break;
    pos = nl + 1;
  }
  if (!same_fields(p.fields(), block->fields)) fail("incremental and block parses differ");
}

void check_fold(std::string_view text) {
  // One line without CR or LF: removing every CRLF must give it back.
  std::string line(text.substr(0, 2000));
  for (auto& c : line)
    if (c == '\r' || c == '\n') c = ' ';
  const std::string folded = fold_field(line, 40);
  std::string unfolded;
  for (size_t i = 0; i < folded.size(); ++i) {
    if (folded.compare(i, 2, "\r\n") == 0) {
      if (i + 2 >= folded.size() || (folded[i + 2] != ' ' && folded[i + 2] != '\t')) fail("fold not before WSP");
      ++i;
      continue;
    }
    unfolded.push_back(folded[i]);
  }
  if (unfolded != line) fail("fold_field changed the text");
}

void check_received(std::string_view text) {
  // Split the input into the client-supplied fields.
  std::string parts[4];
  size_t k = 0;
  for (char c : text.substr(0, 4000)) {
    if (c == '\x1f' && k < 3) ++k;
    else parts[k].push_back(c);
  }
  ReceivedInfo r;
  r.helo = parts[0];
  r.client_name = parts[1];
  r.client_addr = parts[2];
  r.recipient = parts[3];
  r.authenticated_sender = parts[1];
  r.by_host = "mx.example";
  r.queue_id = "Q1";
  r.protocol = with_protocol(text.size() & 1, text.size() & 2, text.size() & 4);
  if (text.size() & 8) r.tls = TlsDetails{parts[0], parts[1], 128, 256, parts[2], parts[3]};
  int64_t secs = 0;
  if (!text.empty()) std::memcpy(&secs, text.data(), std::min(text.size(), sizeof secs));
  // Within +-272 years of 1970, so the nanosecond clock cannot overflow.
  r.time = tern::WallTime(std::chrono::seconds(secs % (int64_t(1) << 33)));
  r.zone = TimeZone{static_cast<int>(secs % 86400), parts[3]};
  const std::string h = received_header(r);
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] == '\r' && (i + 1 >= h.size() || h[i + 1] != '\n')) fail("bare CR in Received:");
    if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r')) fail("bare LF in Received:");
    if (h[i] == '\n' && (i + 1 >= h.size() || (h[i + 1] != '\t' && h[i + 1] != ' '))) fail("unfolded new line in Received:");
  }
  auto parsed = parse_header_block(h + "\r\n\r\n");
  if (!parsed || parsed->fields.size() != 1) fail("Received: does not parse as one field");
  (void)make_message_id(parts[0], parts[1], r.time);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  check_block(text, HeaderLimits{});
  check_block(text, HeaderLimits{200, 5, 60});
  check_fold(text);
  check_received(text);
  return 0;
}
