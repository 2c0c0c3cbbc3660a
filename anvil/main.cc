// anvil(8): per-client connection counts and event rates for every process
// of smtpd (Postfix's anvil). One resident process on private/anvil; the
// protocol is specified in common/ipc/anvil_protocol.h, the serving code is
// anvil/anvil_server.h. See man/anvil.8.

#include <memory>

#include "anvil/anvil_server.h"
#include "common/base/log.h"
#include "common/server/skeleton.h"

int main(int argc, char** argv) {
  using namespace tern;
  std::unique_ptr<anvil::AnvilServer> server;

  server::ServiceSpec spec;
  spec.program = "anvil";
  // Counts live in this one process: it must not exit for max_idle or
  // max_use, or the rates of the current time unit would be forgotten.
  spec.resident = true;
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    anvil::Settings s;
    s.time_unit = ctx.config().seconds("anvil_rate_time_unit");
    s.status_update = ctx.config().seconds("anvil_status_update_time");
    if (s.time_unit < std::chrono::seconds(1)) return invalid("anvil_rate_time_unit: at least 1s");
    server = std::make_unique<anvil::AnvilServer>(ctx.loop(), s, [&ctx] { ctx.client_done(); });
    return {};
  };
  spec.on_connection = [&](server::Context&, Fd fd, const server::Peer&) { server->accept(std::move(fd)); };
  spec.on_stop = [&](server::Context&) {
    if (!server) return;
    server->log_stats();
    server->stop();
  };
  spec.on_exit = [&](server::Context&) { server.reset(); };
  // smtpd does not expect an SMTP reply here: a refused client just sees
  // the close, and fails open.
  spec.overload_reply = "";
  return server::run_service(argc, argv, std::move(spec));
}
