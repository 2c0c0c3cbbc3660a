// STARTTLS (RFC 3207): the 220 goes out in plain text, then an OpenSSL
// filter takes over the connection and the session starts over.
//
// Plain text the client pipelined after STARTTLS is thrown away unread
// (RFC 3207 5, and the command injection of CVE-2011-0411 in Postfix): the
// line reader has taken exactly the STARTTLS line, and whatever follows it
// in the input buffer is drained before the filter is put in place, so
// nothing sent before the handshake is ever taken as a command.

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "common/base/log.h"
#include "smtpd/session.h"

namespace tern::smtpd {

void Session::cmd_starttls(const Command& c) {
  if (!settings_.tls_ctx || settings_.tls_level == Settings::TlsLevel::kNone || settings_.wrappermode)
    return error_reply(502, "5.5.1", "Error: STARTTLS is not offered on this port");
  if (tls_active_) return error_reply(554, "5.5.1", "Error: TLS already active");
  if (!c.args.empty()) return error_reply(501, "5.5.4", "Syntax: STARTTLS");
  auto ssl = tls::new_server_ssl(settings_.tls_ctx.get());
  if (!ssl) {
    log::error("cannot start TLS for %s: %s", client().c_str(), ssl.error().text.c_str());
    return reply(454, "4.7.0", "TLS not available due to local problem");
  }
  reply(220, "2.0.0", "Ready to start TLS");
  evbuffer* in = bufferevent_get_input(bev_.get());
  if (size_t pending = evbuffer_get_length(in); pending > 0) {
    log::info("discarding %zu bytes of plain text pipelined after STARTTLS from %s", pending, client().c_str());
    evbuffer_drain(in, pending);
  }
  lines_.reset();
  // The 220 waits in the plain bufferevent's output and leaves before the
  // filter writes its first TLS record behind it.
  stop_direct_writes();
  bufferevent* plain = bev_.get();
  bufferevent* filter = bufferevent_openssl_filter_new(ctx_.loop().base(), plain, ssl->get(),
                                                       BUFFEREVENT_SSL_ACCEPTING, kTlsBevOptions);
  if (!filter) {
    log::error("cannot start TLS for %s: bufferevent_openssl_filter_new failed: %s", client().c_str(),
               tls::error_queue().c_str());
    reply(421, "4.7.0", settings_.myhostname + " Error: TLS not available");
    return close_after_reply();
  }
  ssl->release();   // freed with the filter
  (void)bev_.release();  // the filter owns the plain bufferevent now (BEV_OPT_CLOSE_ON_FREE)
  bev_.reset(filter);
  bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
  set_callbacks();
  bufferevent_enable(filter, EV_READ | EV_WRITE);
  tls_active_ = true;
  // RFC 3207 4.2: forget everything the client said before, EHLO included.
  reset_transaction();
  helo_.clear();
  esmtp_ = false;
  sasl_user_.clear();
  sasl_method_.clear();
}

}  // namespace tern::smtpd
