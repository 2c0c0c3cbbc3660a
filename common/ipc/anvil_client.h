#pragma once
// The client side of the anvil protocol (anvil_protocol.h), for services
// that limit clients per address: smtpd now.
//
// One persistent connection per process to private/anvil (the jail path),
// never blocking the loop: requests are written at once and answered in
// order; each one's callback runs on the loop, never inside request().
// When anvil is away (no socket, a closed connection, no answer within the
// timeout, a protocol surprise, an error reply) the callback gets nullptr
// and the caller fails open, as Postfix's smtpd does: limits are a defence
// against abuse, never a reason to refuse mail. A warning says so, at most
// once a minute while it lasts.
//
// Reconnecting: a connection that anvil closed (a restart, a reload) is
// opened again by the next request. After a failed connect or a timeout
// (master owns the listener, so a connect succeeds even while no anvil runs,
// and only the timeout tells) requests fail at once for a while, doubling
// from 1s up to 32s until anvil answers again, so sessions do not each wait
// out the timeout.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/event/loop.h"
#include "common/ipc/anvil_protocol.h"
#include "common/ipc/line_io.h"

namespace tern::ipc {

class AnvilClient {
 public:
  static constexpr Duration kDefaultTimeout = std::chrono::seconds(3);
  static constexpr Duration kMinRetryDelay = std::chrono::seconds(1);
  static constexpr Duration kMaxRetryDelay = std::chrono::seconds(32);
  static constexpr Duration kWarningInterval = std::chrono::seconds(60);

  // The reply, or nullptr when anvil gave none: fail open.
  using Done = std::function<void(const AnvilReply*)>;

  AnvilClient(event::Loop& loop, std::string socket_path, Duration timeout = kDefaultTimeout);
  ~AnvilClient();
  AnvilClient(const AnvilClient&) = delete;
  AnvilClient& operator=(const AnvilClient&) = delete;

  // Sends a request; `done` (may be null) runs once, later, on the loop.
  // Returns the serial of the anvil connection it went out on, 0 if none.
  uint64_t request(const AnvilRequest& r, Done done);
  // Sends r only if the connection is still `serial`, answer ignored: a
  // disconnect must reach the anvil that counted the connect, and a new
  // anvil (after a restart) never saw it.
  void send_if(uint64_t serial, const AnvilRequest& r);

 private:
  struct Pending {
    Done done;
    MonoTime deadline;
  };
  bool connect_now();
  void on_line(std::string_view line);
  void lose(const std::string& why, bool back_off);
  void warn(const std::string& why);
  void arm_deadline();
  void run_later();

  event::Loop& loop_;
  std::string path_;
  Duration timeout_;
  std::unique_ptr<LineIo> io_;
  std::vector<std::unique_ptr<LineIo>> dead_;  // closed; freed from later_, never inside their callbacks
  uint64_t serial_ = 0;
  uint64_t next_serial_ = 1;
  bool greeted_ = false;
  std::deque<Pending> pending_;
  std::vector<Done> failed_;  // answered nullptr from later_
  event::Timer deadline_;
  event::Timer later_;
  MonoTime retry_at_{};
  Duration retry_delay_ = kMinRetryDelay;
  bool down_ = false;
  MonoTime last_warning_{};
};

}  // namespace tern::ipc
