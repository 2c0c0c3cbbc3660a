// The MIME tree (common/mail/mime.h) and what IMAP renders from it:
// BODYSTRUCTURE, ENVELOPE, every BODY[section] (common/imap/*). Invariants,
// each abort()ing:
//   - offsets are ordered and inside the input, children point forward to
//     entities whose parent they are, no entity is deeper than the limit;
//   - each entity's CRLF sizes are those of its raw ranges, and the
//     message's is store::crlf_size() of the input (RFC822.SIZE);
//   - the input with its bare LFs made CRLF gives the same BODYSTRUCTURE,
//     BODY, ENVELOPE and section bytes (LF files are served as CRLF);
//   - BODYSTRUCTURE and ENVELOPE are balanced: parentheses outside quoted
//     strings and literals match, literals have the size they announce;
//   - every section's size() is the number of bytes read, and a partial
//     is the matching substring of the whole section.
// The seeds are tests/data/mime's messages and a few hostile shapes.

#include <cstring>
#include <string>

#include "common/imap/bodystructure.h"
#include "common/imap/envelope.h"
#include "common/imap/fetch_section.h"
#include "common/mail/mime.h"
#include "common/store/message_file.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern;

namespace {

std::string to_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 16);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

// Parentheses balance outside quoted strings and literals.
void check_balanced(std::string_view s) {
  long depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i)
        if (s[i] == '\\') ++i;
      if (i >= s.size()) fail("unterminated quoted string");
    } else if (c == '{') {
      size_t close = s.find('}', i);
      if (close == std::string_view::npos) fail("unterminated literal size");
      size_t n = std::stoul(std::string(s.substr(i + 1, close - i - 1)));
      if (s.compare(close + 1, 2, "\r\n") != 0 || close + 3 + n > s.size()) fail("literal runs past the end");
      i = close + 2 + n;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) fail("unbalanced ')'");
    } else if (c == '\r' || c == '\n') {
      fail("line end outside a literal");
    }
  }
  if (depth != 0) fail("unbalanced '('");
}

void check_tree(std::string_view msg, const mail::MimeTree& t, const mail::MimeLimits& limits) {
  if (t.parts.empty()) fail("no entity");
  if (t.parts.size() > limits.parts) fail("parts limit not enforced");
  if (t.size() != store::crlf_size(msg)) fail("message size is not its CRLF size");
  for (size_t i = 0; i < t.parts.size(); ++i) {
    const auto& p = t.parts[i];
    if (!(p.header_begin <= p.body_begin && p.body_begin <= p.body_end && p.body_end <= msg.size()))
      fail("offsets out of order");
    if (p.depth >= limits.nesting && limits.nesting > 0) fail("nesting limit not enforced");
    if (store::crlf_size(msg.substr(p.header_begin, p.body_begin - p.header_begin)) != p.header_size)
      fail("header size is not the CRLF size of its range");
    if (store::crlf_size(msg.substr(p.body_begin, p.body_end - p.body_begin)) != p.body_size)
      fail("body size is not the CRLF size of its range");
    for (uint32_t c : p.children) {
      if (c <= i || c >= t.parts.size() || t.parts[c].parent != i) fail("bad child");
      if (t.parts[c].depth != p.depth + 1) fail("child depth");
      if (t.parts[c].header_begin < p.body_begin || t.parts[c].body_end > p.body_end) fail("child outside its parent");
    }
    if (p.kind == mail::MimePart::Kind::kMessage && p.children.size() != 1) fail("message/rfc822 without its message");
  }
}

// All the sections worth asking for: the message's, and every part's.
std::vector<imap::Section> sections(const mail::MimeTree& t) {
  using imap::SectionText;
  std::vector<imap::Section> out;
  auto add = [&](std::vector<uint32_t> part) {
    for (auto text : {SectionText::kNone, SectionText::kHeader, SectionText::kText, SectionText::kMime,
                      SectionText::kHeaderFields, SectionText::kHeaderFieldsNot}) {
      if (text == SectionText::kMime && part.empty()) continue;
      imap::Section s;
      s.part = part;
      s.text = text;
      if (text == SectionText::kHeaderFields || text == SectionText::kHeaderFieldsNot)
        s.fields = {"Subject", "content-type", "X"};
      out.push_back(std::move(s));
    }
  };
  add({});
  // Part numbers down the first children and across the top level, bounded.
  std::vector<uint32_t> path;
  for (int depth = 0; depth < 6; ++depth) {
    for (uint32_t n = 1; n <= 4; ++n) {
      auto p = path;
      p.push_back(n);
      if (mail::resolve_section(t, p)) add(p);
    }
    path.push_back(1);
    if (!mail::resolve_section(t, path)) break;
  }
  return out;
}

std::string all(std::string_view msg, const mail::MimeTree& t, const imap::Section& s,
                std::optional<imap::Partial> partial = std::nullopt) {
  imap::SectionData d = imap::fetch_section(msg, t, s, partial);
  uint64_t size = d.size();
  std::string out;
  while (d.read(msg, &out, 4096) > 0) {
  }
  if (out.size() != size) fail("section size differs from the bytes read");
  if (!d.exists() && size) fail("a missing section has bytes");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  std::string_view msg = tern::fuzz::as_text(data, size);
  mail::MimeLimits limits;
  limits.nesting = 20;
  limits.parts = 300;
  mail::MimeTree t = mail::parse_mime(msg, limits);
  check_tree(msg, t, limits);
  const std::string bs = imap::body_structure(msg, t, true);
  const std::string body = imap::body_structure(msg, t, false);
  const std::string env = imap::envelope(msg, t);
  check_balanced(bs);
  check_balanced(body);
  check_balanced(env);

  const std::string crlf = to_crlf(msg);
  mail::MimeTree u = mail::parse_mime(crlf, limits);
  check_tree(crlf, u, limits);
  if (u.parts.size() != t.parts.size()) fail("LF and CRLF forms divide differently");
  if (imap::body_structure(crlf, u, true) != bs) fail("LF and CRLF forms give different BODYSTRUCTUREs");
  if (imap::body_structure(crlf, u, false) != body) fail("LF and CRLF forms give different BODYs");
  if (imap::envelope(crlf, u) != env) fail("LF and CRLF forms give different ENVELOPEs");

  for (const auto& s : sections(t)) {
    const std::string whole = all(msg, t, s);
    if (all(crlf, u, s) != whole) fail("LF and CRLF forms give different section bytes");
    for (uint32_t origin : {0u, 1u, 2u, 7u, static_cast<uint32_t>(whole.size() / 2), static_cast<uint32_t>(whole.size())})
      for (uint32_t count : {1u, 3u, 1000u}) {
        std::string want = origin < whole.size() ? whole.substr(origin, count) : std::string();
        if (all(msg, t, s, imap::Partial{origin, count}) != want) fail("partial is not the substring");
      }
  }
  return 0;
}
