#include "imapd/session.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/base/log.h"
#include "common/base/strings.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

// A client that pipelines without reading its replies stops being read
// once this much output waits for it.
constexpr size_t kMaxPendingOutput = 256 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kFlushAt = 64 * 1024;
constexpr size_t kKeepBuffer = 4096;

std::string upper(std::string_view s) {
  std::string r(s);
  for (auto& ch : r)
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  return r;
}

}  // namespace

std::string user_maildir(const UserInfo& user) {
  auto it = user.fields.find("mail");
  if (it != user.fields.end()) {
    std::string_view v = it->second;
    if (v.rfind("maildir:", 0) == 0) v.remove_prefix(8);
    // Dovecot's location may carry ":KEY=value" options after the path.
    if (auto colon = v.find(':'); colon != std::string_view::npos) v = v.substr(0, colon);
    if (v.rfind("~/", 0) == 0) return user.home + std::string(v.substr(1));
    if (!v.empty()) return std::string(v);
  }
  return user.home + "/Maildir";
}

std::string_view capabilities() { return "IMAP4rev1"; }

// ---------------------------------------------------------------------------
// Session: the public face.

Session::Session(Imapd& imapd, Fd in, Fd out, UserInfo user, ClientInfo info)
    : impl_(std::make_unique<SessionImpl>(*this, imapd, std::move(in), std::move(out), std::move(user),
                                          std::move(info))) {}
Session::~Session() = default;
void Session::start(std::optional<std::string> login_tag, std::string pending) {
  impl_->start(std::move(login_tag), std::move(pending));
}
void Session::shutdown() { impl_->shutdown(); }
const UserInfo& Session::user() const { return impl_->user(); }

// ---------------------------------------------------------------------------
// I/O.

SessionImpl::SessionImpl(Session& owner, Imapd& imapd, Fd in, Fd out, UserInfo user, ClientInfo info)
    : owner_(owner),
      imapd_(imapd),
      user_(std::move(user)),
      info_(std::move(info)),
      maildir_(user_maildir(user_)),
      in_(std::move(in)),
      out_(std::move(out)) {
  (void)set_nonblocking(in_.get());
  if (out_.valid()) (void)set_nonblocking(out_.get());
  idle_timer_ = event::Timer(imapd_.loop(), [this] {
    write("* BYE Disconnected for inactivity\r\n");
    log::info("imap(%s): Disconnected for inactivity in=%llu out=%llu", user_.user.c_str(),
              static_cast<unsigned long long>(bytes_in_), static_cast<unsigned long long>(bytes_out_));
    logged_ = true;  // finish() only closes
    close_after_output();
  });
}

SessionImpl::~SessionImpl() { *alive_ = false; }

void SessionImpl::start(std::optional<std::string> login_tag, std::string pending) {
  if (login_tag) {
    write(*login_tag + " OK [CAPABILITY " + std::string(capabilities()) + "] Logged in\r\n");
  } else {
    write("* PREAUTH [CAPABILITY " + std::string(capabilities()) + "] Logged in as " + user_.user + "\r\n");
  }
  log::info("imap(%s): Logged in%s%s", user_.user.c_str(), info_.rip.empty() ? "" : " rip=",
            info_.rip.c_str());
  struct stat st;
  if (::fstat(in_.get(), &st) == 0 && S_ISREG(st.st_mode)) {
    pollable_in_ = false;  // epoll refuses regular files: read until EOF
  } else {
    read_watch_ = event::IoWatch(imapd_.loop(), in_.get(), event::IoWatch::kRead, [this](short) { on_readable(); });
  }
  idle_timer_.start(imapd_.settings().timeout);
  bytes_in_ += pending.size();
  inbuf_ = std::move(pending);
  process_input();
}

void SessionImpl::shutdown() {
  stopping_ = true;
  if (!running_ && !closing_) {
    write("* BYE Server shutting down\r\n");
    close_after_output();
  }
}

void SessionImpl::set_reading(bool on) {
  if (eof_ || finished_) return;
  if (!pollable_in_) {
    reading_ = on;
    if (on && !read_posted_) {
      read_posted_ = true;
      std::weak_ptr<bool> alive = alive_;
      imapd_.loop().post([this, alive] {
        if (alive.expired()) return;
        read_posted_ = false;
        if (reading_) on_readable();
      });
    }
    return;
  }
  if (on == reading_) return;
  reading_ = on;
  if (read_watch_.active()) read_watch_.set_events(on ? event::IoWatch::kRead : 0);
}

void SessionImpl::on_readable() {
  char buf[kReadChunk];
  ssize_t n = ::read(in_.get(), buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return finish("Connection reset by peer");
  }
  if (n == 0) {
    eof_ = true;
    read_watch_.cancel();
    // Commands already read still run (a client may send "LOGOUT" and shut
    // down its side at once); the session ends when they are done.
    if (!running_) process_input();
    return;
  }
  bytes_in_ += static_cast<uint64_t>(n);
  inbuf_.append(buf, static_cast<size_t>(n));
  idle_timer_.start(imapd_.settings().timeout);
  process_input();
}

