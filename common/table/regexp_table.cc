// regexp:/path — Postfix regexp_table(5) semantics over POSIX regcomp(3):
//
//   /pattern/flags result     the first matching pattern wins
//   !/pattern/flags result    matches when the pattern does not
//   if /pattern/flags         the lines up to the matching "endif" are only
//   ...                       tried when the pattern matches (nests; "if !"
//   endif                     negates)
//
// Any punctuation character other than '\' may delimit the pattern instead of
// '/'; inside, "\<delimiter>" stands for the delimiter itself. Flags toggle
// the defaults as in Postfix: i (ignore case: ON by default), x (extended
// syntax, REG_EXTENDED: ON by default), m (multi-line, REG_NEWLINE: OFF).
// The result may use $1..$9 (and $N, ${N}, $(N) for any group) for the text a
// parenthesised group matched (empty if the group did not take part), and $$
// for '$'. A reference to a group the pattern lacks, or any $N after a
// negated pattern (which matched nothing), is an open() error, as are a bad
// pattern, an unknown flag, a missing result and an unbalanced if/endif:
// all reported as "file:line: reason".
//
// Keys are not folded: case-insensitivity is the i flag's business.

#include <regex.h>

#include <array>
#include <algorithm>
#include <cctype>
#include <optional>

#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/table/backends.h"

namespace tern::table::detail {
namespace {

constexpr size_t kMaxGroup = 99;

struct RegexFree {
  void operator()(regex_t* re) const noexcept {
    regfree(re);
    delete re;
  }
};
using Regex = std::unique_ptr<regex_t, RegexFree>;

// One piece of a result: literal text, or the text of a group.
struct Piece {
  std::string text;
  size_t group = 0;  // 0: literal
};

struct Rule {
  enum class Kind { kMatch, kIf, kEndif };
  Kind kind = Kind::kMatch;
  Regex re;
  bool negate = false;
  size_t max_group = 0;       // highest $N of the result
  std::vector<Piece> result;  // kMatch
  size_t endif = 0;           // kIf: index of its endif
  int line = 0;
};

// "/pattern/flags" at the start of s (after an optional '!').
struct Pattern {
  std::string regex;
  bool negate = false;
  int cflags = REG_EXTENDED | REG_ICASE;
  std::string_view rest;  // after the flags
};

bool has_keyword(std::string_view s, std::string_view word) {
  return starts_with_nocase(s, word) && (s.size() == word.size() || std::isspace(static_cast<unsigned char>(s[word.size()])));
}

Result<Pattern> parse_pattern(std::string_view s, const std::string& file, int line) {
  Pattern p;
  if (!s.empty() && s.front() == '!') {
    p.negate = true;
    s.remove_prefix(1);
  }
  if (s.empty() || !std::ispunct(static_cast<unsigned char>(s.front())) || s.front() == '\\')
    return at_line(file, line, "expected /pattern/ (a pattern between delimiters such as '/')");
  const char delim = s.front();
  size_t i = 1;
  for (; i < s.size() && s[i] != delim; ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      if (s[i + 1] != delim) p.regex += '\\';
      p.regex += s[++i];
    } else {
      p.regex += s[i];
    }
  }
  if (i == s.size()) return at_line(file, line, std::string("missing closing '") + delim + "' of the pattern");
  s.remove_prefix(i + 1);
  for (; !s.empty() && !std::isspace(static_cast<unsigned char>(s.front())); s.remove_prefix(1)) {
    switch (s.front()) {
      case 'i': p.cflags ^= REG_ICASE; break;
      case 'x': p.cflags ^= REG_EXTENDED; break;
      case 'm': p.cflags ^= REG_NEWLINE; break;
      default: return at_line(file, line, std::string("unknown pattern flag '") + s.front() + "'");
    }
  }
  p.rest = trim(s);
  return p;
}

// glibc's regcomp expands "a+" and "a{m,n}" by copying the repeated
// subexpression, so stacked or nested repetition ("a++++", "((a{99}){99}){99}")
// costs memory and time exponential in the pattern: a 60-byte line could
// take gigabytes (found by fuzzing). Before compiling, estimate the size of
// the expanded tree, following the grammar closely enough for that, and
// refuse a pattern past kMaxRegexCost nodes (its epsilon closures cost
// about the square of that).
constexpr size_t kMaxRegexCost = 2000;

size_t saturating_mul(size_t a, size_t b) { return (a != 0 && b > kMaxRegexCost / a) ? kMaxRegexCost + 1 : a * b; }

// Cost of the alternation starting at p[i], up to an unmatched close group.
size_t regex_cost(std::string_view p, size_t& i, bool extended, int depth) {
  size_t total = 0, last = 0;
  bool quantified = false;  // the last item was a repetition operator
  auto add = [&](size_t n) { total = std::min(total + n, kMaxRegexCost + 1); };
  // Stacked repetition ("a++", "a*+", "a{2}*") is undefined in POSIX and is
  // exactly what makes regcomp's closures explode: refuse it outright.
  auto quantifier = [&]() {
    if (quantified) total = kMaxRegexCost + 1;
    quantified = true;
  };
  while (i < p.size() && total <= kMaxRegexCost) {
    char c = p[i];
    bool esc = c == '\\' && i + 1 < p.size();
    char op = esc ? p[i + 1] : c;
    bool open = extended ? (!esc && c == '(') : (esc && op == '(');
    bool close = extended ? (!esc && c == ')') : (esc && op == ')');
    bool interval = extended ? (!esc && c == '{') : (esc && op == '{');
    bool plus = extended && !esc && (c == '+');
    // An unmatched close at the top is an ordinary character to glibc, and
    // what follows it still counts.
    if (close && depth > 0) break;
    if (open) {
      i += esc ? 2 : 1;
      if (depth > 64) return kMaxRegexCost + 1;
      quantified = false;
      last = std::min(regex_cost(p, i, extended, depth + 1) + 1, kMaxRegexCost + 1);
      if (i < p.size()) i += extended ? 1 : 2;  // the close group
      add(last);
    } else if (extended && !esc && c == '|') {
      last = 0;
      quantified = false;
      ++i;
    } else if (!esc && (c == '*' || (extended && c == '?'))) {
      // A star or an option adds a node around its operand without copying
      // it; what follows ("a+*+") still repeats the whole of it.
      quantifier();
      add(1);
      last = std::min(last + 1, kMaxRegexCost + 1);
      ++i;
    } else if (plus) {
      quantifier();
      add(last);  // "a+" is "aa*"
      last = saturating_mul(last, 2);
      ++i;
    } else if (interval) {
      quantifier();
      i += esc ? 2 : 1;
      size_t m = 0, n = 0;
      bool second = false;
      while (i < p.size() && p[i] != '}' && p[i] != '\\') {
        if (p[i] == ',') second = true;
        else if (std::isdigit(static_cast<unsigned char>(p[i]))) {
          size_t& v = second ? n : m;
          v = std::min<size_t>(v * 10 + static_cast<size_t>(p[i] - '0'), kMaxRegexCost + 1);
        }
        ++i;
      }
      i = std::min(p.size(), i + (extended ? 1 : 2));
      size_t factor = std::max<size_t>({m, n, 1});
      add(saturating_mul(last, factor - 1));
      last = saturating_mul(last, factor);
    } else if (!esc && c == '[') {
      // A bracket expression is one node; "]" first in it is literal.
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') {
        if (p[j] == '[' && j + 1 < p.size() && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
          size_t end = p.find(']', j + 2);  // "[:alpha:]" and friends
          j = end == std::string_view::npos ? p.size() : end + 1;
        } else {
          ++j;
        }
      }
      i = std::min(p.size(), j + 1);
      quantified = false;
      last = 1;
      add(1);
    } else {
      i += esc ? 2 : 1;
      quantified = false;
      last = 1;
      add(1);
    }
  }
  return total;
}

