// SEARCH evaluation (search_eval.h).

#include "common/imap/search_eval.h"

#include <algorithm>
#include <cctype>

#include "common/base/strings.h"
#include "common/imap/date.h"
#include "common/mail/charset.h"
#include "common/mail/rfc2047.h"
#include "common/mail/transfer_encoding.h"
#include "common/mail/utf8.h"
#include "common/store/flags.h"

namespace tern::imap {
namespace {

using mail::MimePart;

char32_t fold(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;  // Latin-1 capitals
  if (c >= 0x100 && c <= 0x177 && c != 0x130) return c | 1;   // Latin Extended-A pairs (even = capital)
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;  // Greek capitals
  if (c >= 0x410 && c <= 0x42F) return c + 32;                // Cyrillic А..Я
  if (c >= 0x400 && c <= 0x40F) return c + 80;                // Cyrillic Ѐ..Џ
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool contains_folded(std::string_view folded_haystack, std::string_view folded_needle) {
  if (folded_needle.empty()) return true;
  return folded_haystack.find(folded_needle) != std::string_view::npos;
}

bool has_keyword(const SearchMessage& msg, std::string_view kw) {
  for (const auto& k : msg.keywords)
    if (equals_nocase(k, kw)) return true;
  return false;
}

int32_t day_of(int64_t t, int32_t zone_minutes) {
  int64_t local = t + int64_t{zone_minutes} * 60;
  int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  return static_cast<int32_t>(day);
}

// The decoded text of one text/* leaf, bounded.
std::string part_text(std::string_view message, const MimePart& p, size_t budget) {
  std::string_view raw = message.substr(p.body_begin, std::min(p.body_end - p.body_begin, budget * 2 + 4));
  std::string decoded = mail::decode_transfer_encoding(raw, p.encoding_lower());
  if (decoded.size() > budget) decoded.resize(budget);
  std::string charset = mail::param_value(p.params, "charset").value_or("us-ascii");
  auto utf8 = mail::convert_to_utf8(decoded, charset, budget);
  return utf8 ? std::move(*utf8) : decoded;
}

}  // namespace

std::string fold_case(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      ++i;
      continue;
    }
    mail::CodePoint cp = mail::decode_utf8(s.substr(i, 4));
    if (cp.length == 0) {
      out += s[i++];
      continue;
    }
    append_utf8(out, fold(cp.value));
    i += cp.length;
  }
  return out;
}

std::optional<int32_t> rfc5322_day(std::string_view date) {
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                  "jul", "aug", "sep", "oct", "nov", "dec"};
  // Tokens: words and numbers; comments and punctuation skipped.
  std::vector<std::string> toks;
  for (size_t i = 0; i < date.size() && toks.size() < 16;) {
    char c = date[i];
    if (c == '(') {
      int depth = 0;
      for (; i < date.size(); ++i) {
        if (date[i] == '(') ++depth;
        if (date[i] == ')' && --depth == 0) break;
      }
      ++i;
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      size_t b = i;
      bool digit = std::isdigit(static_cast<unsigned char>(c));
      while (i < date.size() && std::isalnum(static_cast<unsigned char>(date[i])) &&
             (std::isdigit(static_cast<unsigned char>(date[i])) != 0) == digit)
        ++i;
      toks.emplace_back(date.substr(b, i - b));
    } else {
      ++i;
    }
  }
  // day month year, after an optional day of week.
  size_t k = 0;
  if (k < toks.size() && !std::isdigit(static_cast<unsigned char>(toks[k][0]))) ++k;
  if (k + 2 >= toks.size()) return std::nullopt;
  auto day = parse_int(toks[k]);
  int month = 0;
  for (int m = 0; m < 12; ++m)
    if (equals_nocase(toks[k + 1], kMonths[m])) month = m + 1;
  auto year = parse_int(toks[k + 2]);
  if (!day || !month || !year || *day < 1 || *day > 31 || *year < 0 || *year > 9999) return std::nullopt;
  long long y = *year;
  if (toks[k + 2].size() <= 2) y += y < 50 ? 2000 : 1900;  // RFC 5322 4.3
  else if (toks[k + 2].size() == 3) y += 1900;
  return day_number(static_cast<int>(y), static_cast<unsigned>(month), static_cast<unsigned>(*day));
}

