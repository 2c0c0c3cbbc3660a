// Address lists and "sendmail -t" (address_list.h).

#include "common/mail/address_list.h"

#include "common/base/strings.h"
#include "common/mail/header.h"

namespace tern::mail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

class ListParser {
 public:
  explicit ListParser(std::string_view text) : t_(text) {}

  Result<std::vector<std::string>> parse() {
    while (i_ < t_.size()) {
      char c = t_[i_];
      if (c == '(') {
        if (auto st = skip_comment(); !st) return st.take_error();
      } else if (c == '"') {
        if (auto st = quoted(have_angle_ ? trailing_ : plain_); !st) return st.take_error();
      } else if (c == '<') {
        if (have_angle_) return invalid("two <addresses> in one list item");
        if (auto st = angle(); !st) return st.take_error();
      } else if (c == ',') {
        ++i_;
        if (auto st = flush(); !st) return st.take_error();
      } else if (c == ':' && !have_angle_ && !in_group_ && plain_.find('@') == std::string::npos) {
        ++i_;
        plain_.clear();  // the group's display name
        in_group_ = true;
      } else if (c == ';' && in_group_) {
        ++i_;
        if (auto st = flush(); !st) return st.take_error();
        in_group_ = false;
      } else if (c == '[') {
        if (auto st = literal(have_angle_ ? trailing_ : plain_); !st) return st.take_error();
      } else if (is_space(c)) {
        ++i_;
      } else {
        (have_angle_ ? trailing_ : plain_) += c;
        ++i_;
      }
    }
    if (auto st = flush(); !st) return st.take_error();
    return std::move(out_);
  }

 private:
  Status flush() {
    std::string addr = have_angle_ ? angle_ : plain_;
    // RFC 5322 4.4 obsolete route: "@a,@b:user@c" means user@c.
    if (!addr.empty() && addr[0] == '@') {
      size_t colon = addr.find(':');
      addr = colon == std::string::npos ? std::string() : addr.substr(colon + 1);
    }
    if (!addr.empty()) {
      if (out_.size() >= kMaxListAddresses)
        return make_error(Errc::kLimit, strf("more than %zu addresses in one list", kMaxListAddresses));
      out_.push_back(std::move(addr));
    }
    plain_.clear();
    angle_.clear();
    trailing_.clear();
    have_angle_ = false;
    return {};
  }

  Status skip_comment() {
    int depth = 0;
    for (; i_ < t_.size(); ++i_) {
      char c = t_[i_];
      if (c == '\\') {
        ++i_;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (--depth == 0) {
          ++i_;
          return {};
        }
      }
    }
    return invalid("unclosed comment in an address list");
  }

  Status quoted(std::string& into) {
    into += '"';
    for (++i_; i_ < t_.size(); ++i_) {
      char c = t_[i_];
      if (c == '\\' && i_ + 1 < t_.size()) {
        into += c;
        into += t_[++i_];
      } else if (c == '"') {
        into += c;
        ++i_;
        return {};
      } else if (c != '\r' && c != '\n') {
        into += c;
      }
    }
    return invalid("unclosed quoted string in an address list");
  }

  Status literal(std::string& into) {
    for (; i_ < t_.size(); ++i_) {
      char c = t_[i_];
      if (!is_space(c)) into += c;
      if (c == ']') {
        ++i_;
        return {};
      }
    }
    return invalid("unclosed [domain literal] in an address list");
  }

  Status angle() {
    have_angle_ = true;
    for (++i_; i_ < t_.size();) {
      char c = t_[i_];
      if (c == '>') {
        ++i_;
        return {};
      }
      if (c == '(') {
        if (auto st = skip_comment(); !st) return st;
      } else if (c == '"') {
        if (auto st = quoted(angle_); !st) return st;
      } else if (c == '[') {
        if (auto st = literal(angle_); !st) return st;
      } else {
        if (!is_space(c)) angle_ += c;
        ++i_;
      }
    }
    return invalid("unclosed <address> in an address list");
  }

  std::string_view t_;
  size_t i_ = 0;
  std::vector<std::string> out_;
  std::string plain_, angle_, trailing_;
  bool have_angle_ = false;
  bool in_group_ = false;
};

bool is_bcc(std::string_view name) { return equals_nocase(name, "Bcc") || equals_nocase(name, "Resent-Bcc"); }

}  // namespace

Result<std::vector<std::string>> parse_address_list(std::string_view text) { return ListParser(text).parse(); }

std::string qualify(std::string_view address, std::string_view myorigin) {
  if (address.empty() || address.find('@') != std::string_view::npos || myorigin.empty())
    return std::string(address);
  return std::string(address) + "@" + std::string(myorigin);
}

Result<HeaderRecipients> header_recipients(std::string_view header) {
  HeaderLimits limits;
  limits.total = limits.field = limits.fields = header.size() + 2;
  auto block = parse_header_block(header, limits);
  if (!block) return block.take_error();
  bool resent = false;
  for (const auto& f : block->fields)
    if (starts_with_nocase(f.name, "Resent-")) resent = true;
  HeaderRecipients out;
  for (const auto& f : block->fields) {
    bool wanted = resent ? (equals_nocase(f.name, "Resent-To") || equals_nocase(f.name, "Resent-Cc") ||
                            equals_nocase(f.name, "Resent-Bcc"))
                         : (equals_nocase(f.name, "To") || equals_nocase(f.name, "Cc") || equals_nocase(f.name, "Bcc"));
    if (wanted) {
      auto list = parse_address_list(f.value());
      if (!list) return make_error(list.error().code, f.name + ": " + list.error().text);
      for (auto& a : *list) {
        if (out.recipients.size() >= kMaxListAddresses)
          return make_error(Errc::kLimit, strf("more than %zu recipients in the header", kMaxListAddresses));
        out.recipients.push_back(std::move(a));
      }
    }
    if (!is_bcc(f.name)) out.header += f.raw + "\r\n";
  }
  // What parse_header_block did not take as header (it should all be) stays.
  out.header += header.substr(std::min(block->body_offset, header.size()));
  return out;
}

}  // namespace tern::mail
