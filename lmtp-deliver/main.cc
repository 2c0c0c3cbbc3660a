// lmtp-deliver(8): the LMTP server that writes Maildirs. See
// man/lmtp-deliver.8 and lmtp-deliver/session.h.

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/server/skeleton.h"
#include "lmtp-deliver/session.h"
#include "lmtp-deliver/settings.h"

int main(int argc, char** argv) {
  using namespace tern;
  std::optional<lmtp::Settings> settings;
  std::map<lmtp::Session*, std::unique_ptr<lmtp::Session>> sessions;
  std::unique_ptr<auth::UserdbClient> userdb;  // one connection per process

  server::ServiceSpec spec;
  spec.program = "lmtp-deliver";
  spec.init_privileged = [&](server::Context& ctx) -> Status {
    auto s = lmtp::Settings::load(ctx.config());
    if (!s) return s.take_error();
    settings = std::move(*s);
    return {};
  };
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    settings->userdb_socket = ctx.jail_path(settings->userdb_socket);
    userdb = std::make_unique<auth::UserdbClient>(ctx.loop(), settings->userdb_socket, settings->userdb_timeout);
    settings->userdb = userdb.get();
    // Every DATA needs a spool file: find out now, as vmail, rather than
    // answer 451 to every message.
    if (auto probe = lmtp::open_spool(settings->temp_directory); !probe)
      return make_error(probe.error().code, "lmtp_deliver_temp_directory: " + probe.error().text);
    return {};
  };
  spec.on_connection = [&](server::Context& ctx, Fd fd, const server::Peer& peer) {
    auto session = std::make_unique<lmtp::Session>(ctx, *settings, std::move(fd), peer,
                                                   [&sessions, &ctx](lmtp::Session* s) {
                                                     sessions.erase(s);
                                                     ctx.client_done();
                                                   });
    auto* raw = session.get();
    sessions[raw] = std::move(session);
    raw->start();
  };
  spec.on_stop = [&](server::Context&) {
    // shutdown() may end (and erase) that session: walk a copy.
    std::vector<lmtp::Session*> open;
    for (auto& [raw, owned] : sessions) open.push_back(raw);
    for (auto* s : open) s->shutdown();
  };
  spec.on_exit = [&](server::Context&) {
    // It belongs to the skeleton's loop, which must outlive it.
    if (settings) settings->userdb = nullptr;
    userdb.reset();
  };
  spec.overload_reply = "421 4.3.2 Service busy, try again later\r\n";
  return server::run_service(argc, argv, std::move(spec));
}
