#include "lmtp-deliver/recipient.h"

#include <algorithm>

#include "common/base/strings.h"

namespace tern::lmtp {

RecipientAddress resolve_recipient(const mail::Address& rcpt, std::string_view delimiters) {
  RecipientAddress r;
  mail::Extension ext = mail::split_extension(rcpt.local, delimiters);
  r.user = to_lower(ext.user) + "@" + rcpt.domain_lower;
  if (ext.delimiter) r.detail = ext.extension;
  r.delivered_to = rcpt.local_quoted + "@" + rcpt.domain_lower;
  return r;
}

void HeaderScan::feed(std::string_view content) {
  for (size_t i = 0; i < content.size() && !in_body_; ++i) {
    char c = content[i];
    if (c == '\n') {
      end_physical_line();
      continue;
    }
    if (line_.size() < kMaxHeader) line_ += c;
    else line_long_ = true;
  }
}

void HeaderScan::finish() {
  if (in_body_) return;
  if (!line_.empty()) end_physical_line();
  end_header();
  in_body_ = true;
}

void HeaderScan::end_physical_line() {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.empty() && !line_long_) {  // the empty line: the body follows
    end_header();
    in_body_ = true;
    return;
  }
  if (line_[0] == ' ' || line_[0] == '\t') {  // folded (RFC 5322 2.2.3)
    if (header_.size() + line_.size() <= kMaxHeader) header_ += line_;
    else header_long_ = true;
  } else {
    end_header();
    header_ = line_;
    header_long_ = line_long_;
  }
  line_.clear();
  line_long_ = false;
}

void HeaderScan::end_header() {
  if (header_.empty() || header_long_) {
    header_.clear();
    header_long_ = false;
    return;
  }
  size_t colon = header_.find(':');
  if (colon != std::string::npos) {
    std::string_view name = trim(std::string_view(header_).substr(0, colon));
    std::string_view value = trim(std::string_view(header_).substr(colon + 1));
    if (equals_nocase(name, "Delivered-To") && delivered_.size() < kMaxDeliveredTo) {
      if (value.size() >= 2 && value.front() == '<' && value.back() == '>') value = value.substr(1, value.size() - 2);
      delivered_.push_back(to_lower(value));
    } else if (equals_nocase(name, "Message-ID") && message_id_.empty()) {
      message_id_ = std::string(value.substr(0, 255));
      for (char& ch : message_id_)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
    }
  }
  header_.clear();
  header_long_ = false;
}

bool HeaderScan::delivered_to(std::string_view address) const {
  std::string a = to_lower(address);
  return std::find(delivered_.begin(), delivered_.end(), a) != delivered_.end();
}

}  // namespace tern::lmtp
