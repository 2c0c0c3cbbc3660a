#include "common/server/skeleton.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <signal.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <ares.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "build_paths.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/base/fault.h"
#include "common/server/file_watch.h"
#include "common/server/master_link.h"
#include "common/server/privilege.h"

namespace tern::server {

struct Options {
  std::string config_dir = build::kConfigDir;
  std::string service_name;
  std::string service_type = "unix";
  std::string user;
  std::string chroot_dir;
  int verbose = 0;
  std::vector<std::pair<std::string, std::string>> overrides;
};

namespace {

Result<Options> parse_options(int argc, char** argv, const std::string& program) {
  Options o;
  o.service_name = program;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) o.config_dir = env;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (a.size() > 2) return std::string(a.substr(2));
      if (i + 1 < argc) return std::string(argv[++i]);
      (void)flag;
      return std::nullopt;
    };
    if (a.size() < 2 || a[0] != '-') return invalid(strf("unexpected argument: %s", argv[i]));
    std::optional<std::string> v;
    switch (a[1]) {
      case 'v': o.verbose++; continue;
      case 'c': v = value("-c"); if (v) o.config_dir = *v; break;
      case 'n': v = value("-n"); if (v) o.service_name = *v; break;
      case 't': v = value("-t"); if (v) o.service_type = *v; break;
      case 'U': v = value("-U"); if (v) o.user = *v; break;
      case 'R': v = value("-R"); if (v) o.chroot_dir = *v; break;
      case 'o': {
        v = value("-o");
        if (!v) break;
        auto eq = v->find('=');
        if (eq == std::string::npos || eq == 0) return invalid("-o needs name=value: " + *v);
        o.overrides.emplace_back(std::string(trim(v->substr(0, eq))), std::string(trim(v->substr(eq + 1))));
        break;
      }
      default: return invalid(strf("unknown option: %s", argv[i]));
    }
    if (!v) return invalid(strf("option %s needs a value", argv[i]));
  }
  return o;
}

// dns_servers (empty: /etc/resolv.conf) and dns_timeout, for every daemon
// that resolves (DESIGN.md, "Configuration").
Result<std::unique_ptr<dns::Resolver>> make_resolver(const config::MainCf& cf, event::Loop& loop) {
  auto servers = dns::parse_servers(cf.list("dns_servers"));
  if (!servers) return servers.take_error();
  dns::ResolverOptions o;
  o.servers = std::move(*servers);
  o.timeout = cf.seconds("dns_timeout");
  if (o.timeout < std::chrono::seconds(1)) return invalid("dns_timeout: at least 1s");
  return dns::Resolver::create(loop, o);
}

Peer describe_peer(const sockaddr_storage& ss) {
  Peer p;
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    p.address = buf;
    p.port = ntohs(sin->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    }
    p.address = buf;
    p.port = ntohs(sin6->sin6_port);
  } else {
    p.address = "local";
    p.local = true;
  }
  return p;
}

}  // namespace

// The running service: listeners, the master link, client accounting.
class Server {
 public:
  Server(ServiceSpec& spec, Context& ctx, event::Loop& loop) : spec_(spec), ctx_(ctx), loop_(loop) {}

  void adopt_listeners() {
    const char* env = std::getenv(kListenFdsEnv);
    int n = env ? std::atoi(env) : 0;
    for (int i = 0; i < n; ++i) {
      int fd = kFirstListenFd + i;
      (void)set_nonblocking(fd);
      (void)set_cloexec(fd);
      listeners_.push_back(Fd(fd));
    }
    unsetenv(kListenFdsEnv);
    // Descriptors 3 and 4 are master's only when master started us.
    if (std::getenv(kMasterLinkEnv) && fcntl(kStatusFd, F_GETFD) >= 0) {
      status_ = Fd(kStatusFd);
      (void)set_cloexec(kStatusFd);
    }
  }

  Status serve() {
    client_limit_ = static_cast<int>(ctx_.config().integer("client_limit"));
    if (client_limit_ < 1) client_limit_ = 1;
    max_use_ = ctx_.config().integer("max_use");
    max_idle_ = ctx_.config().seconds("max_idle");
    if (spec_.resident) {
      max_use_ = 0;
      max_idle_ = std::chrono::seconds(0);
    }
    for (auto& l : listeners_) {
      int fd = l.get();
      accept_watches_.emplace_back(loop_, fd, event::IoWatch::kRead, [this, fd](short) { on_acceptable(fd); });
    }
    if (status_) {
      status_watch_ = event::IoWatch(loop_, status_.get(), event::IoWatch::kRead, [this](short) { on_master(); });
    }
    term_ = event::SignalWatch(loop_, SIGTERM, [this] { ctx_.stop(); });
    int_ = event::SignalWatch(loop_, SIGINT, [this] { ctx_.stop(); });
    idle_timer_ = event::Timer(loop_, [this] {
      log::debug("idle for %lld s: exiting", static_cast<long long>(max_idle_.count()));
      ctx_.stop();
    });
    arm_idle();
    report(ChildStatus::kReady);
    if (loop_.run() < 0) return make_error(Errc::kSystem, "event loop failed");
    return {};
  }

