#include "common/mail/smtp_reply.h"

#include <cctype>

#include "common/ipc/delivery_protocol.h"

namespace tern::mail {

std::string Reply::text() const {
  std::string t;
  for (const auto& l : lines) {
    if (!t.empty()) t += ' ';
    t += l;
  }
  return t;
}

std::string Reply::dsn() const {
  if (!enhanced.empty()) return enhanced;
  return std::to_string(klass()) + ".0.0";
}

std::string enhanced_code_in(std::string_view text, int klass) {
  size_t end = text.find(' ');
  std::string_view code = text.substr(0, end);
  if (!ipc::is_enhanced_status(code)) return "";
  if (code[0] - '0' != klass) return "";
  return std::string(code);
}

Result<std::optional<Reply>> ReplyReader::feed(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxReplyLine) {
    lines_.clear();
    return invalid("reply line too long");
  }
  bool digits = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                std::isdigit(static_cast<unsigned char>(line[1])) && std::isdigit(static_cast<unsigned char>(line[2]));
  if (!digits || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    lines_.clear();
    return invalid("malformed reply line");
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599) {
    lines_.clear();
    return invalid("reply code out of range");
  }
  if (!lines_.empty() && code != code_) {
    lines_.clear();
    return invalid("multiline reply changes its code");
  }
  if (lines_.size() + 1 > kMaxReplyLines) {
    lines_.clear();
    return invalid("reply has too many lines");
  }
  code_ = code;
  lines_.emplace_back(line);
  if (line.size() > 3 && line[3] == '-') return std::optional<Reply>{};
  Reply r;
  r.code = code;
  r.lines = std::move(lines_);
  lines_.clear();
  std::string_view first = r.lines.front();
  r.enhanced = first.size() > 4 ? enhanced_code_in(first.substr(4), r.klass()) : "";
  return std::optional<Reply>(std::move(r));
}

}  // namespace tern::mail
