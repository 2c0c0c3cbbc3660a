// Session, connecting: a unix socket inside the chroot, or TCP to each
// address of the next hop in turn (resolved through c-ares, A then AAAA),
// each attempt bounded by connect_timeout (session.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "common/dns/names.h"
#include "smtp-client/session.h"

namespace tern::smtp_client {

using Action = ipc::DeliveryAction;

void Session::begin() {
  broken_ = false;
  if (hop_.kind == Nexthop::Kind::kUnix) {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return fail_all(Action::kDeferred, "4.3.0", std::string("socket: ") + std::strerror(errno));
    fd_ = Fd(s);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::string path = jail_root_ == "/" ? "/" + hop_.path : jail_root_ + "/" + hop_.path;
    if (path.size() >= sizeof sun.sun_path)
      return fail_all(Action::kDeferred, "4.3.5", "connect to " + hop_.path + ": path too long");
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0 && errno != EINPROGRESS) {
      std::string why = "connect to " + hop_.path + ": " + std::strerror(errno);
      fd_.reset();
      return fail_all(Action::kDeferred, "4.4.1", why);
    }
    state_ = State::kConnecting;
    watch_ = event::IoWatch(loop_, fd_.get(), event::IoWatch::kWrite, [this](short ev) { on_events(ev); });
    wait(settings_.connect_timeout);
    return;
  }
  addresses_.clear();
  next_address_ = 0;
  last_connect_error_.clear();
  if (hop_.family) {
    addresses_.push_back(hop_.host);
    return connect_next();
  }
  if (!resolver_) return fail_all(Action::kDeferred, "4.3.0", "no resolver for " + hop_.host);
  state_ = State::kResolving;
  auto on_answer = [this](dns::Family family, dns::Answer<std::string> a) {
    const char* type = family == dns::Family::kIpv4 ? "A" : "AAAA";
    if (a.ok()) {
      addresses_ = std::move(a.records);
      return connect_next();
    }
    if (a.outcome == dns::Outcome::kNoData && family == dns::Family::kIpv4) return;  // AAAA follows
    std::string what = "Host or domain name not found. Name service error for name=" + hop_.host + " type=" + type;
    if (dns::is_temporary(a.outcome)) return fail_all(Action::kDeferred, "4.4.3", what + ": Host not found, try again");
    // Postfix bounces a next hop that does not exist (5.4.4).
    fail_all(Action::kBounced, "5.4.4", what + ": Host not found");
  };
  lookup_ = resolver_->addresses(hop_.host, dns::Family::kIpv4, [this, on_answer](dns::Answer<std::string> a) {
    if (a.outcome == dns::Outcome::kNoData) {
      lookup_ = resolver_->addresses(hop_.host, dns::Family::kIpv6, [on_answer](dns::Answer<std::string> b) {
        on_answer(dns::Family::kIpv6, std::move(b));
      });
      return;
    }
    on_answer(dns::Family::kIpv4, std::move(a));
  });
}

void Session::connect_next() {
  close_socket();
  if (next_address_ >= addresses_.size() || next_address_ >= kMaxAddresses) {
    if (last_connect_error_.empty()) last_connect_error_ = "no address for " + hop_.host;
    return fail_all(Action::kDeferred, "4.4.1", last_connect_error_);
  }
  const std::string& addr = addresses_[next_address_++];
  peer_.label = hop_.host + "[" + addr + "]";
  peer_.relay = peer_.label + ":" + std::to_string(hop_.port);
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = dns::address_family(addr) == 6 ? AF_INET6 : AF_INET;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(hop_.port));
    inet_pton(AF_INET, addr.c_str(), &sin->sin_addr);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(hop_.port));
    inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr);
    len = sizeof *sin6;
  }
  int s = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    last_connect_error_ = "connect to " + peer_.relay + ": " + std::strerror(errno);
    return connect_next();
  }
  fd_ = Fd(s);
  if (::connect(s, reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS) {
    last_connect_error_ = "connect to " + peer_.relay + ": " + std::strerror(errno);
    return connect_next();
  }
  state_ = State::kConnecting;
  watch_ = event::IoWatch(loop_, fd_.get(), event::IoWatch::kWrite, [this](short ev) { on_events(ev); });
  wait(settings_.connect_timeout);
}

void Session::on_connected() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) {
    std::string where = hop_.kind == Nexthop::Kind::kUnix ? hop_.path : peer_.relay;
    last_connect_error_ = "connect to " + where + ": " + std::strerror(err);
    if (hop_.kind == Nexthop::Kind::kUnix) {
      std::string why = last_connect_error_;
      return fail_all(Action::kDeferred, "4.4.1", why);
    }
    return connect_next();
  }
  if (hop_.kind != Nexthop::Kind::kUnix) {
    // Every write is a whole batch (pipelined commands, 64 KiB of body with
    // the final "." appended): Nagle would only hold back a short last one.
    int one = 1;
    (void)::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  connected_at_ = loop_.clock().now();
  uses_ = 0;
  state_ = State::kGreeting;
  watch_.set_events(event::IoWatch::kRead);
  wait(settings_.helo_timeout);
}

}  // namespace tern::smtp_client
