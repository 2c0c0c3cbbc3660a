// IDLE (RFC 2177): "+ idling", then untagged updates as they happen, until
// the client sends DONE. Changes made elsewhere reach the session through
// the folder's inotify watch (folder_cache.h) within kSettle of the
// rename into new/ or cur/, plus the sync; and, whatever inotify says,
// through a sync every imapd_idle_check_interval while the client idles
// (the only way when the process has no inotify instance or watch).

#include "imapd/session_impl.h"

namespace tern::imapd {

void SessionImpl::cmd_idle(const Command& c) {
  if (!c.args.empty()) return bad(c, "Error in IMAP command IDLE: Invalid arguments.");
  idle_ = c;
  write("+ idling\r\n");
  if (selected_) {
    send_updates(true, false);
    // What changed between the last command and now: a sync catches it
    // (skipped when the watch proves nothing did: folder_cache.h).
    selected_->folder->refresh();
    idle_poll_ = event::Timer(imapd_.loop(), [this] {
      if (!idle_ || !selected_) return;
      selected_->folder->poke();
      idle_poll_.start(imapd_.settings().idle_check_interval);
    });
    idle_poll_.start(imapd_.settings().idle_check_interval);
  }
  flush();
  running_ = false;  // the reader now takes raw lines (session.cc)
}

void SessionImpl::idle_line(std::string_view line) {
  Command c = std::move(*idle_);
  idle_.reset();
  idle_poll_.cancel();
  running_ = true;
  if (!imap::ascii_iequal(line, "DONE")) return bad(c, "Expected DONE.");
  done(c, Condition::kOk, "Idle completed.");
}

}  // namespace tern::imapd
