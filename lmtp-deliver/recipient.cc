#include "lmtp-deliver/recipient.h"

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
  for (size_t i = 0; i < content.size() && !done_; ++i) {
    if (content[i] == '\n') {
      end_line();
      continue;
    }
    line_ += content[i];
    // Longer than a field may be: the parser would refuse it; stop here.
    if (line_.size() > mail::HeaderLimits{}.field) done_ = true;
  }
}

void HeaderScan::finish() {
  if (!done_ && !line_.empty()) end_line();
  done_ = true;
}

void HeaderScan::end_line() {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  auto step = parser_.add_line(line_);
  line_.clear();
  // Past a limit the fields read so far still count.
  if (!step || *step != mail::HeaderParser::Step::kMore) done_ = true;
}

bool HeaderScan::delivered_to(std::string_view address) const {
  for (const auto& f : parser_.fields()) {
    if (!equals_nocase(f.name, "Delivered-To")) continue;
    std::string v = f.unfolded();
    std::string_view value = v;
    if (value.size() >= 2 && value.front() == '<' && value.back() == '>') value = value.substr(1, value.size() - 2);
    if (equals_nocase(trim(value), address)) return true;
  }
  return false;
}

std::string HeaderScan::message_id() const {
  const mail::HeaderField* f = mail::find_field(parser_.fields(), "Message-ID");
  if (!f) return "";
  std::string id = f->unfolded().substr(0, 255);
  for (char& c : id)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return id;
}

}  // namespace tern::lmtp