Result<Regex> compile(const Pattern& p, bool need_groups, const std::string& file, int line) {
  size_t pos = 0;
  if (regex_cost(p.regex, pos, (p.cflags & REG_EXTENDED) != 0, 0) > kMaxRegexCost)
    return at_line(file, line, "regular expression \"" + p.regex +
                                   "\" repeats too much (stacked or nested + and {m,n}): regcomp would need "
                                   "memory exponential in its length");
  Regex re(new regex_t);
  int cflags = p.cflags | (need_groups ? 0 : REG_NOSUB);
  if (int rc = regcomp(re.get(), p.regex.c_str(), cflags); rc != 0) {
    char buf[256];
    regerror(rc, re.get(), buf, sizeof buf);
    // regcomp failed: nothing to regfree, and POSIX leaves re undefined.
    delete re.release();
    return at_line(file, line, "bad regular expression \"" + p.regex + "\": " + buf);
  }
  return re;
}

// The result text cut into literals and group references.
Result<std::vector<Piece>> parse_result(std::string_view s, const std::string& file, int line) {
  std::vector<Piece> out;
  auto literal = [&](std::string_view t) {
    if (out.empty() || out.back().group != 0) out.push_back(Piece{});
    out.back().text += t;
  };
  while (!s.empty()) {
    size_t dollar = s.find('$');
    literal(s.substr(0, dollar));
    if (dollar == std::string_view::npos) break;
    s.remove_prefix(dollar + 1);
    if (!s.empty() && s.front() == '$') {
      literal("$");
      s.remove_prefix(1);
      continue;
    }
    char close = 0;
    if (!s.empty() && (s.front() == '{' || s.front() == '(')) {
      close = s.front() == '{' ? '}' : ')';
      s.remove_prefix(1);
    }
    size_t n = 0;
    while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
    auto group = parse_int(s.substr(0, n));
    s.remove_prefix(n);
    if (close) {
      if (s.empty() || s.front() != close) group.reset();
      else s.remove_prefix(1);
    }
    if (!group || *group < 1 || *group > static_cast<long long>(kMaxGroup))
      return at_line(file, line, "'$' in the result must be followed by a group number 1-99 ($1, ${1}) or '$'");
    out.push_back(Piece{{}, static_cast<size_t>(*group)});
  }
  return out;
}

