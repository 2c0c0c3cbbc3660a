// Address lists split into their parts (address.h).

#include "common/mail/address.h"

#include <cstring>

#include "common/mail/address_list.h"

namespace tern::mail {
namespace {

struct Token {
  enum Kind { kWord, kQuoted, kComment, kLiteral, kSpecial } kind;
  std::string text;  // kSpecial: the one character
  char special() const { return kind == kSpecial ? text[0] : '\0'; }
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_special(char c) { return std::strchr("()<>[]:;@,.\"", c) != nullptr; }

std::vector<Token> tokenize(std::string_view t) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < t.size()) {
    char c = t[i];
    if (is_space(c)) {
      ++i;
    } else if (c == '"') {
      std::string s;
      for (++i; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] == '\\' && i + 1 < t.size()) {
          s += t[++i];
        } else if (t[i] != '\r' && t[i] != '\n') {
          s += t[i];
        }
      }
      ++i;  // the closing quote (or past the end)
      out.push_back({Token::kQuoted, std::move(s)});
    } else if (c == '(') {
      std::string s;
      int depth = 0;
      for (; i < t.size(); ++i) {
        char d = t[i];
        if (d == '\\' && i + 1 < t.size()) {
          s += t[++i];
          continue;
        }
        if (d == '(' && depth++ == 0) continue;
        if (d == ')' && --depth == 0) {
          ++i;
          break;
        }
        if (d != '\r' && d != '\n') s += d;
      }
      out.push_back({Token::kComment, std::move(s)});
    } else if (c == '[') {
      std::string s;
      for (; i < t.size(); ++i) {
        if (!is_space(t[i])) s += t[i];
        if (t[i] == ']') {
          ++i;
          break;
        }
      }
      out.push_back({Token::kLiteral, std::move(s)});
    } else if (is_special(c)) {
      out.push_back({Token::kSpecial, std::string(1, c)});
      ++i;
    } else {
      size_t b = i;
      while (i < t.size() && !is_space(t[i]) && !is_special(t[i])) ++i;
      out.push_back({Token::kWord, std::string(t.substr(b, i - b))});
    }
  }
  return out;
}

using Span = std::pair<size_t, size_t>;  // [begin, end) of tokens

class AddressParser {
 public:
  explicit AddressParser(std::vector<Token> toks) : t_(std::move(toks)) {}

  std::vector<HeaderAddress> parse() {
    size_t i = 0;
    while (i < t_.size() && out_.size() < kMaxListAddresses) {
      char s = t_[i].special();
      if (s == ',' || (s == ';' && !in_group_)) {
        ++i;
        continue;
      }
      if (s == ';') {
        out_.push_back({});  // end of group
        in_group_ = false;
        ++i;
        continue;
      }
      size_t j = i;
      bool angle = false, at = false, group = false;
      for (; j < t_.size(); ++j) {
        char c = t_[j].special();
        if (angle) {
          if (c == '>') angle = false;
          continue;
        }
        if (c == '<') angle = true;
        if (c == '@') at = true;
        if (c == ',' || c == ';') break;
        if (c == ':' && !in_group_ && !at) {
          group = true;
          break;
        }
      }
      if (group) {
        HeaderAddress start;
        start.mailbox = phrase({i, j}).value_or("");
        out_.push_back(std::move(start));
        in_group_ = true;
        i = j + 1;
        continue;
      }
      if (auto a = mailbox({i, j})) out_.push_back(std::move(*a));
      i = j;
    }
    if (in_group_ && out_.size() < kMaxListAddresses) out_.push_back({});
    return std::move(out_);
  }

 private:
  // Words joined by one space; a "." sticks to the word before it.
  std::optional<std::string> phrase(Span s) const {
    std::string out;
    for (size_t k = s.first; k < s.second; ++k) {
      const Token& tok = t_[k];
      if (tok.kind == Token::kComment) continue;
      if (tok.kind == Token::kSpecial && tok.text != ".") continue;
      if (tok.text == "." && tok.kind == Token::kSpecial) {
        out += '.';
        continue;
      }
      if (!out.empty()) out += ' ';
      out += tok.text;
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  // Tokens of a local part or domain, concatenated; a space where two words
  // meet without a dot (obsolete syntax, or garbage).
  static void append_part(std::string& into, const Token& tok, bool& last_word) {
    bool word = tok.kind != Token::kSpecial;
    if (word && last_word) into += ' ';
    into += tok.text;
    last_word = word;
  }

  std::optional<HeaderAddress> mailbox(Span s) const {
    size_t lt = s.second;
    for (size_t k = s.first; k < s.second; ++k)
      if (t_[k].special() == '<') {
        lt = k;
        break;
      }
    HeaderAddress a;
    Span spec = s;
    if (lt < s.second) {
      a.name = phrase({s.first, lt});
      size_t gt = lt + 1;
      while (gt < s.second && t_[gt].special() != '>') ++gt;
      spec = {lt + 1, gt};
      // obs-route: "@a,@b:" before the addr-spec.
      if (spec.first < spec.second && t_[spec.first].special() == '@') {
        size_t colon = spec.first;
        while (colon < spec.second && t_[colon].special() != ':') ++colon;
        if (colon < spec.second) {
          std::string route;
          for (size_t k = spec.first; k < colon; ++k)
            if (t_[k].kind != Token::kComment) route += t_[k].text;
          a.route = std::move(route);
          spec.first = colon + 1;
        }
      }
    }
    std::string local, domain;
    bool seen_at = false, last_word = false;
    const Token* comment = nullptr;
    for (size_t k = spec.first; k < spec.second; ++k) {
      const Token& tok = t_[k];
      if (tok.kind == Token::kComment) {
        comment = &tok;
        continue;
      }
      if (tok.special() == '@' && !seen_at) {
        seen_at = true;
        last_word = false;
        continue;
      }
      if (tok.kind == Token::kSpecial && tok.text != "." && tok.text != "@") continue;
      append_part(seen_at ? domain : local, tok, last_word);
    }
    if (lt == s.second) {
      // A bare addr-spec: its (last) comment names it.
      for (size_t k = s.first; k < s.second; ++k)
        if (t_[k].kind == Token::kComment) comment = &t_[k];
      if (comment && !comment->text.empty()) a.name = comment->text;
      if (local.empty() && domain.empty() && !seen_at) return std::nullopt;  // nothing there
    }
    a.mailbox = local.empty() ? "MISSING_MAILBOX" : local;
    a.host = domain.empty() ? "MISSING_DOMAIN" : domain;
    return a;
  }

  std::vector<Token> t_;
  std::vector<HeaderAddress> out_;
  bool in_group_ = false;
};

}  // namespace

std::vector<HeaderAddress> parse_addresses(std::string_view text) { return AddressParser(tokenize(text)).parse(); }

}  // namespace tern::mail
