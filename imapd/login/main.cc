// imap-login(8): TLS and everything before login for IMAP, with no access to
// mail. Runs as login_owner (tern-login), jailed in queue_directory/login,
// which holds only the two sockets it uses: login/auth (authd, the SASL
// exchange) and login/imap (imapd, which takes each logged-in client).
// Port 143 offers STARTTLS; with imap_tls_wrappermode = yes (993) TLS
// starts with the first byte (RFC 8314). The certificate and key
// (imapd_tls_cert_file, imapd_tls_key_file) are read before the privilege
// drop and watched: a renewed certificate makes the process finish its
// clients and exit, and master starts one that loads the new one.
// The sessions are in session.h, the handoff in handoff_client.h and
// imapd/handoff.h, the proxy of TLS clients in tls_proxy.h.

#include <memory>
#include <optional>

#include "common/base/log.h"
#include "common/server/skeleton.h"
#include "imapd/login/session.h"
#include "imapd/login/settings.h"

using namespace tern;

int main(int argc, char** argv) {
  std::optional<imap_login::Settings> settings;
  std::unique_ptr<imap_login::LoginServer> login;
  server::ServiceSpec spec;
  spec.program = "imap-login";
  spec.overload_reply = "* BYE Server busy, try again later.\r\n";
  spec.init_privileged = [&](server::Context& ctx) -> Status {
    auto s = imap_login::Settings::load(ctx.config());
    if (!s) return s.take_error();
    settings = std::move(*s);
    if (settings->tls_ctx) {
      for (auto& file : {settings->tls_cert_file, settings->tls_key_file}) {
        if (file.empty()) continue;
        if (auto w = ctx.watch_file(file); !w) return w.take_error();
      }
    } else {
      log::warning("no imapd_tls_cert_file: STARTTLS is not offered, and with disable_plaintext_auth = yes "
                   "only login_trusted_networks can log in");
    }
    return {};
  };
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    settings->auth_socket = ctx.jail_path(settings->auth_socket);
    settings->handoff_socket = ctx.jail_path(settings->handoff_socket);
    login = std::make_unique<imap_login::LoginServer>(ctx, *settings);
    return {};
  };
  spec.on_connection = [&](server::Context&, Fd fd, const server::Peer& peer) { login->accept(std::move(fd), peer); };
  spec.on_stop = [&](server::Context&) {
    if (login) login->stop();
  };
  spec.on_exit = [&](server::Context&) { login.reset(); };
  return server::run_service(argc, argv, std::move(spec));
}