SearchNeeds search_needs(const SearchKey& key) {
  switch (key.kind) {
    case SearchKind::kBody:
    case SearchKind::kText:
      return SearchNeeds::kMessage;
    case SearchKind::kBcc:
    case SearchKind::kCc:
    case SearchKind::kFrom:
    case SearchKind::kSubject:
    case SearchKind::kTo:
    case SearchKind::kHeader:
    case SearchKind::kSentBefore:
    case SearchKind::kSentOn:
    case SearchKind::kSentSince:
      return SearchNeeds::kHeader;
    default:
      break;
  }
  SearchNeeds most = SearchNeeds::kNothing;
  for (const auto& c : key.children) most = std::max(most, search_needs(c));
  return most;
}

bool search_uses_date(const SearchKey& key) {
  switch (key.kind) {
    case SearchKind::kBefore:
    case SearchKind::kOn:
    case SearchKind::kSince:
    case SearchKind::kSentBefore:
    case SearchKind::kSentOn:
    case SearchKind::kSentSince:
      return true;
    default:
      break;
  }
  for (const auto& c : key.children)
    if (search_uses_date(c)) return true;
  return false;
}

bool search_uses_keywords(const SearchKey& key) {
  if (key.kind == SearchKind::kKeyword || key.kind == SearchKind::kUnkeyword) return true;
  for (const auto& c : key.children)
    if (search_uses_keywords(c)) return true;
  return false;
}

bool search_header_suffices(const SearchKey& key) {
  switch (key.kind) {
    case SearchKind::kBody:
    case SearchKind::kText:
      return false;
    case SearchKind::kHeader:
      for (std::string_view f : kSearchHeaderFields)
        if (equals_nocase(f, key.field)) return true;
      return false;
    default:
      break;
  }
  for (const auto& c : key.children)
    if (!search_header_suffices(c)) return false;
  return true;
}

std::string_view header_section(std::string_view message, size_t limit) {
  std::string_view m = message.substr(0, limit);
  // An empty first line: no header at all.
  if (m.starts_with("\n")) return m.substr(0, 1);
  if (m.starts_with("\r\n")) return m.substr(0, 2);
  for (size_t i = m.find('\n'); i != std::string_view::npos; i = m.find('\n', i + 1)) {
    std::string_view rest = m.substr(i + 1);
    if (rest.starts_with("\n")) return m.substr(0, i + 2);
    if (rest.starts_with("\r\n")) return m.substr(0, i + 3);
  }
  return m;
}

std::string search_header_record(std::string_view message, const mail::MimeTree& tree) {
  std::string out = "S1 ";
  std::vector<mail::HeaderField> fields;
  if (!tree.parts.empty()) fields = mail::entity_fields(message, tree.parts[0]);
  const mail::HeaderField* date = mail::find_field(fields, "Date");
  std::optional<int32_t> day = date ? rfc5322_day(date->unfolded()) : std::nullopt;
  out += day ? std::to_string(*day) : "-";
  out += '\n';
  for (const auto& f : fields) {
    std::string name = fold_case(f.name);
    bool wanted = false;
    for (std::string_view w : kSearchHeaderFields) wanted = wanted || name == w;
    if (!wanted) continue;
    std::string value = fold_case(mail::decode_rfc2047(f.unfolded()));
    out += name;
    out += ' ';
    out += std::to_string(value.size());
    out += '\n';
    out += value;
    out += '\n';
  }
  return out;
}

