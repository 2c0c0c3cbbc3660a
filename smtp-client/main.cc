// smtp-client(8): delivers queued mail over SMTP or LMTP for qmgr. Serves
// the delivery protocol (common/ipc/delivery_protocol.h) on private/smtp and
// private/lmtp; one request at a time per qmgr connection, many connections
// per process (smtp-client/agent.h). Opens queue files read-only and speaks
// to the request's next hop (smtp-client/session.h), keeping sessions open
// for the next request to the same hop (smtp-client/session_cache.h). Runs
// as mail_owner, chrooted to the queue directory: "unix:private/deliver"
// names a socket inside it, as in Postfix.

#include <map>
#include <memory>
#include <optional>

#include "common/base/log.h"
#include "common/server/skeleton.h"
#include "common/table/table.h"
#include "common/tls/tls.h"
#include "smtp-client/agent.h"

int main(int argc, char** argv) {
  using namespace tern;
  std::unique_ptr<smtp_client::Agent> agent;
  std::map<smtp_client::QmgrConnection*, std::shared_ptr<smtp_client::QmgrConnection>> conns;

  std::shared_ptr<const smtp_client::SaslSettings> sasl;

  server::ServiceSpec spec;
  spec.program = "smtp-client";
  spec.dns = true;
  // Made before the drop: the trust anchors and the policy tables live
  // outside the jail.
  tls::SslCtxPtr tls_ctx;
  std::vector<std::unique_ptr<table::Table>> policy_tables;
  spec.init_privileged = [&](server::Context& ctx) -> Status {
    const auto& cf = ctx.config();
    auto level = smtp_client::parse_tls_level(cf.str("smtp_tls_security_level"));
    if (!level) return make_error(Errc::kInvalid, "smtp_tls_security_level: " + level.error().text);
    for (const auto& spec : cf.list("smtp_tls_policy_maps")) {
      auto t = table::open(spec);
      if (!t) return make_error(Errc::kInvalid, "smtp_tls_policy_maps: " + t.error().text);
      // A rebuilt table makes this process finish and a fresh one load it.
      if (auto parsed = table::parse_spec(spec)) {
        std::string file = parsed->type == "lmdb" ? parsed->path + ".lmdb" : parsed->path;
        if (auto w = ctx.watch_file(file); !w) return w.take_error();
      }
      policy_tables.push_back(std::move(*t));
    }
    if (policy_tables.size() > 1) return invalid("smtp_tls_policy_maps: one table only");
    tls::ClientOptions o;
    o.ca_file = cf.str("smtp_tls_CAfile");
    auto made = tls::client_context(o);
    if (!made) {
      // Without TLS nothing requires it gets less: "may" goes on in plain
      // text, encrypt and verify defer (4.7.4).
      if (!o.ca_file.empty()) return made.take_error();
      log::warning("%s: smtp-client continues without TLS", made.error().text.c_str());
    } else {
      tls_ctx = std::move(*made);
    }
    // smtp_sasl_password_maps may be readable by root only (DESIGN.md:
    // tables are opened before the drop).
    auto s = smtp_client::load_sasl_settings(cf);
    if (!s) return s.take_error();
    sasl = std::move(*s);
    if (sasl) {
      for (const auto& spec : cf.list("smtp_sasl_password_maps")) {
        auto parsed = table::parse_spec(spec);
        if (!parsed) continue;
        std::string file = parsed->type == "lmdb" ? parsed->path + ".lmdb" : parsed->path;
        if (auto w = ctx.watch_file(file); !w) return w.take_error();
      }
    }
    return {};
  };
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    const auto& cf = ctx.config();
    auto smtp = smtp_client::load_settings(cf, ipc::DeliveryProtocol::kSmtp);
    smtp.tls_ctx = tls_ctx.get();
    smtp.sasl = sasl;
    smtp.tls_policy = policy_tables.empty() ? nullptr : policy_tables.front().get();
    agent = std::make_unique<smtp_client::Agent>(ctx.loop(), ctx.workers(), ctx.resolver(), std::move(smtp),
                                                 smtp_client::load_settings(cf, ipc::DeliveryProtocol::kLmtp),
                                                 ctx.jail_path(cf.str("queue_directory")));
    return {};
  };
  spec.on_connection = [&](server::Context& ctx, Fd fd, const server::Peer&) {
    auto c = std::make_shared<smtp_client::QmgrConnection>(*agent, std::move(fd),
                                                           [&conns, &ctx](smtp_client::QmgrConnection* gone) {
                                                             // Not from inside the connection's own callback.
                                                             ctx.loop().post([&conns, gone] { conns.erase(gone); });
                                                             ctx.client_done();
                                                           });
    conns[c.get()] = c;
    c->start();
  };
  spec.on_stop = [&](server::Context&) {
    if (agent) {
      agent->stopping = true;
      agent->cache.quit_all();
    }
    std::vector<std::shared_ptr<smtp_client::QmgrConnection>> all;
    for (auto& [p, c] : conns) all.push_back(c);
    for (auto& c : all) c->stop();
  };
  spec.on_exit = [&](server::Context&) {
    std::vector<std::shared_ptr<smtp_client::QmgrConnection>> all;
    for (auto& [p, c] : conns) all.push_back(c);
    for (auto& c : all) c->release();
    conns.clear();
    if (agent) {
      agent->cache.close_all();
      for (auto& [p, s] : agent->running) s->close_now();
      agent->running.clear();
    }
    agent.reset();
  };
  // qmgr speaks the delivery protocol, not SMTP: a full process just closes.
  spec.overload_reply = "";
  int rc = server::run_service(argc, argv, std::move(spec));
  return rc;
}
