#include "smtp-client/message_stream.h"

#include <vector>

namespace tern::smtp_client {

void DotStuffer::feed(std::string_view in, std::string& out) {
  if (in.empty()) return;
  out.reserve(out.size() + in.size() + 16);
  size_t start = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (line_start_ && in[i] == '.') {
      out.append(in.substr(start, i - start));
      out += '.';
      start = i;
    }
    line_start_ = in[i] == '\n';
  }
  out.append(in.substr(start));
  before_last_ = in.size() >= 2 ? in[in.size() - 2] : last_;
  last_ = in.back();
  empty_ = false;
}

void DotStuffer::finish(std::string& out) {
  if (!empty_ && !(before_last_ == '\r' && last_ == '\n')) out += "\r\n";
  out += ".\r\n";
}

Status MessageStream::fill(std::string& out, size_t chunk) {
  if (done_) return {};
  std::vector<char> buf(chunk);
  auto n = reader_.read_message(pos_, buf.data(), buf.size());
  if (!n) return n.take_error();
  bool last = *n == 0 || pos_ + *n >= reader_.message_size();
  std::string_view bytes(buf.data(), *n);
  if (downgrade_) {
    converted_.clear();
    downgrade_->feed(bytes, converted_);
    if (last) downgrade_->finish(converted_);
    bytes = converted_;
  }
  stuffer_.feed(bytes, out);
  pos_ += *n;
  if (last) {
    stuffer_.finish(out);
    done_ = true;
  }
  return {};
}

}  // namespace tern::smtp_client
