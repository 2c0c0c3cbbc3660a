// smtpd(8): the SMTP server. See man/smtpd.8 and smtpd/session.h.

#include <map>
#include <memory>
#include <optional>

#include "common/auth/userdb_client.h"
#include "common/base/log.h"
#include "common/ipc/anvil_client.h"
#include "common/queue/queue_id.h"
#include "common/table/table.h"
#include "common/server/skeleton.h"
#include "smtpd/session.h"
#include "smtpd/settings.h"

int main(int argc, char** argv) {
  using namespace tern;
  std::optional<smtpd::Settings> settings;
  queue::QueueIdGenerator ids;
  std::map<smtpd::Session*, std::unique_ptr<smtpd::Session>> sessions;
  std::unique_ptr<ipc::AnvilClient> anvil;  // one connection per process (client_limits.h)
  std::unique_ptr<auth::UserdbClient> userdb;  // one connection per process (recipient_check.h)

  server::ServiceSpec spec;
  spec.program = "smtpd";
  spec.dns = true;  // the clients' names (smtpd_peername_lookup)
  spec.init_privileged = [&](server::Context& ctx) -> Status {
    auto s = smtpd::Settings::load(ctx.config());
    if (!s) return s.take_error();
    settings = std::move(*s);
    // A rebuilt alias table makes this process finish and a fresh one start.
    for (const char* name : {"alias_maps", "virtual_alias_maps"}) {
      for (auto& spec : ctx.config().list(name)) {
        auto parsed = table::parse_spec(spec);
        if (!parsed) continue;
        std::string file = parsed->type == "lmdb" ? parsed->path + ".lmdb" : parsed->path;
        if (auto w = ctx.watch_file(file); !w) return w.take_error();
      }
    }
    // A renewed certificate makes this process finish and a fresh one load it.
    if (settings->tls_ctx) {
      for (auto& file : {settings->tls_cert_file, settings->tls_key_file}) {
        if (file.empty()) continue;
        if (auto w = ctx.watch_file(file); !w) return w.take_error();
      }
    } else if (settings->tls_level == smtpd::Settings::TlsLevel::kMay) {
      log::warning("smtpd_tls_security_level = may without smtpd_tls_cert_file: STARTTLS is not offered");
    }
    return {};
  };
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    settings->cleanup.queue_dir = ctx.jail_path(settings->cleanup.queue_dir);
    settings->cleanup.aliases = &settings->aliases;
    settings->directory.userdb_socket = ctx.jail_path(settings->directory.userdb_socket);
    userdb = std::make_unique<auth::UserdbClient>(ctx.loop(), settings->directory.userdb_socket,
                                                  settings->directory.userdb_timeout);
    settings->directory.userdb = userdb.get();
    settings->auth_socket = ctx.jail_path(settings->auth_socket);
    if (settings->limits.any()) {
      anvil = std::make_unique<ipc::AnvilClient>(ctx.loop(), ctx.jail_path(settings->limits.anvil_socket));
      settings->limits.anvil = anvil.get();
    }
    return {};
  };
  spec.on_connection = [&](server::Context& ctx, Fd fd, const server::Peer& peer) {
    auto session = std::make_unique<smtpd::Session>(ctx, *settings, ids, std::move(fd), peer,
                                                    [&sessions, &ctx](smtpd::Session* s) {
                                                      sessions.erase(s);
                                                      ctx.client_done();
                                                    });
    auto* raw = session.get();
    sessions[raw] = std::move(session);
    raw->start();
  };
  spec.on_exit = [&](server::Context&) {
    if (settings) settings->limits.anvil = nullptr;
    anvil.reset();
    if (settings) settings->directory.userdb = nullptr;
    userdb.reset();
  };
  spec.overload_reply = "421 4.3.2 Service busy, try again later\r\n";
  return server::run_service(argc, argv, std::move(spec));
}
