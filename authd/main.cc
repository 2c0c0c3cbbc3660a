// authd(8): Tern's authentication service, the only reader of the users
// file (passwd_file). It speaks Dovecot's protocols byte for byte, so
// Postfix's smtpd_sasl_type = dovecot works against it:
//   the auth client protocol (SASL PLAIN and LOGIN) on private/auth for
//   smtpd and on login/auth for imap-login (common/auth/client_protocol.h);
//   the auth-master protocol (USER lookups, REQUEST login confirmations) on
//   private/userdb (common/auth/master_protocol.h).
// Which one a process speaks follows from its master.cf service name
// (protocol_for_service in authd.h). The users file is read before the
// privilege drop and watched: when it changes, the process finishes its
// clients and exits, and master starts one that reads the new file.
// Password checks run on the worker pool; failed logins are answered after
// auth_failure_delay, by a timer, and counted per client address: past
// auth_failure_limit within auth_failure_window the address is refused for
// auth_failure_ban_time (authd/login_failures.h; the count lives in each
// process).

#include <algorithm>
#include <memory>

#include "authd/authd.h"
#include "common/auth/passwd_file.h"
#include "common/base/log.h"
#include "common/server/skeleton.h"

namespace {

using tern::Result;
using tern::Status;
using tern::server::Context;

struct State {
  std::shared_ptr<const tern::auth::PasswdFile> users;
  uid_t vmail_uid = 0;
  std::unique_ptr<tern::authd::Authd> authd;
  tern::authd::Protocol protocol = tern::authd::Protocol::kClient;
};

Status load_users(Context& ctx, State& st) {
  const auto& cf = ctx.config();
  // Every user maps to vmail (DESIGN.md "Mail store"); an instance run
  // without root maps them to the invoking user instead.
  auto ids = tern::auth::vmail_ids_for(cf.str("vmail_owner"));
  if (!ids) return ids.take_error();
  st.vmail_uid = ids->uid;
  std::string path = cf.str("passwd_file");
  std::vector<std::string> warnings;
  auto users = tern::auth::PasswdFile::load(path, *ids, cf.str("virtual_mailbox_base"), &warnings);
  for (const auto& w : warnings) tern::log::warning("%s", w.c_str());
  if (!users) return users.take_error();
  tern::log::debug("%s: %zu users", path.c_str(), users->size());
  st.users = std::make_shared<const tern::auth::PasswdFile>(std::move(*users));
  return ctx.watch_file(path);
}

}  // namespace

int main(int argc, char** argv) {
  State st;
  tern::server::ServiceSpec spec;
  spec.program = "authd";
  // Never retired for max_use or max_idle (as Dovecot's auth process):
  // only the process that did a login can confirm it (REQUEST from imapd).
  // At max_use (10,000 clients: imap-login and every imapd connect to
  // login/auth) the process stopped accepting while imap-login's
  // connection kept it alive, so master (maxproc 1) could start no other,
  // imapd waited 20 s for confirmations that never came, and the next
  // process could not confirm the old one's logins (bench/imap's churn
  // shape hit it after ~10,000 logins). A changed users file still makes
  // it finish its clients and exit.
  spec.resident = true;
  spec.init_privileged = [&st](Context& ctx) { return load_users(ctx, st); };
  spec.init_unprivileged = [&st](Context& ctx) -> Status {
    st.protocol = tern::authd::protocol_for_service(ctx.service_name());
    tern::authd::Settings s;
    s.failure_delay = ctx.config().seconds("auth_failure_delay");
    long long limit = ctx.config().integer("auth_failure_limit");
    s.failure_limits.limit = limit < 0 ? 0 : static_cast<unsigned>(std::min(limit, 1000000LL));
    s.failure_limits.window = ctx.config().seconds("auth_failure_window");
    s.failure_limits.ban_time = ctx.config().seconds("auth_failure_ban_time");
    s.service_name = ctx.service_name();
    s.confirm_uid = st.vmail_uid;
    st.authd = std::make_unique<tern::authd::Authd>(ctx.loop(), ctx.workers(), st.users, s,
                                                    [&ctx] { ctx.client_done(); });
    return {};
  };
  spec.on_connection = [&st](Context&, tern::Fd fd, const tern::server::Peer& peer) {
    st.authd->accept(std::move(fd), st.protocol, peer.address);
  };
  spec.on_stop = [&st](Context&) {
    if (st.authd) st.authd->stop();
  };
  // Dovecot's clients do not expect an SMTP reply: a full process just closes.
  spec.overload_reply = "";
  int rc = tern::server::run_service(argc, argv, std::move(spec));
  st.authd.reset();
  return rc;
}