std::optional<SearchHeader> parse_search_header(std::string_view r) {
  if (!r.starts_with("S1 ")) return std::nullopt;
  r.remove_prefix(3);
  size_t nl = r.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  SearchHeader h;
  std::string_view day = r.substr(0, nl);
  if (day != "-") {
    auto n = parse_int(day);
    if (!n || *n > INT32_MAX || *n < INT32_MIN) return std::nullopt;
    h.sent_day = static_cast<int32_t>(*n);
  }
  r.remove_prefix(nl + 1);
  while (!r.empty()) {
    size_t sp = r.find(' ');
    nl = r.find('\n');
    if (sp == std::string_view::npos || nl == std::string_view::npos || sp > nl) return std::nullopt;
    auto len = parse_int(r.substr(sp + 1, nl - sp - 1));
    const size_t left = r.size() - nl - 1;  // after the length's LF
    if (!len || *len < 0 || static_cast<size_t>(*len) >= left || r[nl + 1 + static_cast<size_t>(*len)] != '\n')
      return std::nullopt;
    const size_t n = static_cast<size_t>(*len);
    h.fields.emplace_back(r.substr(0, sp), r.substr(nl + 1, n));
    r.remove_prefix(nl + 1 + n + 1);
  }
  return h;
}

// What one message's content gives, computed once when first needed.
struct SearchEvaluator::Cache {
  std::string_view message;
  const mail::MimeTree* tree = nullptr;
  const SearchHeader* record = nullptr;  // instead of message and tree
  bool have_fields = false;
  std::vector<mail::HeaderField> fields;      // of the message's header
  std::vector<std::string> folded_values;     // decoded, folded value of each field
  bool have_header_text = false;
  std::string folded_header;                  // "name: value\n" of every field
  bool have_body = false;
  std::string folded_body;
  std::optional<std::optional<int32_t>> sent_day;

  void load_fields() {
    if (have_fields) return;
    have_fields = true;
    if (!tree || tree->parts.empty()) return;
    fields = mail::entity_fields(message, tree->parts[0]);
    folded_values.reserve(fields.size());
    for (const auto& f : fields) folded_values.push_back(fold_case(mail::decode_rfc2047(f.unfolded())));
  }
  bool field_contains(std::string_view name, const std::string& needle, bool need_field_only) {
    if (record) {
      for (const auto& [n, v] : record->fields)
        if (equals_nocase(n, name) && (need_field_only || contains_folded(v, needle))) return true;
      return false;
    }
    load_fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!equals_nocase(fields[i].name, name)) continue;
      if (need_field_only || contains_folded(folded_values[i], needle)) return true;
    }
    return false;
  }
  const std::string& header_text() {
    if (!have_header_text) {
      have_header_text = true;
      load_fields();
      for (size_t i = 0; i < fields.size(); ++i) {
        folded_header += fold_case(fields[i].name);
        folded_header += ": ";
        folded_header += folded_values[i];
        folded_header += '\n';
      }
    }
    return folded_header;
  }
  const std::string& body_text() {
    if (have_body) return folded_body;
    have_body = true;
    if (!tree) return folded_body;
    // A single-part message is its own text; otherwise its text/* leaves
    // and the headers of the messages inside it.
    std::string text;
    for (size_t i = tree->parts.size() == 1 ? 0 : 1; i < tree->parts.size(); ++i) {
      if (text.size() >= kMaxSearchTextBytes) break;
      const MimePart& p = tree->parts[i];
      if (i > 0 && tree->parts[p.parent].kind == MimePart::Kind::kMessage) {
        for (const auto& f : mail::entity_fields(message, p)) {
          text += f.name + ": " + mail::decode_rfc2047(f.unfolded()) + "\n";
          if (text.size() >= kMaxSearchTextBytes) break;
        }
      }
      if (p.kind == MimePart::Kind::kLeaf && p.is_type("text") && text.size() < kMaxSearchTextBytes) {
        text += part_text(message, p, kMaxSearchTextBytes - text.size());
        text += '\n';
      }
    }
    if (text.size() > kMaxSearchTextBytes) text.resize(kMaxSearchTextBytes);
    folded_body = fold_case(text);
    return folded_body;
  }
  std::optional<int32_t> sent() {
    if (!sent_day && record) sent_day = record->sent_day;
    if (!sent_day) {
      load_fields();
      const mail::HeaderField* d = mail::find_field(fields, "Date");
      sent_day = d ? rfc5322_day(d->unfolded()) : std::nullopt;
    }
    return *sent_day;
  }
};

