#include "common/imap/search_key.h"

#include <array>
#include <cstdio>

#include "common/imap/date.h"
#include "common/imap/response.h"
#include "common/mail/utf8.h"
#include "common/store/uidlist.h"

namespace tern::imap {

namespace {

enum class Arg : uint8_t { kNone, kString, kKeyword, kHeader, kDate, kNumber, kSet, kNot, kOr };

struct KeyDef {
  std::string_view name;
  SearchKind kind;
  Arg arg;
};

constexpr KeyDef kKeys[] = {
    {"ALL", SearchKind::kAll, Arg::kNone},
    {"ANSWERED", SearchKind::kAnswered, Arg::kNone},
    {"BCC", SearchKind::kBcc, Arg::kString},
    {"BEFORE", SearchKind::kBefore, Arg::kDate},
    {"BODY", SearchKind::kBody, Arg::kString},
    {"CC", SearchKind::kCc, Arg::kString},
    {"DELETED", SearchKind::kDeleted, Arg::kNone},
    {"DRAFT", SearchKind::kDraft, Arg::kNone},
    {"FLAGGED", SearchKind::kFlagged, Arg::kNone},
    {"FROM", SearchKind::kFrom, Arg::kString},
    {"HEADER", SearchKind::kHeader, Arg::kHeader},
    {"KEYWORD", SearchKind::kKeyword, Arg::kKeyword},
    {"LARGER", SearchKind::kLarger, Arg::kNumber},
    {"NEW", SearchKind::kNew, Arg::kNone},
    {"NOT", SearchKind::kNot, Arg::kNot},
    {"OLD", SearchKind::kOld, Arg::kNone},
    {"ON", SearchKind::kOn, Arg::kDate},
    {"OR", SearchKind::kOr, Arg::kOr},
    {"RECENT", SearchKind::kRecent, Arg::kNone},
    {"SEEN", SearchKind::kSeen, Arg::kNone},
    {"SENTBEFORE", SearchKind::kSentBefore, Arg::kDate},
    {"SENTON", SearchKind::kSentOn, Arg::kDate},
    {"SENTSINCE", SearchKind::kSentSince, Arg::kDate},
    {"SINCE", SearchKind::kSince, Arg::kDate},
    {"SMALLER", SearchKind::kSmaller, Arg::kNumber},
    {"SUBJECT", SearchKind::kSubject, Arg::kString},
    {"TEXT", SearchKind::kText, Arg::kString},
    {"TO", SearchKind::kTo, Arg::kString},
    {"UID", SearchKind::kUid, Arg::kSet},
    {"UNANSWERED", SearchKind::kUnanswered, Arg::kNone},
    {"UNDELETED", SearchKind::kUndeleted, Arg::kNone},
    {"UNDRAFT", SearchKind::kUndraft, Arg::kNone},
    {"UNFLAGGED", SearchKind::kUnflagged, Arg::kNone},
    {"UNKEYWORD", SearchKind::kUnkeyword, Arg::kKeyword},
    {"UNSEEN", SearchKind::kUnseen, Arg::kNone},
};

const KeyDef* find_key(std::string_view word) {
  for (const KeyDef& k : kKeys) {
    if (ascii_iequal(word, k.name)) return &k;
  }
  return nullptr;
}

const KeyDef* def_of(SearchKind kind) {
  for (const KeyDef& k : kKeys) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

class Parser {
 public:
  explicit Parser(SearchParse* out) : out_(out) {}

  bool fail(std::string text) {
    if (out_->error == SearchError::kNone) {
      out_->error = SearchError::kBad;
      out_->text = std::move(text);
    }
    return false;
  }

  // One search-key from values[*i], advancing *i.
  bool key(const std::vector<Value>& values, size_t* i, size_t depth, SearchKey* k) {
    if (*i >= values.size()) return fail("Missing search key");
    if (depth > kMaxSearchDepth) return fail("Search keys nested too deep");
    if (++keys_ > kMaxSearchKeys) return fail("Too many search keys");
    const Value& v = values[(*i)++];
    if (v.is_list()) {
      // "(" search-key *(SP search-key) ")"
      if (v.list.empty()) return fail("Empty search key list");
      k->kind = SearchKind::kAnd;
      return keys(v.list, 0, depth + 1, k);
    }
    if (!v.is_atom()) return fail("Invalid search key");
    const std::string& word = v.text;
    if (!word.empty() && ((word[0] >= '0' && word[0] <= '9') || word[0] == '*')) {
      k->kind = SearchKind::kSequenceSet;
      return set(word, k);
    }
    const KeyDef* def = find_key(word);
    if (def == nullptr) return fail("Unknown search key");
    k->kind = def->kind;
    switch (def->arg) {
      case Arg::kNone:
        return true;
      case Arg::kString:
        return text(values, i, &k->text);
      case Arg::kKeyword: {
        if (!text(values, i, &k->text)) return false;
        if (!store::valid_keyword(k->text)) return fail("Invalid keyword");
        return true;
      }
      case Arg::kHeader: {
        if (!text(values, i, &k->field) || !text(values, i, &k->text)) return false;
        // RFC 5322 3.6.8 field-name.
        if (k->field.empty() || k->field.find_first_of(": \t") != std::string::npos || !mail::is_ascii(k->field))
          return fail("Invalid header field name");
        return true;
      }
      case Arg::kDate: {
        std::string d;
        if (!text(values, i, &d)) return false;
        auto day = parse_date(d);
        if (!day) return fail("Invalid date");
        k->day = *day;
        return true;
      }
      case Arg::kNumber: {
        if (*i >= values.size() || !values[*i].is_atom()) return fail("Number expected");
        const std::string& n = values[(*i)++].text;
        if (n.empty() || n.size() > 19 || n.find_first_not_of("0123456789") != std::string::npos)
          return fail("Invalid number");
        k->number = std::stoull(n);
        return true;
      }
      case Arg::kSet:
        if (*i >= values.size() || !values[*i].is_atom()) return fail("Sequence set expected");
        return set(values[(*i)++].text, k);
      case Arg::kNot:
        k->children.resize(1);
        return key(values, i, depth + 1, &k->children[0]);
      case Arg::kOr:
        k->children.resize(2);
        return key(values, i, depth + 1, &k->children[0]) && key(values, i, depth + 1, &k->children[1]);
    }
    return fail("Invalid search key");
  }

  // The values of `values` from `first` on as children of *parent.
  bool keys(const std::vector<Value>& values, size_t first, size_t depth, SearchKey* parent) {
    size_t i = first;
    while (i < values.size()) {
      parent->children.emplace_back();
      if (!key(values, &i, depth, &parent->children.back())) return false;
    }
    return true;
  }

 private:
  bool text(const std::vector<Value>& values, size_t* i, std::string* out) {
    if (*i >= values.size()) return fail("Missing search argument");
    auto s = values[(*i)++].as_astring();
    if (!s) return fail("Invalid search argument");
    // CHARSET UTF-8 or US-ASCII: either way the text must be UTF-8
    // (search_key.h).
    if (!mail::is_valid_utf8(*s)) return fail("Invalid UTF-8 in search argument");
    out->assign(*s);
    return true;
  }

  bool set(std::string_view text, SearchKey* k) {
    auto s = parse_sequence_set(text);
    if (!s) return fail(s.error().code == Errc::kLimit ? "Too many ranges in sequence set" : "Invalid sequence set");
    k->set = std::move(*s);
    return true;
  }

  SearchParse* out_;
  size_t keys_ = 0;
};

std::string day_text(int32_t day) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  CivilDate c = civil_date(day);
  char year[8];
  snprintf(year, sizeof year, "%04d", c.year);  // date-year = 4DIGIT
  return std::to_string(c.day) + "-" + std::string(kMonths[c.month - 1]) + "-" + year;
}

void print(const SearchKey& k, bool top, std::string* out) {
  if (k.kind == SearchKind::kAnd) {
    if (!top) out->push_back('(');
    for (size_t i = 0; i < k.children.size(); ++i) {
      if (i) out->push_back(' ');
      print(k.children[i], false, out);
    }
    if (!top) out->push_back(')');
    return;
  }
  if (k.kind == SearchKind::kSequenceSet) {
    out->append(k.set.to_string());
    return;
  }
  const KeyDef* def = def_of(k.kind);
  out->append(def ? def->name : "ALL");
  if (def == nullptr) return;
  switch (def->arg) {
    case Arg::kNone: break;
    case Arg::kString: out->push_back(' '); append_string(out, k.text); break;
    case Arg::kKeyword: out->push_back(' '); append_astring(out, k.text); break;
    case Arg::kHeader:
      out->push_back(' ');
      append_astring(out, k.field);
      out->push_back(' ');
      append_string(out, k.text);
      break;
    case Arg::kDate: out->append(" " + day_text(k.day)); break;
    case Arg::kNumber: out->append(" " + std::to_string(k.number)); break;
    case Arg::kSet: out->append(" " + k.set.to_string()); break;
    case Arg::kNot:
    case Arg::kOr:
      for (const SearchKey& c : k.children) {
        out->push_back(' ');
        print(c, false, out);
      }
      break;
  }
}

}  // namespace

std::string SearchKey::to_string() const {
  std::string out;
  print(*this, true, &out);
  return out;
}

SearchParse parse_search(const std::vector<Value>& args) {
  SearchParse out;
  out.program.root.kind = SearchKind::kAnd;
  size_t first = 0;
  if (!args.empty() && args[0].is_atom("CHARSET")) {
    auto cs = args.size() > 1 ? args[1].as_astring() : std::nullopt;
    if (!cs) {
      out.error = SearchError::kBad;
      out.text = "Missing charset";
      return out;
    }
    out.program.charset = ascii_upper(*cs);
    // RFC 3501 6.4.4: an unsupported charset is "NO [BADCHARSET]".
    if (out.program.charset != "UTF-8" && out.program.charset != "US-ASCII") {
      out.error = SearchError::kBadCharset;
      out.text = "Unsupported charset";
      return out;
    }
    first = 2;
  }
  if (first >= args.size()) {
    out.error = SearchError::kBad;
    out.text = "Missing search keys";
    return out;
  }
  Parser p(&out);
  if (!p.keys(args, first, 0, &out.program.root)) {
    out.program.root = SearchKey{};
    out.program.root.kind = SearchKind::kAnd;
  }
  return out;
}

}  // namespace tern::imap
