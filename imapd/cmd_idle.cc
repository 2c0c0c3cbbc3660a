// IDLE (RFC 2177): "+ idling", then untagged updates as they happen, until
// the client sends DONE. Changes made elsewhere reach the session through
// the folder's inotify watch (folder_cache.h) within kSettle of the
// rename into new/ or cur/, plus the sync.

#include "imapd/session_impl.h"

namespace tern::imapd {

void SessionImpl::cmd_idle(const Command& c) {
  if (!c.args.empty()) return bad(c, "Error in IMAP command IDLE: Invalid arguments.");
  idle_ = c;
  write("+ idling\r\n");
  if (selected_) {
    send_updates(true, false);
    // What changed between the last command and now: a sync catches it
    // (the watch only sees what happens from here on).
    selected_->folder->poke();
  }
  flush();
  running_ = false;  // the reader now takes raw lines (session.cc)
}

void SessionImpl::idle_line(std::string_view line) {
  Command c = std::move(*idle_);
  idle_.reset();
  running_ = true;
  if (!imap::ascii_iequal(line, "DONE")) return bad(c, "Expected DONE.");
  done(c, Condition::kOk, "Idle completed.");
}

}  // namespace tern::imapd
