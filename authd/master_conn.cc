#include "authd/master_conn.h"

#include <unistd.h>

#include "authd/authd.h"
#include "authd/client_conn.h"
#include "common/auth/master_protocol.h"
#include "common/base/log.h"

namespace tern::authd {

MasterConn::MasterConn(Authd& authd, uint64_t serial, Fd fd, std::string peer)
    : authd_(authd),
      serial_(serial),
      peer_(std::move(peer)),
      io_(authd.loop(), std::move(fd), auth::kMasterMaxLine, [this](std::string_view l) { on_line(l); },
          [this, &authd](const std::string&) { authd.connection_closed(serial_); }) {
  io_.send(auth::format_master_handshake(static_cast<long>(::getpid())));
}

void MasterConn::protocol_error(const std::string& why) {
  log::warning("userdb client (%s): %s: disconnecting", peer_.c_str(), why.c_str());
  io_.close(why);
}

void MasterConn::reply_user(unsigned id, std::string_view user) {
  const auth::PasswdEntry* e = authd_.users()->find(user);
  if (!e) return io_.send(auth::format_notfound(id));
  std::vector<std::pair<std::string, std::string>> fields;
  if (!e->home.empty()) fields.emplace_back("home", e->home);
  fields.emplace_back("uid", std::to_string(e->uid));
  fields.emplace_back("gid", std::to_string(e->gid));
  for (const auto& f : e->userdb_fields) fields.push_back(f);
  io_.send(auth::format_user_reply(id, e->user, fields));
}

void MasterConn::on_line(std::string_view line) {
  auto cmd = auth::parse_master_line(line);
  if (!cmd) return protocol_error(cmd.error().text);
  if (!version_ok_) {
    auto* v = std::get_if<auth::MasterVersion>(&*cmd);
    if (!v || v->major != auth::kMasterMajor) return protocol_error("client is not compatible (VERSION expected, major 1)");
    version_ok_ = true;
    return;
  }
  if (auto* u = std::get_if<auth::UserCommand>(&*cmd)) return reply_user(u->id, u->user);
  if (auto* r = std::get_if<auth::RequestCommand>(&*cmd)) {
    ClientConn* c = authd_.find_client(r->client_pid, r->cookie_hex);
    std::optional<std::string> user = c ? c->take_login(r->client_id) : std::nullopt;
    if (!user) {
      log::warning("userdb client (%s): REQUEST %u.%u does not name a finished login", peer_.c_str(), r->client_pid,
                   r->client_id);
      return io_.send(auth::format_master_fail(r->id));
    }
    return reply_user(r->id, *user);
  }
  protocol_error("VERSION after the handshake");
}

}  // namespace tern::authd
