#include "common/ipc/line_io.h"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace tern::ipc {

LineIo::LineIo(event::Loop& loop, Fd fd, size_t max_line, LineFn on_line, CloseFn on_close)
    : fd_(std::move(fd)), max_line_(max_line), on_line_(std::move(on_line)), on_close_(std::move(on_close)) {
  (void)set_nonblocking(fd_.get());
  watch_ = event::IoWatch(loop, fd_.get(), event::IoWatch::kRead, [this](short ev) { on_events(ev); });
}

void LineIo::close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  watch_.cancel();
  fd_.reset();
  in_.clear();
  out_.clear();
  if (on_close_) on_close_(why);
}

void LineIo::send(std::string_view data) {
  if (closed_) return;
  out_.append(data);
  flush();
}

void LineIo::flush() {
  while (!out_.empty() && !closed_) {
    ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close(std::string("write: ") + std::strerror(errno));
    }
    out_.erase(0, static_cast<size_t>(n));
  }
  if (closed_) return;
  if (out_.size() > kMaxOutput) return close("client does not read its replies");
  watch_.set_events(event::IoWatch::kRead | (out_.empty() ? 0 : event::IoWatch::kWrite));
}

void LineIo::on_events(short events) {
  if (events & event::IoWatch::kWrite) flush();
  if (!closed_ && (events & event::IoWatch::kRead)) read_some();
}

void LineIo::read_some() {
  char buf[8192];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return close(std::string("read: ") + std::strerror(errno));
  }
  if (n == 0) return close("disconnected");
  in_.append(buf, static_cast<size_t>(n));
  size_t start = 0;
  while (!closed_) {
    size_t nl = in_.find('\n', start);
    if (nl == std::string::npos) break;
    if (nl - start > max_line_) return close("line too long");
    // Copy: the handler may close us, which clears in_.
    std::string line = in_.substr(start, nl - start);
    start = nl + 1;
    on_line_(line);
    // Lines carry SASL responses: wipe the copy.
    OPENSSL_cleanse(line.data(), line.size());
  }
  if (closed_) return;
  OPENSSL_cleanse(in_.data(), start);
  in_.erase(0, start);
  if (in_.size() > max_line_) close("line too long");
}

}  // namespace tern::ipc