SearchEvaluator::SearchEvaluator(const SearchKey& root, uint32_t largest_seqnum, uint32_t largest_uid)
    : root_(root), largest_seqnum_(largest_seqnum), largest_uid_(largest_uid) {}

bool SearchEvaluator::matches(const SearchMessage& msg, std::string_view message, const mail::MimeTree* tree) {
  Cache cache;
  cache.message = message;
  cache.tree = tree;
  return eval(root_, msg, cache);
}

bool SearchEvaluator::matches(const SearchMessage& msg, const SearchHeader& header) {
  Cache cache;
  cache.record = &header;
  return eval(root_, msg, cache);
}

bool SearchEvaluator::eval(const SearchKey& key, const SearchMessage& msg, Cache& c) {
  using store::SystemFlag;
  auto flag = [&](SystemFlag f) { return (msg.flags & f) != 0; };
  const int32_t internal_day = day_of(msg.internaldate, msg.internaldate_zone);
  auto sent_day = [&] { return c.sent().value_or(internal_day); };
  switch (key.kind) {
    case SearchKind::kAll: return true;
    case SearchKind::kAnswered: return flag(store::kFlagAnswered);
    case SearchKind::kDeleted: return flag(store::kFlagDeleted);
    case SearchKind::kDraft: return flag(store::kFlagDraft);
    case SearchKind::kFlagged: return flag(store::kFlagFlagged);
    case SearchKind::kSeen: return flag(store::kFlagSeen);
    case SearchKind::kUnanswered: return !flag(store::kFlagAnswered);
    case SearchKind::kUndeleted: return !flag(store::kFlagDeleted);
    case SearchKind::kUndraft: return !flag(store::kFlagDraft);
    case SearchKind::kUnflagged: return !flag(store::kFlagFlagged);
    case SearchKind::kUnseen: return !flag(store::kFlagSeen);
    case SearchKind::kRecent: return msg.recent;
    case SearchKind::kNew: return msg.recent && !flag(store::kFlagSeen);
    case SearchKind::kOld: return !msg.recent;
    case SearchKind::kKeyword: return has_keyword(msg, key.text);
    case SearchKind::kUnkeyword: return !has_keyword(msg, key.text);
    case SearchKind::kBcc: return c.field_contains("Bcc", fold_case(key.text), false);
    case SearchKind::kCc: return c.field_contains("Cc", fold_case(key.text), false);
    case SearchKind::kFrom: return c.field_contains("From", fold_case(key.text), false);
    case SearchKind::kTo: return c.field_contains("To", fold_case(key.text), false);
    case SearchKind::kSubject: return c.field_contains("Subject", fold_case(key.text), false);
    case SearchKind::kHeader: return c.field_contains(key.field, fold_case(key.text), key.text.empty());
    case SearchKind::kBody: return contains_folded(c.body_text(), fold_case(key.text));
    case SearchKind::kText: {
      std::string needle = fold_case(key.text);
      return contains_folded(c.header_text(), needle) || contains_folded(c.body_text(), needle);
    }
    case SearchKind::kBefore: return internal_day < key.day;
    case SearchKind::kOn: return internal_day == key.day;
    case SearchKind::kSince: return internal_day >= key.day;
    case SearchKind::kSentBefore: return sent_day() < key.day;
    case SearchKind::kSentOn: return sent_day() == key.day;
    case SearchKind::kSentSince: return sent_day() >= key.day;
    case SearchKind::kLarger: return msg.rfc822_size > key.number;
    case SearchKind::kSmaller: return msg.rfc822_size < key.number;
    case SearchKind::kUid: return key.set.contains(msg.uid, largest_uid_);
    case SearchKind::kSequenceSet: return key.set.contains(msg.seqnum, largest_seqnum_);
    case SearchKind::kNot: return key.children.empty() || !eval(key.children[0], msg, c);
    case SearchKind::kOr:
      for (const auto& k : key.children)
        if (eval(k, msg, c)) return true;
      return false;
    case SearchKind::kAnd:
      for (const auto& k : key.children)
        if (!eval(k, msg, c)) return false;
      return true;
  }
  return false;
}

}  // namespace tern::imap
