// CHUNKING (common/mail/smtp_bdat.h): the BDAT argument parser, the chunk
// decoder and the running-total account. Invariants, each abort()ing:
//   - parse_bdat_args accepts exactly 1-19 digits, optionally followed by
//     one space and LAST in any case, and returns their decimal value; a
//     refusal says why;
//   - the decoder's output does not depend on where the chunks are cut,
//     equals a plain reference (every LF not after a CR gets one, an
//     unfinished last line gets CRLF), has no bare LF, and its bare CR / bare
//     LF flags say what the input held; kRefuse refuses exactly when a bare
//     CR was seen;
//   - the account never passes its limit and refuses exactly what would.
//
// Input: the first octet picks the chunk length (1-256), the rest is the
// content; the whole input is also parsed as a BDAT argument.

#include <string>

#include "common/mail/smtp_bdat.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::mail;

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool lower_equals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

void check_args(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  std::string_view rest = text.substr(digits);
  const bool valid = digits >= 1 && digits <= kMaxChunkSizeDigits &&
                     (rest.empty() || (rest.size() == 5 && rest[0] == ' ' && lower_equals(rest.substr(1), "last")));
  auto r = parse_bdat_args(text);
  if (r.ok() != valid) fail("parse_bdat_args accepts the wrong inputs");
  if (!r) {
    if (r.error().text.empty()) fail("a refusal without a reason");
    return;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < digits; ++i) value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  if (r->size != value) fail("the chunk size is not the number");
  if (r->last != !rest.empty()) fail("LAST is not what was sent");
}

std::string reference(std::string_view in, bool* bare_lf, bool* bare_cr) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) {
      *bare_lf = true;
      out.push_back('\r');
    }
    if (in[i] == '\r' && (i + 1 == in.size() || in[i + 1] != '\n')) *bare_cr = true;
    out.push_back(in[i]);
  }
  if (!out.empty() && !(out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0)) out += "\r\n";
  return out;
}

std::string decode(ChunkDecoder& d, std::string_view in, size_t step) {
  std::string out;
  for (size_t at = 0; at < in.size(); at += step) d.feed(in.substr(at, step), &out);
  d.finish(&out);
  return out;
}

void check_decoder(std::string_view content, size_t step) {
  bool bare_lf = false, bare_cr = false;
  const std::string want = reference(content, &bare_lf, &bare_cr);
  for (auto mode : {ChunkDecoder::BareCr::kKeep, ChunkDecoder::BareCr::kRefuse}) {
    for (size_t s : {step, content.size() + 1}) {
      ChunkDecoder d(mode);
      const std::string got = decode(d, content, s);
      if (got != want) fail("the decoded content differs from the reference");
      if (d.saw_bare_lf() != bare_lf || d.saw_bare_cr() != bare_cr) fail("the bare CR/LF flags are wrong");
      if (d.refused() != (mode == ChunkDecoder::BareCr::kRefuse && bare_cr)) fail("refused() is wrong");
    }
  }
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] == '\n' && (i == 0 || want[i - 1] != '\r')) fail("a bare LF in the output");
}

void check_account(std::string_view content) {
  const uint64_t limit = content.size() / 2;
  ChunkAccount a(limit);
  uint64_t total = 0;
  for (size_t i = 0; i < content.size() && i < 64; ++i) {
    const uint64_t size = static_cast<unsigned char>(content[i]);
    const bool fits = total + size <= limit || limit == 0;
    if (a.admit(size) != fits) fail("admit() disagrees with the sum");
    if (fits) total += size;
    if (a.total() != total) fail("the total is wrong");
    if (limit != 0 && a.total() > limit) fail("the total passed the limit");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  check_args(text);
  if (text.empty()) return 0;
  const size_t step = static_cast<unsigned char>(text[0]) + 1;
  const std::string_view content = text.substr(1);
  check_decoder(content, step);
  check_account(content);
  return 0;
}