  void client_done() {
    TERN_ASSERT(ctx_.clients_ > 0);
    bool was_full = ctx_.clients_ >= client_limit_;
    ctx_.clients_--;
    if (ctx_.stopping_) {
      if (ctx_.clients_ == 0) loop_.stop();
      return;
    }
    if (max_use_ > 0 && served_ >= max_use_) {
      if (ctx_.clients_ == 0) {
        log::debug("served %lld clients: exiting", served_);
        ctx_.stop();
      }
      return;
    }
    if (was_full) {
      report(ChildStatus::kAvail);
      set_accepting(true);
    }
    arm_idle();
  }

  void begin_stop() {
    if (ctx_.stopping_) return;
    ctx_.stopping_ = true;
    accept_watches_.clear();
    listeners_.clear();  // master keeps its copies: nothing queued is lost
    idle_timer_.cancel();
    if (spec_.on_stop) spec_.on_stop(ctx_);
    if (ctx_.clients_ == 0) loop_.stop();
  }

 private:
  void report(ChildStatus s) {
    if (status_ && !send_status(status_.get(), status_name(s))) status_.reset();
  }

  void arm_idle() {
    if (ctx_.clients_ == 0 && max_idle_.count() > 0 && !ctx_.stopping_) idle_timer_.start(max_idle_);
  }

  void set_accepting(bool on) {
    for (auto& w : accept_watches_) w.set_events(on ? event::IoWatch::kRead : 0);
  }

  void on_master() {
    char buf[64];
    ssize_t n = ::recv(status_.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      log::debug("master went away: stopping");
      status_watch_.cancel();
      status_.reset();
      ctx_.stop();
      return;
    }
    std::string_view msg(buf, static_cast<size_t>(n));
    if (msg == "overload=1") overload_ = true;
    else if (msg == "overload=0") overload_ = false;
    if (ctx_.clients_ >= client_limit_) set_accepting(overload_);
  }

  // One warning per 10 s at most, with the count: a flood of refusals must
  // not become a flood of log lines.
  void log_refusal() {
    refused_++;
    auto now = loop_.clock().now();
    if (now - last_refusal_log_ < std::chrono::seconds(10)) return;
    log::warning("service %s: client_limit %d reached and every process is busy; refused %lld client%s",
                 ctx_.service_name().c_str(), client_limit_, refused_, refused_ == 1 ? "" : "s");
    refused_ = 0;
    last_refusal_log_ = now;
  }

  void on_acceptable(int listen_fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // Another process took it, or the client left: nothing to do.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
        log::warning("accept: %s", std::strerror(errno));
      return;
    }
    Fd client(fd);
    if (ctx_.stopping_) return;
    if (ctx_.clients_ >= client_limit_) {
      // Every process is full (overload mode): answer now, never in silence.
      (void)::send(client.get(), spec_.overload_reply.data(), spec_.overload_reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      log_refusal();
      return;
    }
    idle_timer_.cancel();
    ctx_.clients_++;
    if (served_++ == 0) report(ChildStatus::kServed);
    if (ctx_.clients_ >= client_limit_) {
      report(ChildStatus::kFull);
      set_accepting(overload_);
    }
    if (max_use_ > 0 && served_ >= max_use_) {
      // Let a fresh process take new clients; this one finishes its own.
      accept_watches_.clear();
      listeners_.clear();
      report(ChildStatus::kFull);
    }
    spec_.on_connection(ctx_, std::move(client), describe_peer(ss));
  }

  ServiceSpec& spec_;
  Context& ctx_;
  event::Loop& loop_;
  std::vector<Fd> listeners_;
  std::vector<event::IoWatch> accept_watches_;
  Fd status_;
  event::IoWatch status_watch_;
  event::SignalWatch term_, int_;
  event::Timer idle_timer_;
  int client_limit_ = 1;
  long long max_use_ = 0;
  long long served_ = 0;
  std::chrono::seconds max_idle_{0};
  bool overload_ = false;
  long long refused_ = 0;
  MonoTime last_refusal_log_{};
};

void Context::client_done() { server_->client_done(); }

