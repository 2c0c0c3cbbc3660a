#include "master/listeners.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/strings.h"

namespace tern::master {
namespace {

constexpr int kBacklog = 1024;

Result<int> resolve_port(const std::string& port) {
  if (auto n = parse_int(port); n && *n > 0 && *n < 65536) return static_cast<int>(*n);
  servent* se = getservbyname(port.c_str(), "tcp");
  if (!se) return invalid("unknown TCP service or bad port: " + port);
  return static_cast<int>(ntohs(static_cast<uint16_t>(se->s_port)));
}

// Addresses to bind for an inet service without its own host.
Result<std::vector<std::string>> interface_addresses(const config::MainCf& cf) {
  auto protocols = cf.list("inet_protocols");
  bool v4 = false, v6 = false;
  for (auto& p : protocols) {
    if (p == "all") v4 = v6 = true;
    else if (p == "ipv4") v4 = true;
    else if (p == "ipv6") v6 = true;
    else return invalid("inet_protocols: unknown protocol " + p);
  }
  std::vector<std::string> out;
  for (auto& a : cf.list("inet_interfaces")) {
    if (a == "all") {
      if (v4) out.push_back("0.0.0.0");
      if (v6) out.push_back("::");
    } else if (a == "loopback-only" || a == "localhost") {
      if (v4) out.push_back("127.0.0.1");
      if (v6) out.push_back("::1");
    } else {
      std::string addr = a;
      if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
      out.push_back(addr);
    }
  }
  if (out.empty()) return invalid("inet_interfaces names no address");
  return out;
}

Result<Fd> listen_inet(const std::string& address, int port, bool* unsupported) {
  *unsupported = false;
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (inet_pton(AF_INET, address.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return invalid("not a numeric IP address: " + address + " (inet_interfaces takes addresses, not names)");
  }
  int s = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) {
    if (family == AF_INET6 && errno == EAFNOSUPPORT) *unsupported = true;
    return sys_error("socket");
  }
  Fd fd(s);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  std::string where = family == AF_INET6 ? strf("[%s]:%d", address.c_str(), port) : strf("%s:%d", address.c_str(), port);
  if (::bind(s, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    if (family == AF_INET6 && address == "::" && errno == EADDRNOTAVAIL) *unsupported = true;
    return sys_error("bind " + where);
  }
  if (::listen(s, kBacklog) < 0) return sys_error("listen " + where);
  return fd;
}

Result<uid_t> user_id(const std::string& name) {
  if (name.empty()) return uid_t{0};
  passwd* pw = getpwnam(name.c_str());
  if (!pw) return make_error(Errc::kNotFound, "unknown user: " + name);
  return pw->pw_uid;
}

Result<gid_t> group_id(const std::string& name) {
  if (name.empty()) return gid_t{0};
  group* gr = getgrnam(name.c_str());
  if (!gr) return make_error(Errc::kNotFound, "unknown group: " + name);
  return gr->gr_gid;
}

Result<Fd> listen_unix(const config::ServiceEntry& e, const config::MainCf& cf, std::string* path_out) {
  std::string path = cf.str("queue_directory") + "/" + e.socket_path;
  *path_out = path;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return invalid("socket path too long: " + path);
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return invalid(path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return sys_error("socket");
  Fd fd(s);
  // Bind with a closed umask so the socket is never briefly wider than asked.
  mode_t old = umask(0777);
  int r = ::bind(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  umask(old);
  if (r < 0) return sys_error("bind " + path);
  int mode = e.listen_mode >= 0 ? e.listen_mode : (e.private_ ? 0660 : 0666);
  if (geteuid() == 0) {
    auto uid = user_id(e.listen_owner);
    if (!uid) return uid.take_error();
    auto gid = group_id(e.listen_group);
    if (!gid) return gid.take_error();
    if (::lchown(path.c_str(), *uid, *gid) < 0) return sys_error("chown " + path);
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) < 0) return sys_error("chmod " + path);
  if (::listen(s, kBacklog) < 0) return sys_error("listen " + path);
  return fd;
}

}  // namespace

Result<ListenerSet> open_listeners(const config::ServiceEntry& e, const config::MainCf& cf) {
  ListenerSet set;
  set.key = e.listener_key();
  if (e.type == config::ServiceType::kInet) {
    auto port = resolve_port(e.port);
    if (!port) return port.take_error();
    std::vector<std::string> addrs;
    if (!e.host.empty()) {
      addrs.push_back(e.host);
    } else {
      auto a = interface_addresses(cf);
      if (!a) return a.take_error();
      addrs = std::move(*a);
    }
    for (auto& addr : addrs) {
      bool unsupported = false;
      auto fd = listen_inet(addr, *port, &unsupported);
      if (!fd) {
        if (unsupported && addrs.size() > 1) continue;  // a host without IPv6
        return fd.take_error();
      }
      if (!set.description.empty()) set.description += ", ";
      set.description += addr.find(':') != std::string::npos ? strf("[%s]:%d", addr.c_str(), *port)
                                                              : strf("%s:%d", addr.c_str(), *port);
      set.fds.push_back(std::move(*fd));
    }
    if (set.fds.empty()) return invalid("no address to listen on for " + e.name);
  } else {
    std::string path;
    auto fd = listen_unix(e, cf, &path);
    if (!fd) return fd.take_error();
    set.description = path;
    set.fds.push_back(std::move(*fd));
  }
  return set;
}

}  // namespace tern::master
