// ternctl start, start-fg, stop, reload, status: master's life cycle.

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "cli/ternctl/commands.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"
#include "common/server/pid_file.h"

namespace tern::ctl {
namespace {

Result<config::MainCf> load_main(const Options& opts) {
  auto cf = config::MainCf::load(opts.config_dir);
  if (!cf) return cf.take_error();
  if (auto v = cf->validate(); !v) return v.take_error();
  return cf;
}

std::string master_path(const config::MainCf& cf) { return cf.str("daemon_directory") + "/master"; }

int not_running() {
  std::fprintf(stderr, "ternctl: the tern mail system is not running\n");
  return 1;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

std::vector<std::string> master_argv(const config::MainCf& cf, const Options& opts, const char* mode) {
  std::vector<std::string> a = {master_path(cf), "-c", opts.config_dir};
  if (mode) a.push_back(mode);
  for (int i = 0; i < opts.verbose; ++i) a.push_back("-v");
  return a;
}

int run_and_wait(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "ternctl: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "ternctl: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// What every command here begins with: no arguments and a main.cf that
// loads. Sets *rc and returns nothing when the command cannot go on.
std::optional<config::MainCf> prologue(const Options& opts, const std::vector<std::string>& args, const char* cmd,
                                       int* rc) {
  if (!args.empty()) {
    std::fprintf(stderr, "ternctl: %s takes no arguments\n", cmd);
    *rc = 2;
    return std::nullopt;
  }
  auto cf = load_main(opts);
  if (!cf) {
    std::fprintf(stderr, "ternctl: fatal: %s\n", cf.error().text.c_str());
    *rc = 1;
    return std::nullopt;
  }
  return std::move(*cf);
}

// start and start-fg: refuse a second master, then set the instance up.
std::optional<config::MainCf> prepare_start(const Options& opts, const std::vector<std::string>& args,
                                            const char* cmd, int* rc) {
  auto cf = prologue(opts, args, cmd, rc);
  if (!cf) return cf;
  if (pid_t pid = server::running_master(cf->str("queue_directory"))) {
    std::fprintf(stderr, "ternctl: the tern mail system is already running (pid %d)\n", pid);
    *rc = 1;
    return std::nullopt;
  }
  if ((*rc = run_check(opts, true)) != 0) return std::nullopt;
  return cf;
}

bool signal_master(pid_t pid, int sig) {
  if (::kill(pid, sig) == 0) return true;
  std::fprintf(stderr, "ternctl: cannot signal master (pid %d): %s\n", pid, std::strerror(errno));
  return false;
}

}  // namespace

int cmd_start(const Options& opts, const std::vector<std::string>& args) {
  int rc = 0;
  auto cf = prepare_start(opts, args, "start", &rc);
  if (!cf) return rc;
  if (run_and_wait(master_argv(*cf, opts, "-w")) != 0) {
    std::fprintf(stderr, "ternctl: the tern mail system did not start (see the messages above and %s)\n",
                 cf->str("maillog_file").empty() ? "the system log" : cf->str("maillog_file").c_str());
    return 1;
  }
  std::printf("ternctl: the tern mail system is running (pid %d)\n", server::running_master(cf->str("queue_directory")));
  return 0;
}

int cmd_start_fg(const Options& opts, const std::vector<std::string>& args) {
  int rc = 0;
  auto cf = prepare_start(opts, args, "start-fg", &rc);
  if (!cf) return rc;
  auto args_s = master_argv(*cf, opts, "-f");
  std::vector<char*> argv;
  for (auto& a : args_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::fprintf(stderr, "ternctl: cannot run %s: %s\n", argv[0], std::strerror(errno));
  return 1;
}

int cmd_stop(const Options& opts, const std::vector<std::string>& args) {
  int rc = 0;
  auto cf = prologue(opts, args, "stop", &rc);
  if (!cf) return rc;
  std::string queue_dir = cf->str("queue_directory");
  pid_t pid = server::running_master(queue_dir);
  if (!pid) return not_running();
  if (!signal_master(pid, SIGTERM)) return 1;
  // master gives its children graceful_stop_time, then kills them.
  auto limit = std::chrono::steady_clock::now() + cf->seconds("graceful_stop_time") + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < limit) {
    if (!server::running_master(queue_dir) && !alive(pid)) {
      std::printf("ternctl: the tern mail system has stopped\n");
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "ternctl: master (pid %d) has not stopped yet\n", pid);
  return 1;
}

int cmd_reload(const Options& opts, const std::vector<std::string>& args) {
  int rc = 0;
  auto cf = prologue(opts, args, "reload", &rc);
  if (!cf) return rc;
  pid_t pid = server::running_master(cf->str("queue_directory"));
  if (!pid) return not_running();
  // Check the new files first, so a typo is reported here rather than only
  // in the log (master keeps the running configuration when it cannot load).
  std::vector<std::string> a = {master_path(*cf), "-c", opts.config_dir, "-t"};
  if (run_and_wait(a) != 0) return std::fprintf(stderr, "ternctl: configuration not reloaded\n"), 1;
  if (!signal_master(pid, SIGHUP)) return 1;
  std::printf("ternctl: refreshing the tern mail system (pid %d)\n", pid);
  return 0;
}

int cmd_status(const Options& opts, const std::vector<std::string>& args) {
  int rc = 0;
  auto cf = prologue(opts, args, "status", &rc);
  if (!cf) return rc;
  std::string queue_dir = cf->str("queue_directory");
  pid_t pid = server::running_master(queue_dir);
  if (!pid) return not_running();
  std::printf("master: running, pid %d\n", pid);
  auto status = read_file(server::status_file_path(queue_dir), 1 << 20);
  if (!status) return 0;
  std::printf("%-20s %-5s %-14s %-8s %-10s %s\n", "SERVICE", "TYPE", "COMMAND", "MAXPROC", "STATE", "PIDS");
  for (auto line : split(*status, '\n')) {
    auto f = split(line, '\t');
    if (f.size() == 7 && f[0] == "service") {
      std::string maxproc = f[4] == "0" ? "unlimited" : std::string(f[4]);
      std::string pids = f[6] == "-" ? "(none: starts on demand)" : std::string(f[6]);
      std::printf("%-20.*s %-5.*s %-14.*s %-8s %-10.*s %s\n", int(f[1].size()), f[1].data(), int(f[2].size()),
                  f[2].data(), int(f[3].size()), f[3].data(), maxproc.c_str(), int(f[5].size()), f[5].data(),
                  pids.c_str());
    } else if (f.size() == 3 && f[0] == "draining") {
      std::printf("%-20.*s (old configuration, finishing its clients) pid %.*s\n", int(f[1].size()), f[1].data(),
                  int(f[2].size()), f[2].data());
    }
  }
  return 0;
}

}  // namespace tern::ctl
