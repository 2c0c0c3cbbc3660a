#pragma once
// The inside of a Session (session.h): its I/O, the command loop, and one
// member function per command, defined in the cmd_*.cc file named for the
// command (as Dovecot's cmd-*.c). Only imapd/ includes this.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"
#include "imapd/imapd.h"
#include "imapd/session.h"

namespace tern::imapd {

// A parsed command (phase 1: tag, name, the rest of the line).
struct Cmd {
  std::string tag;
  std::string name;  // upper-case
  bool uid = false;
  std::string rest;
};

class SessionImpl {
 public:
  SessionImpl(Session& owner, Imapd& imapd, Fd in, Fd out, UserInfo user, ClientInfo info);
  ~SessionImpl();

  void start(std::optional<std::string> login_tag, std::string pending);
  void shutdown();
  const UserInfo& user() const { return user_; }

 private:
  // I/O (session.cc).
  void on_readable();
  void on_writable();
  void write(std::string_view bytes);
  void flush();
  void post_input();
  void process_input();
  void run_commands();
  void finish(const char* why);
  void close_after_output();
  void set_reading(bool on);

  // Commands (session.cc dispatches; cmd_*.cc implement).
  void dispatch(Cmd c);
  void tagged(const Cmd& c, std::string_view status, std::string_view text);
  void command_done();
  // The tagged answer, and the command is over.
  void done(const Cmd& c, std::string_view status, std::string_view text);
  void cmd_capability(const Cmd& c);
  void cmd_noop(const Cmd& c);
  void cmd_logout(const Cmd& c);

  Session& owner_;
  Imapd& imapd_;
  UserInfo user_;
  ClientInfo info_;
  std::string maildir_;
  Fd in_;
  Fd out_;  // invalid: in_ serves both directions
  int out_fd() const { return out_.valid() ? out_.get() : in_.get(); }
  event::IoWatch read_watch_;
  event::IoWatch write_watch_;
  event::Timer idle_timer_;
  std::string inbuf_;
  std::string outbuf_;
  size_t out_pos_ = 0;
  bool reading_ = true;
  bool running_ = false;   // a command is in progress (waiting for workers)
  bool closing_ = false;   // LOGOUT or BYE written: close once flushed
  bool finished_ = false;
  bool logged_ = false;    // the end of the session is logged already
  bool stopping_ = false;  // shutdown(): BYE after the command in progress
  bool eof_ = false;
  bool dispatching_ = false;  // inside dispatch(), called by run_commands()
  bool lost_ = false;         // a write failed: the client is gone
  bool pollable_in_ = true;   // false for a regular file on stdin
  bool read_posted_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern::imapd
