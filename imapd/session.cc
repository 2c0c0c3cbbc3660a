#include "imapd/session.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/base/log.h"
#include "common/base/network.h"
#include "common/base/strings.h"
#include "common/imap/mailbox_name.h"
#include "common/store/maildir.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

// A client that pipelines without reading its replies stops being read
// once this much output waits for it.
constexpr size_t kMaxPendingOutput = 256 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kFlushAt = 64 * 1024;
constexpr size_t kKeepBuffer = 4096;
// BADs in a row before the session is closed, as Dovecot does.
constexpr int kMaxErrors = 20;

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

std::string_view capabilities() {
  return "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE QUOTA "
         "QUOTA=RES-STORAGE QUOTA=RES-MESSAGE";
}

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
      quota_(maildir_, store::user_quota(user_.fields, imapd.settings().quota_rule)),
      in_(std::move(in)),
      out_(std::move(out)),
      reader_(imap::ReaderLimits{imapd.settings().max_line, imapd.settings().max_literal}) {
  (void)set_nonblocking(in_.get());
  if (out_.valid()) (void)set_nonblocking(out_.get());
  // A FETCH answer leaves in several writes (one per batch, then the tagged
  // line): with Nagle on, the tagged line of a handed-over TCP client waited
  // for its delayed ACK, 40 ms per FETCH.
  set_tcp_nodelay(out_fd());
  idle_timer_ = event::Timer(imapd_.loop(), [this] {
    write("* BYE Disconnected for inactivity\r\n");
    log::info("imap(%s): Disconnected for inactivity in=%llu out=%llu", user_.user.c_str(),
              static_cast<unsigned long long>(bytes_in_), static_cast<unsigned long long>(bytes_out_));
    logged_ = true;  // finish() only closes
    close_after_output();
  });
}

SessionImpl::~SessionImpl() {
  *alive_ = false;
  if (selected_) selected_->folder->unlisten(selected_->listener);
}

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
  reader_.feed(pending);
  if (maildir_ != store::maildir_path(user_.home)) return process_input();
  // The first login creates the Maildir and the special-use folders when
  // no delivery has yet (DESIGN.md "Mail store"); commands wait for it.
  running_ = true;
  auto made = std::make_shared<Status>();
  imapd_.workers().submit([made, home = user_.home] { *made = store::ensure_maildir(home); }, guard([this, made] {
                            if (!*made)
                              log::warning("imap(%s): creating the Maildir: %s", user_.user.c_str(),
                                           made->error().text.c_str());
                            running_ = false;
                            process_input();
                          }));
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
  reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
  idle_timer_.start(imapd_.settings().timeout);
  // A command in progress: read ahead only so far (what waits in the
  // reader is the pipelined commands).
  if (running_ && reader_.buffered() > imapd_.settings().read_ahead) set_reading(false);
  process_input();
}

void SessionImpl::write(std::string_view bytes) {
  if (finished_) return;
  // A client that keeps reading but never quite catches up (a long FETCH
  // streamed in chunks) would otherwise grow the buffer by everything ever
  // sent: drop what went out once it is most of the buffer.
  if (out_pos_ > 0 && out_pos_ >= outbuf_.size() / 2) {
    outbuf_.erase(0, out_pos_);
    out_pos_ = 0;
  }
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

void SessionImpl::when_drained(std::function<void()> fn) {
  flush();
  if (outbuf_.size() - out_pos_ <= kMaxPendingOutput || lost_) return fn();
  drained_ = std::move(fn);
}

void SessionImpl::on_writable() {
  flush();
  if (drained_ && (lost_ || outbuf_.size() - out_pos_ <= kMaxPendingOutput)) {
    auto fn = std::move(drained_);
    drained_ = nullptr;
    fn();
  }
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
    if (idle_) {
      // RFC 2177: during IDLE the client sends only "DONE".
      imap::Event ev = reader_.next_line();
      if (ev.kind == imap::EventKind::kNeedMore) {
        if (eof_) return finish("Disconnected in IDLE");
        set_reading(true);
        return;
      }
      dispatching_ = true;
      idle_line(ev.kind == imap::EventKind::kLine ? ev.line : "");  // too long: not DONE
      dispatching_ = false;
      continue;
    }
    imap::Event ev = reader_.next();
    switch (ev.kind) {
      case imap::EventKind::kNeedMore:
        if (eof_) return finish("Disconnected");
        set_reading(true);
        return;
      case imap::EventKind::kLiteral:
        on_literal(ev.literal);
        continue;
      case imap::EventKind::kError: {
        const auto& e = ev.error;
        std::string code = e.code == imap::ReadErrorCode::kLiteralTooBig ? "TOOBIG" : "";
        write(imap::tagged(e.tag, Condition::kBad, code, e.text));
        append_sink_.reset();
        if (e.fatal || ++errors_ >= kMaxErrors) {
          write("* BYE Too many invalid IMAP commands.\r\n");
          logged_ = true;
          log::info("imap(%s): Disconnected: Too many invalid commands. in=%llu out=%llu", user_.user.c_str(),
                    static_cast<unsigned long long>(bytes_in_), static_cast<unsigned long long>(bytes_out_));
          return close_after_output();
        }
        continue;
      }
      case imap::EventKind::kCommand:
        running_ = true;
        dispatching_ = true;
        dispatch(std::move(ev.command));
        dispatching_ = false;
        continue;
      case imap::EventKind::kLine: continue;  // not from next()
    }
  }
  if (running_ && reader_.buffered() <= imapd_.settings().read_ahead) set_reading(true);
}

