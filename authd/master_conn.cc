#include "authd/master_conn.h"

#include <unistd.h>

#include "authd/authd.h"
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

void MasterConn::on_line(std::string_view line) {
  auto cmd = auth::parse_master_line(line);
  if (!cmd) return protocol_error(cmd.error().text);
  if (!version_ok_) {
    auto* v = std::get_if<auth::MasterVersion>(&*cmd);
    if (!v || v->major != auth::kMasterMajor) return protocol_error("client is not compatible (VERSION expected, major 1)");
    version_ok_ = true;
    return;
  }
  if (auto* u = std::get_if<auth::UserCommand>(&*cmd)) return io_.send(authd_.user_reply(u->id, u->user));
  if (auto* r = std::get_if<auth::RequestCommand>(&*cmd)) return io_.send(authd_.confirm(*r, "userdb client (" + peer_ + ")"));
  protocol_error("VERSION after the handshake");
}

}  // namespace tern::authd
