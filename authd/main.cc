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
// auth_failure_delay, by a timer.

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <memory>

#include "authd/authd.h"
#include "common/auth/passwd_file.h"
#include "common/base/log.h"
#include "common/server/privilege.h"
#include "common/server/skeleton.h"

namespace {

using tern::Result;
using tern::Status;
using tern::server::Context;

std::string group_name(gid_t gid) {
  struct group gr {};
  struct group* out = nullptr;
  std::vector<char> buf(16384);
  if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &out) != 0 || !out) return "";
  return out->gr_name;
}

// Every user maps to vmail (DESIGN.md "Mail store"); an instance run
// without root maps them to the invoking user instead.
Result<tern::auth::VmailIds> vmail_ids(const tern::config::MainCf& cf) {
  tern::auth::VmailIds ids;
  if (::geteuid() == 0) {
    auto a = tern::server::lookup_account(cf.str("vmail_owner"));
    if (!a) return a.take_error();
    ids.uid = a->uid;
    ids.gid = a->gid;
    ids.user_name = a->name;
  } else {
    ids.uid = ::getuid();
    ids.gid = ::getgid();
    if (struct passwd* pw = ::getpwuid(ids.uid)) ids.user_name = pw->pw_name;
  }
  ids.group_name = group_name(ids.gid);
  return ids;
}

struct State {
  std::shared_ptr<const tern::auth::PasswdFile> users;
  std::unique_ptr<tern::authd::Authd> authd;
  tern::authd::Protocol protocol = tern::authd::Protocol::kClient;
};

Status load_users(Context& ctx, State& st) {
  const auto& cf = ctx.config();
  auto ids = vmail_ids(cf);
  if (!ids) return ids.take_error();
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
  spec.init_privileged = [&st](Context& ctx) { return load_users(ctx, st); };
  spec.init_unprivileged = [&st](Context& ctx) -> Status {
    st.protocol = tern::authd::protocol_for_service(ctx.service_name());
    tern::authd::Settings s;
    s.failure_delay = ctx.config().seconds("auth_failure_delay");
    s.service_name = ctx.service_name();
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
