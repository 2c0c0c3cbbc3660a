#include "master/master.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/durable.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/server/master_link.h"
#include "common/server/trigger.h"
#include "common/server/pid_file.h"
#include "master/spawn.h"

namespace tern::master {
using server::lock_pid_file;
using server::running_master;
using server::pid_file_path;
using server::status_file_path;

// One master.cf entry at run time.
struct Master::Service {
  config::ServiceEntry entry;
  std::shared_ptr<ListenerSet> listeners;
  std::vector<event::IoWatch> demand;   // listener readability while nobody serves
  bool demand_on = false;
  bool overload = false;
  MonoTime throttled_until{};
  event::Timer throttle_timer;
  event::Timer wakeup_timer;
  std::vector<pid_t> pids;
};

struct Master::Child {
  enum class State { kStarting, kAvail, kFull, kDraining };
  pid_t pid = 0;
  Service* service = nullptr;  // nullptr once draining after a reload
  std::string name;            // service name, for log lines after a reload
  Fd status;
  event::IoWatch watch;
  State state = State::kStarting;
  bool served = false;
  bool overload = false;  // what we last told it
};

// What makes a listener the same across a reload: its master.cf identity
// plus every setting that shapes the socket. Anything else changed means a
// new socket (opened before the old one closes, where the address allows).
std::string listener_identity(const config::ServiceEntry& e, const config::MainCf& cf) {
  std::string key = e.listener_key();
  if (e.type == config::ServiceType::kInet) {
    if (e.host.empty()) key += "|" + cf.str("inet_interfaces") + "|" + cf.str("inet_protocols");
  } else {
    key += strf("|%s|%s|%s|%o", cf.str("queue_directory").c_str(), e.listen_owner.c_str(), e.listen_group.c_str(),
                e.listen_mode);
  }
  return key;
}

Result<Config> load_config(const std::string& config_dir, std::vector<std::string>* warnings) {
  auto main = config::MainCf::load(config_dir, warnings);
  if (!main) return main.take_error();
  if (auto v = main->validate(); !v) return v.take_error();
  auto services = config::load_master_cf(config_dir, *main, warnings);
  if (!services) return services.take_error();
  return Config{std::move(*main), std::move(*services)};
}

Master::Master(event::Loop& loop, std::string config_dir, server::LogWriter& log)
    : loop_(loop), config_dir_(std::move(config_dir)), log_(log) {
  privileged_ = geteuid() == 0;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0) log::fatal("socketpair: %s", std::strerror(errno));
  log_read_ = Fd(pair[0]);
  log_write_ = Fd(pair[1]);
  (void)set_nonblocking(log_read_.get());
  // Children may log bursts; a deeper queue means they rarely wait on us.
  int size = 1 << 20;
  setsockopt(log_read_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  log_watch_ = event::IoWatch(loop_, log_read_.get(), event::IoWatch::kRead, [this](short) { on_log_datagrams(); });
  sigchld_ = event::SignalWatch(loop_, SIGCHLD, [this] { on_sigchld(); });
  status_timer_ = event::Timer(loop_, [this] { write_status(); });
  kill_timer_ = event::Timer(loop_, [this] {
    // After a reload only the old processes are past their time; when
    // stopping, every process is.
    for (auto& [pid, child] : children_) {
      if (!stopping_ && child->state != Child::State::kDraining) continue;
      log::warning("process %s pid %d did not finish within graceful_stop_time; killing it", child->name.c_str(), pid);
      ::kill(pid, SIGKILL);
    }
  });
}

Master::~Master() = default;

Status Master::open_services(Config& cfg, std::map<std::string, std::shared_ptr<ListenerSet>>& old) {
  std::vector<std::unique_ptr<Service>> fresh;
  for (auto& entry : cfg.services) {
    auto svc = std::make_unique<Service>();
    svc->entry = entry;
    auto key = listener_identity(entry, cfg.main);
    if (auto it = old.find(key); it != old.end()) {
      svc->listeners = it->second;
    } else {
      auto set = open_listeners(entry, cfg.main);
      if (!set) return invalid(strf("%s:%d: service %s: %s", entry.file.c_str(), entry.line, entry.name.c_str(),
                                    set.error().text.c_str()));
      set->key = key;
      svc->listeners = std::make_shared<ListenerSet>(std::move(*set));
    }
    fresh.push_back(std::move(svc));
  }
  services_ = std::move(fresh);
  for (auto& svc : services_) {
    Service* s = svc.get();
    for (auto& fd : s->listeners->fds) {
      svc->demand.emplace_back(loop_, fd.get(), 0, [this, s](short) { spawn(*s); });
    }
    s->throttle_timer = event::Timer(loop_, [this, s] {
      update(*s);
      write_status_soon();
    });
    if (s->entry.wakeup > 0 && s->entry.type != config::ServiceType::kInet) {
      s->wakeup_timer = event::Timer(loop_, [this, s] { wakeup(*s); });
      s->wakeup_timer.start_every(std::chrono::seconds(s->entry.wakeup));
    }
    update(*s);
  }
  return {};
}

Status Master::start(Config cfg) {
  if (!privileged_)
    log::warning("not running as root (uid %u): services run as this user, without privilege separation or chroot",
                 static_cast<unsigned>(geteuid()));
  std::map<std::string, std::shared_ptr<ListenerSet>> none;
  if (auto s = open_services(cfg, none); !s) return s;
  cfg_ = std::move(cfg);
  wake_all();
  for (auto& svc : services_)
    log::info("service %s (%s) listening on %s", svc->entry.name.c_str(), svc->entry.type_name().c_str(),
              svc->listeners->description.c_str());
  write_status();  // at once: `ternctl status` may run as soon as start returns
  return {};
}

void Master::reload() {
  if (stopping_) return;
  std::vector<std::string> warnings;
  auto cfg = load_config(config_dir_, &warnings);
  for (auto& w : warnings) log::warning("%s", w.c_str());
  if (!cfg) {
    log::error("reload failed, keeping the running configuration: %s", cfg.error().text.c_str());
    return;
  }
  if (auto s = log_.open(cfg->main); !s) log::error("reload: maillog_file: %s", s.error().text.c_str());
  std::map<std::string, std::shared_ptr<ListenerSet>> old;
  for (auto& svc : services_) old[svc->listeners->key] = svc->listeners;
  auto previous = std::move(services_);
  if (auto s = open_services(*cfg, old); !s) {
    log::error("reload failed, keeping the running configuration: %s", s.error().text.c_str());
    services_ = std::move(previous);
    for (auto& svc : services_) update(*svc);
    return;
  }
  // Old processes finish their clients and exit; new ones (new config, new
  // certificates) start on demand. The listeners never closed, so a client
  // arriving meanwhile waits in the backlog, never refused.
  for (auto& [pid, child] : children_) {
    if (child->state == Child::State::kDraining) continue;
    child->state = Child::State::kDraining;
    child->service = nullptr;
    ::kill(pid, SIGTERM);
  }
  previous.clear();
  cfg_ = std::move(*cfg);
  generation_++;
  // Only now, after every old process was told to stop: a wake-up sent
  // earlier could be accepted by the old qmgr, which then exits, and the
  // new one would wait for the next wakeup tick (300 s) with mail piling
  // up in incoming/. An old process handles its SIGTERM, and closes its
  // listeners, before any connection made after the signal (event.h:
  // signals run first).
  wake_all();
  log::info("reload: configuration re-read, %zu services", services_.size());
  if (!children_.empty()) kill_timer_.start(cfg_->main.seconds("graceful_stop_time"));
  write_status_soon();
}

void Master::stop() {
  if (stopping_) return;
  stopping_ = true;
  log::info("stopping: %zu processes", children_.size());
  for (auto& svc : services_) {
    svc->demand.clear();
    svc->wakeup_timer.cancel();
  }
  for (auto& [pid, child] : children_) ::kill(pid, SIGTERM);
  if (children_.empty()) {
    loop_.stop();
    return;
  }
  kill_timer_.start(cfg_->main.seconds("graceful_stop_time"));
}

int Master::active_count(const Service& svc) const { return static_cast<int>(svc.pids.size()); }

// Decides, after any change, whether the service needs a process on demand
// and whether its processes must enter overload mode.
void Master::update(Service& svc) {
  if (stopping_) return;
  int active = active_count(svc);
  int avail = 0;
  for (pid_t pid : svc.pids) {
    auto& c = *children_.at(pid);
    if (c.state == Child::State::kStarting || c.state == Child::State::kAvail) avail++;
  }
  bool at_limit = svc.entry.maxproc > 0 && active >= svc.entry.maxproc;
  bool throttled = loop_.clock().now() < svc.throttled_until;
  bool demand = avail == 0 && !at_limit && !throttled;
  if (demand != svc.demand_on) {
    for (auto& w : svc.demand) w.set_events(demand ? event::IoWatch::kRead : 0);
    svc.demand_on = demand;
  }
  bool overload = active > 0 && at_limit && avail == 0;
  if (overload && !svc.overload)
    log::warning("service %s: all %d processes are busy (maxproc); new clients are refused until one frees up",
                 svc.entry.name.c_str(), active);
  svc.overload = overload;
  for (pid_t pid : svc.pids) {
    auto& c = *children_.at(pid);
    if (c.overload != overload && c.state != Child::State::kStarting) {
      c.overload = overload;
      log::debug("service %s: pid %d overload=%d", svc.entry.name.c_str(), pid, overload);
      (void)server::send_status(c.status.get(), overload ? "overload=1" : "overload=0");
    }
  }
}

void Master::spawn(Service& svc) {
  if (stopping_) return;
  auto& e = svc.entry;
  SpawnRequest req;
  req.program = e.command.front() == '/' ? e.command : cfg_->main.str("daemon_directory") + "/" + e.command;
  req.config_dir = config_dir_;
  req.service_name = e.name;
  req.service_type = e.type_name();
  if (privileged_) {
    req.user = e.user;
    req.chroot_dir = e.chroot_dir;
  }
  req.args = e.args;
  req.verbose = log::verbose();
  for (auto& fd : svc.listeners->fds) req.listen_fds.push_back(fd.get());
  req.import_environment = cfg_->main.list("import_environment");
  auto spawned = spawn_child(req, log_fd_for_children());
  if (!spawned) {
    log::error("service %s: cannot start %s: %s", e.name.c_str(), req.program.c_str(), spawned.error().text.c_str());
    svc.throttled_until = loop_.clock().now() + cfg_->main.seconds("service_throttle_time");
    svc.throttle_timer.start(cfg_->main.seconds("service_throttle_time"));
    update(svc);
    write_status_soon();
    return;
  }
  auto child = std::make_unique<Child>();
  child->pid = spawned->pid;
  child->service = &svc;
  child->name = e.name;
  child->status = std::move(spawned->status);
  pid_t pid = child->pid;
  child->watch = event::IoWatch(loop_, child->status.get(), event::IoWatch::kRead, [this, pid](short) { on_status(pid); });
  log::debug("service %s: started %s pid %d", e.name.c_str(), req.program.c_str(), pid);
  children_[pid] = std::move(child);
  svc.pids.push_back(pid);
  update(svc);
  write_status_soon();
}

void Master::on_status(pid_t pid) {
  auto it = children_.find(pid);
  if (it == children_.end()) return;
  Child& c = *it->second;
  char buf[64];
  ssize_t n = ::recv(c.status.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    c.watch.cancel();  // the process is exiting; SIGCHLD does the rest
    return;
  }
  server::ChildStatus s;
  if (!server::parse_status(std::string_view(buf, static_cast<size_t>(n)), &s)) {
    log::warning("service %s pid %d: unknown status message ignored", c.name.c_str(), pid);
    return;
  }
  if (c.state == Child::State::kDraining) {
    if (s == server::ChildStatus::kServed) c.served = true;
    return;
  }
  log::debug("service %s: pid %d says %s", c.name.c_str(), pid, std::string(server::status_name(s)).c_str());
  switch (s) {
    case server::ChildStatus::kReady: c.state = Child::State::kAvail; break;
    case server::ChildStatus::kServed: c.served = true; break;
    case server::ChildStatus::kFull: c.state = Child::State::kFull; break;
    case server::ChildStatus::kAvail: c.state = Child::State::kAvail; break;
  }
  if (c.service) update(*c.service);
}

void Master::on_log_datagrams() {
  char buf[8192];
  log_.hold();  // what this turn reads leaves in one write
  for (int i = 0; i < 256; ++i) {  // bounded, so a chatty child cannot starve the loop
    ssize_t n = ::recv(log_read_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    server::for_each_log_record(std::string_view(buf, static_cast<size_t>(n)),
                                [this](log::Level level, std::string_view line) { log_.write(level, line); });
  }
  log_.flush();
}

void Master::on_sigchld() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    child_exited(pid, status);
  }
  if (stopping_ && children_.empty()) {
    kill_timer_.cancel();
    loop_.stop();
  }
  if (!stopping_ && kill_timer_.pending()) {
    bool draining = false;
    for (auto& [pid, c] : children_) draining |= c->state == Child::State::kDraining;
    if (!draining) kill_timer_.cancel();
  }
}

