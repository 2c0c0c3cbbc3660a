// STARTTLS (RFC 3501 6.2.1, RFC 2595 3.1): the tagged OK goes out in plain
// text, then an OpenSSL filter takes over the connection.
//
// Plain text the client pipelined after STARTTLS is thrown away unread
// (RFC 2595 3.1, and the command injection of CVE-2011-0411): the reader
// has been fed exactly the STARTTLS line, and the rest of the input buffer
// is drained before the filter is put in place. The client asks for
// CAPABILITY again (RFC 3501 6.2.1: the list may change); LOGINDISABLED
// goes away and AUTH= appears.

#include <event2/bufferevent_ssl.h>

#include "common/base/log.h"
#include "imapd/login/session.h"

namespace tern::imap_login {

void Session::cmd_starttls(const imap::Command& c) {
  if (!c.args.empty()) return bad(c.tag, "STARTTLS takes no arguments");
  if (tls_active_) return bad(c.tag, "TLS is already active");
  if (!settings_.tls_ctx) return bad(c.tag, "STARTTLS is not offered here (no imapd_tls_cert_file)");
  auto ssl = tls::new_server_ssl(settings_.tls_ctx.get());
  if (!ssl) {
    log::error("cannot start TLS for %s: %s", client().c_str(), ssl.error().text.c_str());
    reply(c.tag + " NO [UNAVAILABLE] TLS not available due to a local problem");
    return;
  }
  reply(c.tag + " OK Begin TLS negotiation now.");
  evbuffer* in = bufferevent_get_input(bev_.get());
  size_t pending = evbuffer_get_length(in) + reader_->buffered();
  if (pending > 0) {
    log::info("discarding %zu bytes of plain text pipelined after STARTTLS (%s)", pending, client().c_str());
    evbuffer_drain(in, evbuffer_get_length(in));
  }
  reader_ = std::make_unique<imap::CommandReader>(reader_->limits());
  literal_left_ = 0;
  bufferevent* plain = bev_.get();
  bufferevent* filter = bufferevent_openssl_filter_new(server_.ctx().loop().base(), plain, ssl->get(),
                                                       BUFFEREVENT_SSL_ACCEPTING,
                                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!filter) {
    log::error("cannot start TLS for %s: bufferevent_openssl_filter_new failed: %s", client().c_str(),
               tls::error_queue().c_str());
    return bye("TLS not available.");
  }
  ssl->release();        // freed with the filter
  (void)bev_.release();  // the filter owns the plain bufferevent now
  bev_.reset(filter);
  bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
  set_callbacks();
  // Output handed to the socket's bufferevent stays bounded (tls_proxy.h).
  bufferevent_setwatermark(filter, EV_WRITE, 0, 64 * 1024);
  bufferevent_enable(filter, EV_READ | EV_WRITE);
  tls_active_ = true;
}

}  // namespace tern::imap_login