// A literal is announced (command_reader.h): APPEND's message streams
// into the target folder's tmp/; any other literal is taken into memory
// when the reader's limits allow.
void SessionImpl::on_literal(const imap::LiteralRequest& lit) {
  const Command& p = reader_.partial();
  auto refuse = [&](Condition cond, std::string_view code, std::string_view text) {
    write(imap::tagged(p.tag, cond, code, text));
    reader_.refuse_literal();
    flush();
  };
  if (p.name == "APPEND" && !p.uid && lit.depth == 0 && !p.args.empty()) {
    if (!lit.within_limit) return refuse(Condition::kNo, "TOOBIG", "Message too large.");
    std::string error;
    auto name = imap::parse_mailbox(p.args[0]);
    if (!name) return refuse(Condition::kNo, "CANNOT", imap::sanitize_text(name.error().text));
    auto dir = folder_dir(*name);
    if (!dir) return refuse(Condition::kNo, "TRYCREATE", "Mailbox doesn't exist: " + imap::sanitize_text(*name));
    append_sink_ = AppendSink::create(*dir, &error);
    if (!append_sink_) return refuse(Condition::kNo, "TRYCREATE", error);
    reader_.stream_literal(append_sink_.get());
  } else {
    if (!lit.fits_memory) return refuse(Condition::kBad, "TOOBIG", "Literal too large.");
    reader_.accept_literal();
  }
  if (lit.synchronizing) {
    write("+ OK\r\n");
    flush();
  }
}

void SessionImpl::tagged(const Command& c, Condition cond, std::string_view code, std::string_view text) {
  write(imap::tagged(c.tag, cond, code, text));
}

void SessionImpl::done(const Command& c, Condition cond, std::string_view code, std::string_view text) {
  if (cond == Condition::kBad) errors_++;
  else errors_ = 0;
  // What other sessions and deliveries changed goes before the tagged
  // answer (RFC 3501 7: untagged data, then the completion).
  if (selected_) send_updates(allow_expunge_, uid_command_);
  tagged(c, cond, code, text);
  command_done();
}

std::function<void()> SessionImpl::guard(std::function<void()> fn) {
  std::weak_ptr<bool> alive = alive_;
  return [alive, fn = std::move(fn)] {
    if (alive.expired()) return;
    fn();
  };
}

// The command in progress is answered: send what other sessions changed,
// then go on with the pipelined input.
void SessionImpl::command_done() {
  running_ = false;
  allow_expunge_ = true;
  uid_command_ = false;
  if (stopping_ && !closing_) {
    write("* BYE Server shutting down\r\n");
    close_after_output();
    return;
  }
  // A command that finished later (worker pool) resumes the input; one
  // answered at once returns to run_commands(), which goes on by itself.
  if (!dispatching_) process_input();
}

void SessionImpl::dispatch(Command c) {
  const std::string& n = c.name;
  uid_command_ = c.uid;
  if (c.uid && n != "FETCH" && n != "STORE" && n != "SEARCH" && n != "COPY" && n != "MOVE" && n != "EXPUNGE")
    return bad(c, "Error in IMAP command UID: Unknown command.");
  // RFC 3501 7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH
  // (their UID forms may have them).
  allow_expunge_ = c.uid || (n != "FETCH" && n != "STORE" && n != "SEARCH");
  if (n == "CAPABILITY") return cmd_capability(c);
  if (n == "NOOP") return cmd_noop(c);
  if (n == "LOGOUT") return cmd_logout(c);
  if (n == "ID") return cmd_id(c);
  if (n == "ENABLE") return cmd_enable(c);
  if (n == "NAMESPACE") return cmd_namespace(c);
  if (n == "SELECT") return cmd_select(c, false);
  if (n == "EXAMINE") return cmd_select(c, true);
  if (n == "CREATE") return cmd_create(c);
  if (n == "DELETE") return cmd_delete(c);
  if (n == "RENAME") return cmd_rename(c);
  if (n == "SUBSCRIBE") return cmd_subscribe(c, true);
  if (n == "UNSUBSCRIBE") return cmd_subscribe(c, false);
  if (n == "LIST") return cmd_list(c, false);
  if (n == "LSUB") return cmd_list(c, true);
  if (n == "STATUS") return cmd_status(c);
  if (n == "APPEND") return cmd_append(c);
  if (n == "GETQUOTAROOT") return cmd_getquota(c, true);
  if (n == "GETQUOTA") return cmd_getquota(c, false);
  if (n == "SETQUOTA") return cmd_setquota(c);
  if (n == "IDLE") return cmd_idle(c);
  if (n == "CHECK") return cmd_check(c);
  if (n == "CLOSE") return cmd_close(c);
  if (n == "UNSELECT") return cmd_unselect(c);
  if (n == "EXPUNGE") return cmd_expunge(c);
  if (n == "FETCH") return cmd_fetch(c);
  if (n == "STORE") return cmd_store(c);
  if (n == "SEARCH") return cmd_search(c);
  if (n == "COPY") return cmd_copy(c, false);
  if (n == "MOVE") return cmd_copy(c, true);
  if (n == "LOGIN" || n == "AUTHENTICATE" || n == "STARTTLS")
    return bad(c, "Error in IMAP command " + n + ": Already authenticated.");
  bad(c, "Error in IMAP command " + imap::sanitize_text(n.substr(0, 64)) + ": Unknown command.");
}

}  // namespace tern::imapd
