#include "imapd/login/tls_proxy.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "common/base/log.h"
#include "common/tls/tls.h"

namespace tern::imap_login {

TlsProxy::TlsProxy(event::Loop& loop, event::BuffereventPtr tls, Fd pair, std::string client,
                   std::function<void(TlsProxy*)> on_closed)
    : loop_(loop), tls_(std::move(tls)), client_(std::move(client)), on_closed_(std::move(on_closed)) {
  plain_.reset(bufferevent_socket_new(loop_.base(), pair.release(), BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  timer_ = event::Timer(loop_, [this] {
    // Flushing took too long: drop what is left.
    flush_timed_out_ = true;
    maybe_done();
  });
  poll_ = event::Timer(loop_, [this] {
    // Waiting for the close_notify to leave the socket's bufferevent.
    maybe_done();
    if (!done_) poll_.start(std::chrono::milliseconds(50));
  });
  for (bufferevent* b : {tls_.get(), plain_.get()}) {
    bufferevent_setcb(b, &TlsProxy::on_read, &TlsProxy::on_write, &TlsProxy::on_event, this);
    // The write callback fires once output drains below kLowWater: resume.
    bufferevent_setwatermark(b, EV_WRITE, kLowWater, 0);
    bufferevent_enable(b, EV_READ | EV_WRITE);
  }
  // A STARTTLS filter hands its records on to the socket's bufferevent; cap
  // that one too, so backpressure reaches the client's TCP window.
  if (bufferevent* under = bufferevent_get_underlying(tls_.get()))
    bufferevent_setwatermark(under, EV_WRITE, kLowWater, 0);
  // Bytes already waiting (imapd's tagged OK) go out at once.
  forward(plain_.get(), tls_.get());
  forward(tls_.get(), plain_.get());
}

TlsProxy::~TlsProxy() {
  *alive_ = false;
  log::info("proxy for %s closed: in=%llu out=%llu", client_.c_str(), static_cast<unsigned long long>(up_),
            static_cast<unsigned long long>(down_));
}

bool TlsProxy::pending_out(bufferevent* bev) const {
  if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) return true;
  bufferevent* under = bufferevent_get_underlying(bev);
  return under && evbuffer_get_length(bufferevent_get_output(under)) > 0;
}

void TlsProxy::forward(bufferevent* from, bufferevent* to) {
  if (closing_) return;
  evbuffer* in = bufferevent_get_input(from);
  size_t n = evbuffer_get_length(in);
  if (n == 0) return;
  (from == tls_.get() ? up_ : down_) += n;
  evbuffer_add_buffer(bufferevent_get_output(to), in);
  size_t waiting = evbuffer_get_length(bufferevent_get_output(to));
  if (bufferevent* under = bufferevent_get_underlying(to)) waiting += evbuffer_get_length(bufferevent_get_output(under));
  if (waiting >= kHighWater) bufferevent_disable(from, EV_READ);
}

void TlsProxy::on_read(bufferevent* bev, void* self) noexcept {
  auto* p = static_cast<TlsProxy*>(self);
  p->forward(bev, bev == p->tls_.get() ? p->plain_.get() : p->tls_.get());
}

void TlsProxy::on_write(bufferevent* bev, void* self) noexcept {
  auto* p = static_cast<TlsProxy*>(self);
  if (p->closing_) return p->maybe_done();
  // This side drained: read from the other one again.
  bufferevent* other = bev == p->tls_.get() ? p->plain_.get() : p->tls_.get();
  if (!(bufferevent_get_enabled(other) & EV_READ)) {
    bufferevent_enable(other, EV_READ);
    p->forward(other, bev);
  }
}

void TlsProxy::on_event(bufferevent* bev, short what, void* self) noexcept {
  auto* p = static_cast<TlsProxy*>(self);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) p->side_closed(bev);
}

void TlsProxy::side_closed(bufferevent* bev) {
  if (closing_) return maybe_done();
  bufferevent* other = bev == tls_.get() ? plain_.get() : tls_.get();
  // What the closed side sent last still goes to the other one.
  forward(bev, other);
  closing_ = true;
  closed_ = bev;
  bufferevent_disable(bev, EV_READ | EV_WRITE);
  bufferevent_disable(other, EV_READ);
  // Nothing more can go to the side that closed.
  evbuffer_drain(bufferevent_get_output(bev), evbuffer_get_length(bufferevent_get_output(bev)));
  timer_.start(kFlushTimeout);
  maybe_done();
}

void TlsProxy::maybe_done() {
  if (done_) return;
  if (!flush_timed_out_) {
    for (bufferevent* b : {tls_.get(), plain_.get()})
      if (b != closed_ && pending_out(b)) return;
  }
  // RFC 8446 6.1: close_notify to the client before its connection closes
  // (unless the client closed first, or the flush timed out). Over implicit
  // TLS it goes straight to the socket; under a STARTTLS filter into the
  // socket's bufferevent, polled until it has left.
  if (!flush_timed_out_ && closed_ != tls_.get() && !close_notify_sent_) {
    close_notify_sent_ = true;
    if (tls::send_close_notify(bufferevent_openssl_get_ssl(tls_.get())) && pending_out(tls_.get()))
      return poll_.start(std::chrono::milliseconds(50));
  }
  done_ = true;
  timer_.cancel();
  poll_.cancel();
  // Not from inside libevent's callback: the owner frees the bufferevents.
  loop_.post([this, alive = alive_] {
    if (!*alive) return;
    auto cb = std::move(on_closed_);
    if (cb) cb(this);
  });
}

}  // namespace tern::imap_login
