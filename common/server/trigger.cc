#include "common/server/trigger.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "common/base/fd.h"

namespace tern::server {

Status trigger(const std::string& socket_path, char what) { return trigger(socket_path, std::string_view(&what, 1)); }

Status trigger(const std::string& socket_path, std::string_view request) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sun.sun_path) return invalid("socket path too long: " + socket_path);
  std::memcpy(sun.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return sys_error("socket");
  Fd fd(s);
  if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0) return sys_error("connect " + socket_path);
  if (::send(s, request.data(), request.size(), MSG_NOSIGNAL) < 0) return sys_error("send " + socket_path);
  return {};
}

}  // namespace tern::server
