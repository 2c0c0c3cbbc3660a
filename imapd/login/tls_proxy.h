#pragma once
// The bytes of a logged-in TLS client, between its TLS session and imapd's
// end of a socketpair (imapd never speaks TLS). Each direction is bounded:
// once kHighWater bytes wait for one side, reading from the other stops
// until they drain below kLowWater (backpressure, so a client that does not
// read cannot make this process buffer a whole mailbox). When either side
// closes, what the other still has to receive is flushed (bounded by
// kFlushTimeout), the client gets TLS close_notify (RFC 8446 6.1) unless it
// closed first, and both are closed.

#include <event2/bufferevent.h>

#include <functional>
#include <memory>
#include <string>

#include "common/base/fd.h"
#include "common/event/handles.h"
#include "common/event/loop.h"

namespace tern::imap_login {

class TlsProxy {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;
  static constexpr std::chrono::seconds kFlushTimeout{30};

  // on_closed runs once, on the loop, when both sides are done; it may
  // destroy the proxy.
  TlsProxy(event::Loop& loop, event::BuffereventPtr tls, Fd pair, std::string client,
           std::function<void(TlsProxy*)> on_closed);
  ~TlsProxy();
  TlsProxy(const TlsProxy&) = delete;
  TlsProxy& operator=(const TlsProxy&) = delete;

 private:
  static void on_read(bufferevent* bev, void* self) noexcept;
  static void on_write(bufferevent* bev, void* self) noexcept;
  static void on_event(bufferevent* bev, short what, void* self) noexcept;
  void forward(bufferevent* from, bufferevent* to);
  bool pending_out(bufferevent* bev) const;
  void side_closed(bufferevent* bev);
  void maybe_done();

  event::Loop& loop_;
  event::BuffereventPtr tls_;
  event::BuffereventPtr plain_;
  std::string client_;
  std::function<void(TlsProxy*)> on_closed_;
  bool closing_ = false;
  bufferevent* closed_ = nullptr;  // the side that closed first
  bool done_ = false;
  bool flush_timed_out_ = false;  // the flush timed out
  event::Timer timer_;
  bool close_notify_sent_ = false;
  event::Timer poll_;  // the close_notify leaving a STARTTLS filter's socket bufferevent
  uint64_t up_ = 0, down_ = 0;  // bytes client -> imapd, imapd -> client
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern::imap_login