void Master::child_exited(pid_t pid, int status) {
  auto it = children_.find(pid);
  if (it == children_.end()) return;
  std::unique_ptr<Child> child = std::move(it->second);
  children_.erase(it);
  write_status_soon();
  bool normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::string how = WIFSIGNALED(status) ? strf("killed by signal %d", WTERMSIG(status))
                                        : strf("exit status %d", WEXITSTATUS(status));
  Service* svc = child->service;
  if (!svc) {
    if (!normal && !stopping_) log::warning("process %s pid %d (old configuration) %s", child->name.c_str(), pid, how.c_str());
    return;
  }
  std::erase(svc->pids, pid);
  if (normal || stopping_) {
    update(*svc);
    return;
  }
  if (!child->served) {
    // Dying before serving anyone is an environment or configuration
    // problem; restarting at once would only spin.
    auto delay = cfg_->main.seconds("service_throttle_time");
    log::warning("service %s: process pid %d %s before serving any client; throttling the service for %lld s "
                 "(see the lines above for why)",
                 svc->entry.name.c_str(), pid, how.c_str(), static_cast<long long>(delay.count()));
    svc->throttled_until = loop_.clock().now() + delay;
    svc->throttle_timer.start(delay);
    update(*svc);
    return;
  }
  log::warning("service %s: process pid %d %s; starting a new one", svc->entry.name.c_str(), pid, how.c_str());
  if (svc->entry.maxproc == 0 || active_count(*svc) < svc->entry.maxproc) spawn(*svc);
  else update(*svc);
}

