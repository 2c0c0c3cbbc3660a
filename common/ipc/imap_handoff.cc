#include "common/ipc/imap_handoff.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cctype>
#include <charconv>
#include <cstring>

#include "common/ipc/escape.h"

namespace tern::ipc {
namespace {

std::optional<unsigned> number(const std::string* s) {
  if (!s || s->empty() || s->size() > 10) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size()) return std::nullopt;
  return v;
}

bool is_hex(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::string HandoffRequest::format() const {
  Line l;
  l.command = "HANDOFF";
  l.add("user", user)
      .add("auth_id", std::to_string(auth_id))
      .add("cookie", cookie_hex)
      .add("cpid", std::to_string(cpid))
      .add("rip", rip)
      .add("lip", lip)
      .add("secured", secured ? "1" : "0");
  if (tag) l.add("tag", *tag);
  if (!pending.empty()) l.add("pending", pending);
  return l.format();
}

Result<HandoffRequest> HandoffRequest::parse(std::string_view text) {
  if (text.size() > kHandoffMaxLine) return make_error(Errc::kLimit, "handoff: line too long");
  auto l = Line::parse(text, 32);
  if (!l) return l.take_error();
  if (l->command != "HANDOFF") return invalid("handoff: expected HANDOFF");
  HandoffRequest r;
  const std::string* user = l->get("user");
  auto id = number(l->get("auth_id"));
  auto cpid = number(l->get("cpid"));
  const std::string* cookie = l->get("cookie");
  if (!user || user->empty() || !id || !cpid || *cpid == 0 || !cookie || !is_hex(*cookie))
    return invalid("handoff: user, auth_id, cookie and cpid are required");
  r.user = *user;
  r.auth_id = *id;
  r.cpid = *cpid;
  r.cookie_hex = *cookie;
  if (auto* v = l->get("rip")) r.rip = *v;
  if (auto* v = l->get("lip")) r.lip = *v;
  if (auto* v = l->get("secured")) r.secured = *v == "1";
  if (auto* v = l->get("tag")) {
    if (v->empty() || v->size() > 256) return invalid("handoff: bad tag");
    for (char c : *v)
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        return invalid("handoff: bad tag");
    r.tag = *v;
  }
  if (auto* v = l->get("pending")) {
    if (v->size() > kHandoffMaxPending) return make_error(Errc::kLimit, "handoff: too many pending bytes");
    r.pending = *v;
  }
  return r;
}

Result<Fd> connect_unix(const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return invalid("socket path too long: " + path);
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0 && errno != EINPROGRESS)
    return sys_error("connect " + path);
  return fd;
}

Result<size_t> send_with_fd(int sock, std::string_view data, int fd) {
  if (data.empty()) return invalid("send_with_fd: no data to carry the descriptor");
  iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("sendmsg");
  return static_cast<size_t>(n);
}

Result<size_t> recv_with_fd(int sock, char* buf, size_t size, Fd* received) {
  iovec iov{buf, size};
  // Room for a few descriptors, so that extras can be closed rather than
  // leaked into a truncated message.
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("recvmsg");
  int count = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < fds; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      Fd owned(fd);
      if (count++ == 0 && !*received) *received = std::move(owned);  // extras close here
    }
  }
  if (count > 1) return invalid("recvmsg: more than one descriptor");
  if (msg.msg_flags & MSG_CTRUNC) return invalid("recvmsg: control data truncated");
  return static_cast<size_t>(n);
}

}  // namespace tern::ipc
