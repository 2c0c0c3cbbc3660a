#pragma once
// Buffered line I/O on one non-blocking stream socket: authd's two
// Dovecot protocols, anvil's protocol on both ends. Lines end in LF (a CR
// before it is kept: none of these protocols sends one). Every line read is
// wiped from memory once handled (authd's carry SASL responses). A line
// longer than max_line, a peer that stops reading while more than
// kMaxOutput bytes wait for it, EOF or an error end the connection through
// on_close(why). The owner destroys the LineIo later, never from inside its
// own callbacks.

#include <functional>
#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/event/loop.h"

namespace tern::ipc {

class LineIo {
 public:
  static constexpr size_t kMaxOutput = 1 << 20;
  using LineFn = std::function<void(std::string_view line)>;
  using CloseFn = std::function<void(const std::string& why)>;

  LineIo(event::Loop& loop, Fd fd, size_t max_line, LineFn on_line, CloseFn on_close);
  LineIo(const LineIo&) = delete;
  LineIo& operator=(const LineIo&) = delete;

  void send(std::string_view data);
  // Stops everything and closes the socket; on_close runs once, with why.
  void close(const std::string& why);
  bool closed() const { return closed_; }

 private:
  void on_events(short events);
  void read_some();
  void flush();

  Fd fd_;
  event::IoWatch watch_;
  size_t max_line_;
  LineFn on_line_;
  CloseFn on_close_;
  std::string in_, out_;
  bool closed_ = false;
};

}  // namespace tern::ipc