// Every service with a wakeup column is poked at once: a resident service
// (qmgr) starts with master and after each reload.
void Master::wake_all() {
  for (auto& svc : services_)
    if (svc->entry.wakeup > 0) wakeup(*svc);
}

// A wakeup column: poke the service's socket as Postfix's trigger does; the
// listener becomes readable and the service starts if it is not running.
void Master::wakeup(Service& svc) {
  if (stopping_ || svc.entry.type == config::ServiceType::kInet) return;
  (void)server::trigger(svc.listeners->description);
}

void Master::write_status_soon() {
  if (!status_timer_.pending()) status_timer_.start(std::chrono::milliseconds(50));
}

void Master::write_status() {
  std::string out = strf("master %d\n", static_cast<int>(::getpid()));
  for (auto& svc : services_) {
    std::string pids;
    for (pid_t p : svc->pids) pids += (pids.empty() ? "" : ",") + std::to_string(p);
    bool throttled = loop_.clock().now() < svc->throttled_until;
    out += strf("service\t%s\t%s\t%s\t%d\t%s\t%s\n", svc->entry.name.c_str(), svc->entry.type_name().c_str(),
                svc->entry.command.c_str(), svc->entry.maxproc, throttled ? "throttled" : "ok",
                pids.empty() ? "-" : pids.c_str());
  }
  for (auto& [pid, c] : children_)
    if (c->state == Child::State::kDraining) out += strf("draining\t%s\t%d\n", c->name.c_str(), pid);
  auto s = write_file_atomic(status_file_path(cfg_->main.str("queue_directory")), out, {.mode = 0644, .sync = false});
  if (!s) log::warning("cannot write the status file: %s", s.error().text.c_str());
}

}  // namespace tern::master
