#pragma once
// master: owns every listener, starts services on demand up to maxproc,
// replaces and throttles them, reloads on SIGHUP and stops on SIGTERM.
// See man/master.8 for the policy in an administrator's words.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/config/main_cf.h"
#include "common/config/master_cf.h"
#include "common/event/loop.h"
#include "master/listeners.h"
#include "common/server/log_writer.h"

namespace tern::master {

struct Config {
  config::MainCf main;
  std::vector<config::ServiceEntry> services;
};

// Reads and checks both files; errors are "file:line: reason".
Result<Config> load_config(const std::string& config_dir, std::vector<std::string>* warnings);

class Master {
 public:
  Master(event::Loop& loop, std::string config_dir, server::LogWriter& log);
  ~Master();
  // Opens the listeners of cfg; nothing is started until a client comes.
  Status start(Config cfg);
  // Re-reads the configuration (SIGHUP).
  void reload();
  // Graceful stop (SIGTERM): children get SIGTERM, then SIGKILL after
  // graceful_stop_time; the loop stops when none is left.
  void stop();
  const config::MainCf& main_cf() const { return cfg_->main; }

 private:
  struct Service;
  struct Child;

  Status open_services(Config& cfg, std::map<std::string, std::shared_ptr<ListenerSet>>& old);
  void spawn(Service& svc);
  void on_status(pid_t pid);
  void on_sigchld();
  void child_exited(pid_t pid, int status);
  void update(Service& svc);
  void wakeup(Service& svc);
  void wake_all();
  void write_status_soon();
  void write_status();
  int active_count(const Service& svc) const;
  int log_fd_for_children() const { return log_write_.get(); }
  void on_log_datagrams();

  event::Loop& loop_;
  std::string config_dir_;
  server::LogWriter& log_;
  std::optional<Config> cfg_;
  std::vector<std::unique_ptr<Service>> services_;
  std::map<pid_t, std::unique_ptr<Child>> children_;
  Fd log_read_, log_write_;  // children's log lines (master_link.h)
  event::IoWatch log_watch_;
  event::SignalWatch sigchld_;
  event::Timer status_timer_;
  event::Timer kill_timer_;
  bool stopping_ = false;
  bool privileged_ = false;
  int generation_ = 0;
};

}  // namespace tern::master
