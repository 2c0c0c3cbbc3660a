// RFC 2047 encoded-word decoding (rfc2047.h).

#include "common/mail/rfc2047.h"

#include <optional>

#include "common/base/strings.h"
#include "common/mail/charset.h"
#include "common/mail/transfer_encoding.h"

namespace tern::mail {
namespace {

struct Word {
  size_t begin = 0;  // of "=?"
  size_t end = 0;    // past "?="
  std::string charset;
  std::string bytes;  // decoded, still in the charset
};

// An encoded word starting at text[i] ("=?"), or nullopt.
std::optional<Word> word_at(std::string_view text, size_t i) {
  // encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
  size_t q1 = text.find('?', i + 2);
  if (q1 == std::string_view::npos || q1 == i + 2) return std::nullopt;
  if (q1 + 2 >= text.size() || text[q1 + 2] != '?') return std::nullopt;
  char enc = text[q1 + 1];
  size_t end = text.find("?=", q1 + 3);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view charset = text.substr(i + 2, q1 - i - 2);
  std::string_view payload = text.substr(q1 + 3, end - q1 - 3);
  for (char c : payload)
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return std::nullopt;
  for (char c : charset)
    if (c == ' ' || c == '\t' || c == '=') return std::nullopt;
  if (size_t star = charset.find('*'); star != std::string_view::npos) charset = charset.substr(0, star);
  Word w;
  w.begin = i;
  w.end = end + 2;
  w.charset = std::string(charset);
  if (enc == 'B' || enc == 'b') {
    w.bytes = decode_base64_lenient(payload);
  } else if (enc == 'Q' || enc == 'q') {
    w.bytes = decode_q(payload);
  } else {
    return std::nullopt;
  }
  return w;
}

bool only_space(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

}  // namespace

std::string decode_rfc2047(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;      // next byte of text not yet copied
  std::string run;     // bytes of adjacent words in one charset
  std::string run_cs;  // their charset
  std::string run_raw; // their raw text, for an unknown charset
  auto flush = [&] {
    if (run_cs.empty()) return;
    auto utf8 = convert_to_utf8(run, run_cs);
    out += utf8 ? *utf8 : run_raw;
    run.clear();
    run_cs.clear();
    run_raw.clear();
  };
  size_t search = 0;
  while (true) {
    size_t i = text.find("=?", search);
    if (i == std::string_view::npos) break;
    auto w = word_at(text, i);
    if (!w) {
      search = i + 2;
      continue;
    }
    std::string_view between = text.substr(pos, i - pos);
    bool adjacent = !run_cs.empty() && only_space(between);
    if (!adjacent) {
      flush();
      out += between;
    }
    if (!run_cs.empty() && !equals_nocase(run_cs, w->charset)) flush();
    if (run_cs.empty()) run_cs = w->charset;
    run += w->bytes;
    run_raw += text.substr(w->begin, w->end - w->begin);
    pos = search = w->end;
  }
  flush();
  out += text.substr(pos);
  return out;
}

}  // namespace tern::mail
