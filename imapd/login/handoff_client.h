#pragma once
// imap-login's side of the imap-handoff protocol (spec: imapd/handoff.h):
// connect to login/imap, read imapd's VERSION, send the HANDOFF line with
// the client's descriptor, read imapd's OK or FAIL. Never blocks the loop.

#include <functional>
#include <memory>
#include <string>

#include "common/base/clock.h"
#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/ipc/imap_handoff.h"

namespace tern::imap_login {

enum class HandoffOutcome {
  kServed,       // imapd said OK (or took the line and went away: its copy decides)
  kRefused,      // imapd said FAIL: it has told the client * BYE
  kUnavailable,  // the line never reached imapd: the client is still ours
};

class HandoffClient {
 public:
  using Done = std::function<void(HandoffOutcome, const std::string& why)>;
  // `client` is borrowed: sendmsg duplicates it into imapd. `done` runs
  // once, on the loop, never inside start(), unless the HandoffClient is
  // destroyed first.
  HandoffClient(event::Loop& loop, const std::string& socket_path, ipc::HandoffRequest request, int client,
                Duration timeout, Done done);
  ~HandoffClient();
  HandoffClient(const HandoffClient&) = delete;
  HandoffClient& operator=(const HandoffClient&) = delete;

 private:
  void on_io(short events);
  void finish(HandoffOutcome outcome, const std::string& why);

  event::Loop& loop_;
  Fd fd_;
  int client_;
  std::string line_;
  size_t sent_ = 0;
  bool greeted_ = false;
  std::string in_;
  event::IoWatch watch_;
  event::Timer timer_;
  Done done_;
};

}  // namespace tern::imap_login
