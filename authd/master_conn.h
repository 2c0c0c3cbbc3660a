#pragma once
// One connection speaking Dovecot's auth-master protocol (the spec is in
// common/auth/master_protocol.h): USER lookups for lmtp-deliver, imapd or
// Postfix/Dovecot tools, and REQUEST to confirm a login done on an auth
// client connection of this process. Lookups are in memory and answered at
// once; breaking the protocol closes the connection.

#include <cstdint>
#include <string>

#include "common/ipc/line_io.h"

namespace tern::authd {

class Authd;

class MasterConn {
 public:
  MasterConn(Authd& authd, uint64_t serial, Fd fd, std::string peer);
  bool closed() const { return io_.closed(); }
  void close(const std::string& why) { io_.close(why); }

 private:
  void on_line(std::string_view line);
  void protocol_error(const std::string& why);

  Authd& authd_;
  uint64_t serial_;
  std::string peer_;
  ipc::LineIo io_;
  bool version_ok_ = false;
};

}  // namespace tern::authd