void SessionImpl::write(std::string_view bytes) {
  if (finished_) return;
  outbuf_.append(bytes);
  bytes_out_ += bytes.size();
  // A big answer (FETCH of many bodies) goes out as it is produced.
  if (outbuf_.size() - out_pos_ >= kFlushAt) flush();
}

// Writes what it can now; the rest when the descriptor is writable. Trying
// first saves a poll round trip per answer, and works for regular files
// (stdout redirected), which cannot be polled.
void SessionImpl::flush() {
  if (finished_) return;
  while (out_pos_ < outbuf_.size()) {
    ssize_t n = ::write(out_fd(), outbuf_.data() + out_pos_, outbuf_.size() - out_pos_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!write_watch_.active())
          write_watch_ =
              event::IoWatch(imapd_.loop(), out_fd(), event::IoWatch::kWrite, [this](short) { on_writable(); });
        return;
      }
      outbuf_.clear();
      out_pos_ = 0;
      write_watch_.cancel();
      // Reported from the loop: flush() runs inside command code.
      lost_ = true;
      post_input();
      return;
    }
    out_pos_ += static_cast<size_t>(n);
  }
  outbuf_.clear();
  if (outbuf_.capacity() > kKeepBuffer) outbuf_.shrink_to_fit();  // idle sessions hold little
  out_pos_ = 0;
  write_watch_.cancel();
}

void SessionImpl::on_writable() {
  flush();
  if (lost_ || out_pos_ < outbuf_.size()) return;
  if (closing_) return finish(nullptr);
  // Drained: read and run the pipelined commands again.
  if (!reading_) {
    set_reading(true);
    process_input();
  }
}

// Runs process_input() from the loop (not inside the caller's frame).
void SessionImpl::post_input() {
  std::weak_ptr<bool> alive = alive_;
  imapd_.loop().post([this, alive] {
    if (alive.expired()) return;
    process_input();
  });
}

void SessionImpl::close_after_output() {
  closing_ = true;
  set_reading(false);
  read_watch_.cancel();
  flush();
  if (out_pos_ >= outbuf_.size()) finish(lost_ ? "Connection reset by peer" : nullptr);
}

// The session is over: logs and hands itself to Imapd, which destroys it
// later (never inside one of our own callbacks).
void SessionImpl::finish(const char* why) {
  if (finished_) return;
  finished_ = true;
  if (!logged_) {
    log::info("imap(%s): %s in=%llu out=%llu", user_.user.c_str(), why ? why : "Logged out",
              static_cast<unsigned long long>(bytes_in_), static_cast<unsigned long long>(bytes_out_));
  }
  read_watch_.cancel();
  write_watch_.cancel();
  idle_timer_.cancel();
  imapd_.session_ended(&owner_);
}

void SessionImpl::process_input() {
  if (lost_) return finish("Connection reset by peer");
  run_commands();
  flush();
  if (lost_) return finish("Connection reset by peer");
}

void SessionImpl::run_commands() {
  while (!running_ && !closing_ && !finished_) {
    if (outbuf_.size() - out_pos_ > kMaxPendingOutput) {
      set_reading(false);  // on_writable() resumes
      return;
    }
    auto nl = inbuf_.find('\n');
    if (nl == std::string::npos) {
      if (inbuf_.size() > imapd_.settings().max_line) {
        write("* BAD Command line too long\r\n");
        inbuf_.clear();
      }
      if (eof_) return finish("Disconnected");
      set_reading(true);
      return;
    }
    std::string line = inbuf_.substr(0, nl);
    inbuf_.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Cmd c;
    auto sp = line.find(' ');
    c.tag = line.substr(0, sp);
    if (c.tag.empty() || sp == std::string::npos) {
      write("* BAD Error in IMAP command: missing tag or command\r\n");
      continue;
    }
    std::string_view rest = std::string_view(line).substr(sp + 1);
    auto sp2 = rest.find(' ');
    c.name = upper(rest.substr(0, sp2));
    if (sp2 != std::string_view::npos) c.rest = std::string(rest.substr(sp2 + 1));
    running_ = true;
    dispatching_ = true;
    dispatch(std::move(c));
    dispatching_ = false;
  }
}

void SessionImpl::tagged(const Cmd& c, std::string_view status, std::string_view text) {
  write(c.tag + " " + std::string(status) + " " + std::string(text) + "\r\n");
}

void SessionImpl::done(const Cmd& c, std::string_view status, std::string_view text) {
  tagged(c, status, text);
  command_done();
}

// The command in progress is answered: send what other sessions changed,
// then go on with the pipelined input.
void SessionImpl::command_done() {
  running_ = false;
  if (stopping_ && !closing_) {
    write("* BYE Server shutting down\r\n");
    close_after_output();
    return;
  }
  // A command that finished later (worker pool) resumes the input; one
  // answered at once returns to run_commands(), which goes on by itself.
  if (!dispatching_) process_input();
}

void SessionImpl::dispatch(Cmd c) {
  if (c.name == "CAPABILITY") return cmd_capability(c);
  if (c.name == "NOOP") return cmd_noop(c);
  if (c.name == "LOGOUT") return cmd_logout(c);
  done(c, "BAD", "Error in IMAP command " + c.name + ": Unknown command.");
}

}  // namespace tern::imapd
