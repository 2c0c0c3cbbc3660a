#include "common/imap/fetch_items.h"

#include "common/imap/response.h"

namespace tern::imap {

namespace {

struct Simple {
  std::string_view name;
  FetchAttr attr;
};
constexpr Simple kSimple[] = {
    {"FLAGS", FetchAttr::kFlags},
    {"INTERNALDATE", FetchAttr::kInternalDate},
    {"RFC822", FetchAttr::kRfc822},
    {"RFC822.HEADER", FetchAttr::kRfc822Header},
    {"RFC822.TEXT", FetchAttr::kRfc822Text},
    {"RFC822.SIZE", FetchAttr::kRfc822Size},
    {"ENVELOPE", FetchAttr::kEnvelope},
    {"BODY", FetchAttr::kBody},
    {"BODYSTRUCTURE", FetchAttr::kBodyStructure},
    {"UID", FetchAttr::kUid},
};

std::string_view simple_name(FetchAttr attr) {
  for (const Simple& s : kSimple) {
    if (s.attr == attr) return s.name;
  }
  return "BODY";
}

// Decimal number of at most 32 bits; `nonzero`: nz-number (no leading 0).
bool parse_u32(std::string_view s, bool nonzero, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  if (nonzero && s[0] == '0') return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > 0xffffffffu) return false;
  *out = static_cast<uint32_t>(n);
  return true;
}

// RFC 5322 3.6.8 field-name: printable US-ASCII except ":".
bool valid_field_name(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == ':') return false;
  }
  return true;
}

// header-list = "(" header-fld-name *(SP header-fld-name) ")", the names
// being astrings: ASTRING-CHAR atoms or quoted strings (command.h: no
// literals inside a section).
Status parse_header_list(std::string_view s, std::vector<std::string>* fields) {
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return invalid("header list expected");
  s = s.substr(1, s.size() - 2);
  size_t i = 0;
  for (;;) {
    if (fields->size() == kMaxHeaderFields) return make_error(Errc::kLimit, "too many header fields");
    std::string name;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) return invalid("unterminated quoted string");
        char c = s[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i >= s.size() || (s[i] != '"' && s[i] != '\\')) return invalid("invalid escape");
          c = s[i++];
        }
        name.push_back(c);
      }
    } else {
      size_t start = i;
      while (i < s.size() && is_astring_char(static_cast<unsigned char>(s[i]))) ++i;
      name.assign(s.substr(start, i - start));
    }
    if (!valid_field_name(name)) return invalid("invalid header field name");
    fields->push_back(std::move(name));
    if (i == s.size()) return {};
    if (s[i] != ' ' || i + 1 == s.size()) return invalid("invalid header list");
    ++i;
  }
}

Status parse_section(std::string_view s, Section* out) {
  // section-part: nz-number *("." nz-number)
  while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
    size_t end = s.find_first_not_of("0123456789");
    uint32_t n = 0;
    if (!parse_u32(s.substr(0, end), true, &n)) return invalid("invalid section part");
    if (out->part.size() == kMaxSectionParts) return make_error(Errc::kLimit, "section nested too deep");
    out->part.push_back(n);
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    if (s.empty()) return {};
    if (s[0] != '.' || s.size() == 1) return invalid("invalid section");
    s.remove_prefix(1);
  }
  if (s.empty()) return {};
  size_t sp = s.find(' ');
  std::string word = ascii_upper(s.substr(0, sp));
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  if (word == "HEADER.FIELDS" || word == "HEADER.FIELDS.NOT") {
    if (sp == std::string_view::npos) return invalid("header list expected");
    out->text = word == "HEADER.FIELDS" ? SectionText::kHeaderFields : SectionText::kHeaderFieldsNot;
    return parse_header_list(rest, &out->fields);
  }
  if (sp != std::string_view::npos) return invalid("invalid section");
  if (word == "HEADER") {
    out->text = SectionText::kHeader;
  } else if (word == "TEXT") {
    out->text = SectionText::kText;
  } else if (word == "MIME" && !out->part.empty()) {
    // RFC 3501 6.4.5: MIME only with a part number.
    out->text = SectionText::kMime;
  } else {
    return invalid("invalid section");
  }
  return {};
}

