// FETCH BODY[section]<partial> bytes (fetch_section.h).

#include "common/imap/fetch_section.h"

#include <algorithm>
#include <cstring>

#include "common/base/strings.h"

namespace tern::imap {
namespace {

using mail::MimePart;
using mail::MimeTree;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Appends `line` (without its line end) and CRLF.
void add_line(std::string* out, std::string_view line) {
  out->append(line);
  out->append("\r\n");
}

// HEADER.FIELDS (names) or, with `exclude`, HEADER.FIELDS.NOT: the header
// lines of the matching fields, folds kept, CRLF line ends, then CRLF.
std::string header_fields(std::string_view header, const std::vector<std::string>& names, bool exclude) {
  std::string out;
  bool taking = false;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t nl = header.find('\n', pos);
    size_t end = nl == std::string_view::npos ? header.size() : nl;
    std::string_view line = header.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl == std::string_view::npos ? header.size() : nl + 1;
    if (line.empty()) break;  // the empty line that ends the header
    if (!is_wsp(line[0])) {
      size_t colon = line.find(':');
      std::string_view name = line.substr(0, colon == std::string_view::npos ? 0 : colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
      bool named = false;
      for (const auto& n : names)
        if (!name.empty() && equals_nocase(n, name)) named = true;
      taking = !name.empty() && named != exclude;
    }
    if (taking) add_line(&out, line);
  }
  out.append("\r\n");
  return out;
}

// The encapsulated message a HEADER/TEXT section names: the message itself
// for no part number, else the message inside a message/rfc822 part.
std::optional<uint32_t> message_of(const MimeTree& tree, const std::vector<uint32_t>& part) {
  if (part.empty()) return 0u;
  auto e = mail::resolve_section(tree, part);
  if (!e) return std::nullopt;
  const MimePart& p = tree.parts[*e];
  if (p.kind != MimePart::Kind::kMessage || p.children.empty()) return std::nullopt;
  return p.children[0];
}

}  // namespace

void SectionData::set_range(std::string_view message, size_t begin, size_t end, uint64_t full_size, bool bare_lf,
                            const std::optional<Partial>& partial) {
  exists_ = true;
  pos_ = begin;
  end_ = end;
  normalise_ = bare_lf;
  left_ = full_size;
  if (!partial) return;
  uint64_t origin = partial->origin;
  if (origin >= full_size) {
    left_ = 0;
    return;
  }
  left_ = std::min<uint64_t>(partial->count, full_size - origin);
  if (!normalise_) {
    pos_ += origin;
    return;
  }
  // Skip `origin` octets of the normalised form.
  uint64_t skip = origin;
  while (skip > 0 && pos_ < end_) {
    const char* nl = static_cast<const char*>(std::memchr(message.data() + pos_, '\n', end_ - pos_));
    size_t line_end = nl ? static_cast<size_t>(nl - message.data()) : end_;
    if (skip <= line_end - pos_) {
      pos_ += skip;
      return;
    }
    skip -= line_end - pos_;
    pos_ = line_end;
    if (pos_ == end_) break;
    bool bare = pos_ == 0 || message[pos_ - 1] != '\r';
    if (bare) {
      // "\n" sends as "\r\n": two octets.
      if (skip == 1) {
        pending_lf_ = true;
        ++pos_;
        return;
      }
      skip -= 2;
    } else {
      skip -= 1;
    }
    ++pos_;
  }
}

void SectionData::set_text(std::string text, const std::optional<Partial>& partial) {
  exists_ = true;
  built_ = true;
  text_ = std::move(text);
  pos_ = 0;
  left_ = text_.size();
  if (!partial) return;
  if (partial->origin >= text_.size()) {
    left_ = 0;
    return;
  }
  pos_ = partial->origin;
  left_ = std::min<uint64_t>(partial->count, text_.size() - pos_);
}

size_t SectionData::read(std::string_view message, std::string* out, size_t max) {
  size_t want = static_cast<size_t>(std::min<uint64_t>(left_, max));
  if (want == 0) return 0;
  if (built_ || !normalise_) {
    std::string_view src = built_ ? std::string_view(text_) : message;
    out->append(src.substr(pos_, want));
    pos_ += want;
    left_ -= want;
    return want;
  }
  size_t done = 0;
  if (pending_lf_) {
    out->push_back('\n');
    pending_lf_ = false;
    ++done;
  }
  while (done < want && pos_ < end_) {
    const char* nl = static_cast<const char*>(std::memchr(message.data() + pos_, '\n', end_ - pos_));
    size_t line_end = nl ? static_cast<size_t>(nl - message.data()) : end_;
    size_t n = std::min(line_end - pos_, want - done);
    out->append(message.substr(pos_, n));
    pos_ += n;
    done += n;
    if (done == want || pos_ == end_) break;
    // At a LF.
    bool bare = pos_ == 0 || message[pos_ - 1] != '\r';
    if (bare) {
      out->push_back('\r');
      ++done;
      if (done == want) {
        pending_lf_ = true;
        ++pos_;
        break;
      }
    }
    out->push_back('\n');
    ++done;
    ++pos_;
  }
  left_ -= done;
  return done;
}

std::string SectionData::read_all(std::string_view message) {
  std::string out;
  out.reserve(static_cast<size_t>(left_));
  while (read(message, &out, size_t{1} << 20) > 0) {
  }
  return out;
}

SectionData fetch_section(std::string_view message, const MimeTree& tree, const Section& section,
                          const std::optional<Partial>& partial) {
  SectionData d;
  if (tree.parts.empty()) return d;
  const bool lf = tree.has_bare_lf;
  auto header_of = [&](uint32_t i) {
    const MimePart& p = tree.parts[i];
    d.set_range(message, p.header_begin, p.body_begin, p.header_size, lf, partial);
  };
  auto body_of = [&](uint32_t i) {
    const MimePart& p = tree.parts[i];
    d.set_range(message, p.body_begin, p.body_end, p.body_size, lf, partial);
  };
  switch (section.text) {
    case SectionText::kNone:
      if (section.part.empty()) {
        d.set_range(message, 0, tree.parts[0].body_end, tree.size(), lf, partial);
      } else if (auto e = mail::resolve_section(tree, section.part)) {
        body_of(*e);
      }
      break;
    case SectionText::kMime:
      if (auto e = mail::resolve_section(tree, section.part)) header_of(*e);
      break;
    case SectionText::kHeader:
      if (auto m = message_of(tree, section.part)) header_of(*m);
      break;
    case SectionText::kText:
      if (auto m = message_of(tree, section.part)) body_of(*m);
      break;
    case SectionText::kHeaderFields:
    case SectionText::kHeaderFieldsNot:
      if (auto m = message_of(tree, section.part)) {
        const MimePart& p = tree.parts[*m];
        std::string_view header = message.substr(p.header_begin, p.body_begin - p.header_begin);
        d.set_text(header_fields(header, section.fields, section.text == SectionText::kHeaderFieldsNot), partial);
      }
      break;
  }
  return d;
}

}  // namespace tern::imap