Result<Rule> parse_match(std::string_view text, const std::string& file, int line) {
  auto p = parse_pattern(text, file, line);
  if (!p) return p.take_error();
  if (p->rest.empty()) return at_line(file, line, "missing result after the pattern");
  Rule r;
  r.line = line;
  r.negate = p->negate;
  auto pieces = parse_result(p->rest, file, line);
  if (!pieces) return pieces.take_error();
  r.result = std::move(*pieces);
  for (const auto& piece : r.result) r.max_group = std::max(r.max_group, piece.group);
  if (r.negate && r.max_group > 0)
    return at_line(file, line, "$" + std::to_string(r.max_group) + " in the result of a negated pattern");
  auto re = compile(*p, r.max_group > 0, file, line);
  if (!re) return re.take_error();
  if (r.max_group > (*re)->re_nsub)
    return at_line(file, line, "$" + std::to_string(r.max_group) + " but the pattern has only " +
                                   std::to_string((*re)->re_nsub) + " group(s)");
  r.re = std::move(*re);
  return r;
}

Result<std::vector<Rule>> parse_rules(std::string_view text, const std::string& file) {
  auto lines = logical_lines(text, file);
  if (!lines) return lines.take_error();
  std::vector<Rule> rules;
  std::vector<size_t> open_ifs;  // indexes of kIf rules awaiting their endif
  for (const auto& ll : *lines) {
    std::string_view s = ll.text;
    if (has_keyword(s, "endif")) {
      if (s.size() != 5) return at_line(file, ll.line, "text after \"endif\"");
      if (open_ifs.empty()) return at_line(file, ll.line, "\"endif\" without \"if\"");
      rules[open_ifs.back()].endif = rules.size();
      open_ifs.pop_back();
      Rule r;
      r.kind = Rule::Kind::kEndif;
      r.line = ll.line;
      rules.push_back(std::move(r));
    } else if (has_keyword(s, "if")) {
      auto p = parse_pattern(trim(s.substr(2)), file, ll.line);
      if (!p) return p.take_error();
      if (!p->rest.empty()) return at_line(file, ll.line, "text after the pattern of \"if\"");
      auto re = compile(*p, false, file, ll.line);
      if (!re) return re.take_error();
      Rule r;
      r.kind = Rule::Kind::kIf;
      r.re = std::move(*re);
      r.negate = p->negate;
      r.line = ll.line;
      open_ifs.push_back(rules.size());
      rules.push_back(std::move(r));
    } else {
      auto r = parse_match(s, file, ll.line);
      if (!r) return r.take_error();
      rules.push_back(std::move(*r));
    }
  }
  if (!open_ifs.empty()) return at_line(file, rules[open_ifs.back()].line, "\"if\" without \"endif\"");
  return rules;
}

class RegexpTable final : public Table {
 public:
  RegexpTable(std::string name, std::vector<Rule> rules) : name_(std::move(name)), rules_(std::move(rules)) {}

  Result<std::string> lookup(std::string_view key) const override {
    if (Status st = check_key(key); !st) return st.take_error();
    const std::string subject(key);  // regexec needs a C string
    std::array<regmatch_t, kMaxGroup + 1> m;
    for (size_t i = 0; i < rules_.size(); ++i) {
      const Rule& r = rules_[i];
      if (r.kind == Rule::Kind::kEndif) continue;
      size_t nmatch = r.max_group > 0 ? r.max_group + 1 : 0;  // 0 for REG_NOSUB patterns
      int rc = regexec(r.re.get(), subject.c_str(), nmatch, m.data(), 0);
      if (rc != 0 && rc != REG_NOMATCH)  // REG_ESPACE: out of memory
        return make_error(Errc::kTemporary, name_ + ": regexec failed at line " + std::to_string(r.line));
      bool hit = (rc == 0) != r.negate;
      if (r.kind == Rule::Kind::kIf) {
        if (!hit) i = r.endif;
        continue;
      }
      if (hit) return expand(r, subject, m.data());
    }
    return make_error(Errc::kNotFound, name_ + ": not found");
  }

  const std::string& name() const override { return name_; }

 private:
  static std::string expand(const Rule& r, const std::string& subject, const regmatch_t* m) {
    std::string out;
    for (const auto& piece : r.result) {
      if (piece.group == 0) {
        out += piece.text;
      } else if (m[piece.group].rm_so >= 0) {
        out.append(subject, static_cast<size_t>(m[piece.group].rm_so),
                   static_cast<size_t>(m[piece.group].rm_eo - m[piece.group].rm_so));
      }
    }
    return out;
  }

  std::string name_;
  std::vector<Rule> rules_;
};

}  // namespace

Result<std::unique_ptr<Table>> open_regexp(const std::string& name, const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    Error e = text.take_error();
    e.text = name + ": " + e.text;
    return e;
  }
  auto rules = parse_rules(*text, path);
  if (!rules) return rules.take_error();
  return std::unique_ptr<Table>(std::make_unique<RegexpTable>(name, std::move(*rules)));
}

}  // namespace tern::table::detail