// The matching "]" of the "[" at text[0], skipping quoted strings.
size_t closing_bracket(std::string_view text) {
  bool quoted = false;
  for (size_t i = 1; i < text.size(); ++i) {
    if (quoted) {
      if (text[i] == '\\') {
        ++i;
      } else if (text[i] == '"') {
        quoted = false;
      }
    } else if (text[i] == '"') {
      quoted = true;
    } else if (text[i] == ']') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

bool FetchItem::sets_seen() const {
  switch (attr) {
    case FetchAttr::kRfc822:
    case FetchAttr::kRfc822Text:
      return true;
    case FetchAttr::kBodySection:
      return !peek;
    default:
      return false;
  }
}

std::string FetchItem::response_name() const {
  if (attr != FetchAttr::kBodySection) return std::string(simple_name(attr));
  std::string out = "BODY[";
  for (size_t i = 0; i < section.part.size(); ++i) {
    if (i) out.push_back('.');
    out.append(std::to_string(section.part[i]));
  }
  std::string_view text;
  switch (section.text) {
    case SectionText::kNone: break;
    case SectionText::kHeader: text = "HEADER"; break;
    case SectionText::kHeaderFields: text = "HEADER.FIELDS"; break;
    case SectionText::kHeaderFieldsNot: text = "HEADER.FIELDS.NOT"; break;
    case SectionText::kText: text = "TEXT"; break;
    case SectionText::kMime: text = "MIME"; break;
  }
  if (!text.empty()) {
    if (!section.part.empty()) out.push_back('.');
    out.append(text);
  }
  if (section.text == SectionText::kHeaderFields || section.text == SectionText::kHeaderFieldsNot) {
    out.append(" (");
    for (size_t i = 0; i < section.fields.size(); ++i) {
      if (i) out.push_back(' ');
      append_astring(&out, ascii_upper(section.fields[i]));
    }
    out.push_back(')');
  }
  out.push_back(']');
  // RFC 3501 7.4.2: "BODY[<section>]<<origin octet>>": only the origin.
  if (partial) out.append("<" + std::to_string(partial->origin) + ">");
  return out;
}

Result<FetchItem> parse_fetch_item(std::string_view text) {
  FetchItem item;
  size_t bracket = text.find('[');
  std::string name = ascii_upper(text.substr(0, bracket));
  if (bracket == std::string_view::npos) {
    for (const Simple& s : kSimple) {
      if (name == s.name) {
        item.attr = s.attr;
        return item;
      }
    }
    return invalid("unknown FETCH item");
  }
  if (name == "BODY.PEEK") {
    item.peek = true;
  } else if (name != "BODY") {
    return invalid(name.rfind("BINARY", 0) == 0 ? "BINARY is not supported" : "unknown FETCH item");
  }
  item.attr = FetchAttr::kBodySection;
  std::string_view rest = text.substr(bracket);
  size_t close = closing_bracket(rest);
  if (close == std::string_view::npos) return invalid("missing ']'");
  if (Status s = parse_section(rest.substr(1, close - 1), &item.section); !s) return s.take_error();
  rest.remove_prefix(close + 1);
  if (rest.empty()) return item;
  // "<" number "." nz-number ">"
  size_t dot = rest.find('.');
  if (rest.front() != '<' || rest.back() != '>' || dot == std::string_view::npos) return invalid("invalid partial");
  Partial p;
  if (!parse_u32(rest.substr(1, dot - 1), false, &p.origin) ||
      !parse_u32(rest.substr(dot + 1, rest.size() - dot - 2), true, &p.count)) {
    return invalid("invalid partial");
  }
  item.partial = p;
  return item;
}

Result<std::vector<FetchItem>> parse_fetch_items(const Value& arg) {
  std::vector<FetchItem> items;
  auto simple = [&items](FetchAttr a) {
    FetchItem item;
    item.attr = a;
    items.push_back(std::move(item));
  };
  if (arg.is_atom()) {
    // The macros (RFC 3501 6.4.5), valid only alone.
    if (arg.is_atom("ALL") || arg.is_atom("FAST") || arg.is_atom("FULL")) {
      simple(FetchAttr::kFlags);
      simple(FetchAttr::kInternalDate);
      simple(FetchAttr::kRfc822Size);
      if (!arg.is_atom("FAST")) simple(FetchAttr::kEnvelope);
      if (arg.is_atom("FULL")) simple(FetchAttr::kBody);
      return items;
    }
    auto item = parse_fetch_item(arg.text);
    if (!item) return item.take_error();
    items.push_back(std::move(*item));
    return items;
  }
  if (!arg.is_list() || arg.list.empty()) return invalid("FETCH items expected");
  if (arg.list.size() > kMaxFetchItems) return make_error(Errc::kLimit, "too many FETCH items");
  for (const Value& v : arg.list) {
    if (!v.is_atom()) return invalid("invalid FETCH item");
    auto item = parse_fetch_item(v.text);
    if (!item) return item.take_error();
    items.push_back(std::move(*item));
  }
  return items;
}

}  // namespace tern::imap