std::string Context::jail_path(const std::string& path) const {
  if (chroot_dir_.empty()) return path;
  std::string root = chroot_dir_;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (path == root) return "/";
  if (path.compare(0, root.size() + 1, root + "/") == 0) return path.substr(root.size());
  return path;  // outside the jail: the caller loaded it before the drop
}
Status Context::watch_file(const std::string& path) { return files_->add(path); }
void Context::stop() { server_->begin_stop(); }

int run_service(int argc, char** argv, ServiceSpec spec) {
  log::init(spec.program);
  if (std::getenv(kMasterLinkEnv) && fcntl(kLogFd, F_GETFD) >= 0) {
    (void)set_cloexec(kLogFd);
    log_to_master(kLogFd);
  }
  auto opts = parse_options(argc, argv, spec.program);
  if (!opts) log::fatal("%s", opts.error().text.c_str());
  log::set_verbose(opts->verbose);
  signal(SIGPIPE, SIG_IGN);
#ifdef TERN_FAULT_INJECTION
  // Test builds only: integration tests fail a sync inside a running daemon.
  if (!fault::arm_from_environment()) log::fatal("TERN_FAULTS: malformed value");
#endif

  std::vector<std::string> warnings;
  auto cf = config::MainCf::load(opts->config_dir, &warnings);
  if (!cf) log::fatal("%s", cf.error().text.c_str());
  for (auto& [name, def] : spec.params) cf->define(name, def);
  for (auto& [name, value] : opts->overrides) {
    if (name.rfind("tern_", 0) == 0) continue;  // master's own options
    cf->set(name, value);
  }
  if (auto v = cf->validate(); !v) log::fatal("%s", v.error().text.c_str());
  log::set_syslog_name(cf->str("syslog_name"));

  Context ctx;
  ctx.config_ = &cf.value();
  ctx.service_name_ = opts->service_name;
  ctx.service_type_ = opts->service_type;
  event::Loop loop;
  ctx.loop_ = &loop;
  std::unique_ptr<dns::Resolver> resolver;  // after the loop: destroyed before it
  Server server(spec, ctx, loop);
  ctx.server_ = &server;
  server.adopt_listeners();

  // What the jail will not offer later: OpenSSL's configuration and
  // providers, c-ares' library state, the time zone. Daemons load their own
  // keys, certificates and tables in init_privileged; the skeleton makes
  // the resolver of a service that asks for one (ServiceSpec::dns).
  if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr) != 1) log::fatal("OpenSSL initialisation failed");
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
    log::fatal("c-ares initialisation failed: %s", ares_strerror(rc));
  FileWatch files;
  ctx.files_ = &files;
  if (spec.dns) {
    auto r = make_resolver(*cf, loop);
    if (!r) log::fatal("%s", r.error().text.c_str());
    resolver = std::move(*r);
    ctx.resolver_ = resolver.get();
    if (cf->list("dns_servers").empty()) {
      if (auto w = files.add("/etc/resolv.conf"); !w) log::warning("%s", w.error().text.c_str());
    }
  }
  if (spec.init_privileged) {
    if (auto s = spec.init_privileged(ctx); !s) log::fatal("%s", s.error().text.c_str());
  }
  tzset();  // the time zone file is outside the jail
  std::optional<Account> expected;
  if (geteuid() == 0 && !opts->user.empty()) {
    auto acct = lookup_account(opts->user);
    if (!acct) log::fatal("%s", acct.error().text.c_str());
    expected = std::move(*acct);
  }
  auto dropped = drop_privileges({opts->user, opts->chroot_dir});
  if (!dropped) log::fatal("dropping privileges: %s", dropped.error().text.c_str());
  if (dropped->chrooted) ctx.chroot_dir_ = opts->chroot_dir;
  if (auto v = verify_dropped(expected ? &*expected : nullptr); !v)
    log::fatal("refusing to run: %s", v.error().text.c_str());

  event::WorkerPool pool(loop, static_cast<int>(cf->integer("worker_threads")));
  ctx.workers_ = &pool;
  pool.start();
  if (spec.init_unprivileged) {
    if (auto s = spec.init_unprivileged(ctx); !s) log::fatal("%s", s.error().text.c_str());
  }
  (void)files.start(loop, [&ctx](const std::string& path) {
    log::info("%s changed: finishing clients, then exiting so that master starts a fresh process", path.c_str());
    ctx.stop();
  });
  batch_logs(loop);
  auto served = server.serve();
  if (spec.on_exit) spec.on_exit(ctx);
  pool.stop();
  unbatch_logs();
  if (!served) log::fatal("%s", served.error().text.c_str());
  return 0;
}

}  // namespace tern::server
