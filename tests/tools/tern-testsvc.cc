// tern-testsvc: a service built only for tests, on the real skeleton.
// On connect it greets "220 testsvc pid=P uid=U gid=G service=NAME", then
// answers one command per line:
//   PING            -> "250 pong"
//   SETUID0         -> "250 setuid(0) failed" or "550 setuid(0) succeeded"
//   CAPSET          -> "250 cannot raise capabilities" or "550 raised ..."
//   ROOT            -> "250 root=<ls of />" (what the process sees as /)
//   CRASH           -> abort()
//   QUIT            -> "221 bye", close
// Parameters: testsvc_fail_start = yes makes it exit 1 before serving;
// testsvc_watch_file = PATH is loaded before the drop and watched.

#include <dirent.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/server/skeleton.h"

namespace {

using tern::Fd;
using tern::event::IoWatch;

std::string list_root() {
  std::string out;
  DIR* d = opendir("/");
  if (!d) return "?";
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    out += (out.empty() ? "" : ",") + n;
  }
  closedir(d);
  return out;
}

std::string answer(const std::string& cmd) {
  if (cmd == "PING") return "250 pong";
  if (cmd == "SETUID0") return ::setuid(0) == 0 ? "550 setuid(0) succeeded" : "250 setuid(0) failed";
  if (cmd == "CAPSET") {
    cap_t caps = cap_get_proc();
    cap_value_t v = CAP_NET_BIND_SERVICE;
    cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET);
    cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET);
    int r = cap_set_proc(caps);
    cap_free(caps);
    return r == 0 ? "550 raised CAP_NET_BIND_SERVICE" : "250 cannot raise capabilities";
  }
  if (cmd == "ROOT") return "250 root=" + list_root();
  if (cmd == "CRASH") std::abort();
  return "500 unknown command";
}

struct Session {
  Fd fd;
  IoWatch watch;
  std::string in;
};

class TestService {
 public:
  void accept(tern::server::Context& ctx, Fd fd) {
    auto s = std::make_unique<Session>();
    s->fd = std::move(fd);
    Session* raw = s.get();
    std::string greet = tern::strf("220 testsvc pid=%d uid=%u gid=%u service=%s\r\n", getpid(), getuid(), getgid(),
                                   ctx.service_name().c_str());
    (void)::send(raw->fd.get(), greet.data(), greet.size(), MSG_NOSIGNAL);
    raw->watch = IoWatch(ctx.loop(), raw->fd.get(), IoWatch::kRead, [this, &ctx, raw](short) { readable(ctx, raw); });
    sessions_[raw] = std::move(s);
  }

  // Graceful stop: sessions in progress finish at their own pace (master
  // kills us after graceful_stop_time); nothing new is accepted.
  void stop(tern::server::Context&) {}

 private:
  void readable(tern::server::Context& ctx, Session* s) {
    char buf[1024];
    ssize_t n = ::recv(s->fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return close(ctx, s);
    s->in.append(buf, static_cast<size_t>(n));
    if (s->in.size() > 4096) return close(ctx, s);
    size_t eol;
    while ((eol = s->in.find('\n')) != std::string::npos) {
      std::string cmd(tern::trim(s->in.substr(0, eol)));
      s->in.erase(0, eol + 1);
      if (cmd == "QUIT") {
        (void)::send(s->fd.get(), "221 bye\r\n", 9, MSG_NOSIGNAL);
        return close(ctx, s);
      }
      std::string reply = answer(cmd);
      reply += "\r\n";
      (void)::send(s->fd.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    }
  }

  void close(tern::server::Context& ctx, Session* s) {
    sessions_.erase(s);  // closes the descriptor, cancels the watch
    ctx.client_done();
  }

  std::map<Session*, std::unique_ptr<Session>> sessions_;
};

}  // namespace

int main(int argc, char** argv) {
  TestService svc;
  tern::server::ServiceSpec spec;
  spec.program = "testsvc";
  spec.params = {{"testsvc_fail_start", "no"}, {"testsvc_watch_file", ""}};
  spec.init_privileged = [](tern::server::Context& ctx) -> tern::Status {
    if (ctx.config().boolean("testsvc_fail_start")) return tern::invalid("testsvc_fail_start = yes: failing on purpose");
    if (auto path = ctx.config().str("testsvc_watch_file"); !path.empty()) return ctx.watch_file(path);
    return {};
  };
  spec.on_connection = [&svc](tern::server::Context& ctx, Fd fd, const tern::server::Peer&) { svc.accept(ctx, std::move(fd)); };
  spec.on_stop = [&svc](tern::server::Context& ctx) { svc.stop(ctx); };
  return tern::server::run_service(argc, argv, std::move(spec));
}
