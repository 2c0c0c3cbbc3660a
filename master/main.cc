// master(8): the resident process of a Tern instance. See man/master.8.
//
//   master [-c DIR] [-w] [-t] [-f] [-v]
//     -c DIR  configuration directory (default: the compiled-in one)
//     -w      detach once started, and exit 0 only when start-up succeeded
//     -t      check the configuration and exit; start nothing
//     -f      foreground: also copy every log line to stderr
//     -v      verbose logging (repeat for more)

#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "build_paths.h"
#include "common/base/log.h"
#include "common/event/loop.h"
#include "common/server/log_writer.h"
#include "master/master.h"
#include "common/server/pid_file.h"

namespace tern::master {
using server::lock_pid_file;
using server::running_master;
using server::pid_file_path;
using server::status_file_path;
namespace {

struct Options {
  std::string config_dir = build::kConfigDir;
  bool detach = false;
  bool test_only = false;
  bool foreground_log = false;
  int verbose = 0;
};

Options parse(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) o.config_dir = env;
  int c;
  while ((c = getopt(argc, argv, "c:wtfv")) != -1) {
    switch (c) {
      case 'c': o.config_dir = optarg; break;
      case 'w': o.detach = true; break;
      case 't': o.test_only = true; break;
      case 'f': o.foreground_log = true; break;
      case 'v': o.verbose++; break;
      default:
        std::fprintf(stderr, "usage: master [-c config_dir] [-w] [-t] [-f] [-v]\n");
        std::exit(2);
    }
  }
  if (optind != argc) {
    std::fprintf(stderr, "usage: master [-c config_dir] [-w] [-t] [-f] [-v]\n");
    std::exit(2);
  }
  return o;
}

// -w: the parent waits until the daemon says it is up (or died trying), so
// `ternctl start` reports start-up errors on the terminal.
int detach_and_wait(int* notify_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) log::fatal("pipe: %s", std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) log::fatal("fork: %s", std::strerror(errno));
  if (pid > 0) {
    ::close(p[1]);
    char ok = 0;
    ssize_t n;
    do n = ::read(p[0], &ok, 1);
    while (n < 0 && errno == EINTR);
    std::_Exit(n == 1 && ok == '1' ? 0 : 1);
  }
  ::close(p[0]);
  ::setsid();
  *notify_fd = p[1];
  return 0;
}

void quiet_stdio() {
  int fd = ::open("/dev/null", O_RDWR);
  if (fd < 0) return;
  ::dup2(fd, 0);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  if (fd > 2) ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  log::init("master");
  Options opts = parse(argc, argv);
  log::set_verbose(opts.verbose);
  ::umask(022);
  std::vector<std::string> warnings;
  auto cfg = load_config(opts.config_dir, &warnings);
  if (!cfg) {
    for (auto& w : warnings) log::warning("%s", w.c_str());
    log::fatal("%s", cfg.error().text.c_str());
  }
  log::set_syslog_name(cfg->main.str("syslog_name"));
  std::string queue_dir = cfg->main.str("queue_directory");
  if (opts.test_only) return 0;  // the configuration loaded: that is the test
  if (pid_t pid = running_master(queue_dir)) log::fatal("the tern mail system is already running (pid %d)", pid);

  int notify_fd = -1;
  if (opts.detach) detach_and_wait(&notify_fd);
  auto lock = lock_pid_file(queue_dir);
  if (!lock) log::fatal("%s", lock.error().text.c_str());

  server::LogWriter writer;
  if (auto s = writer.open(cfg->main); !s) log::fatal("maillog_file: %s", s.error().text.c_str());
  // Start-up problems reach the terminal; in the foreground, every line.
  if (opts.foreground_log) writer.set_echo_stderr(true);
  else if (opts.detach) writer.set_echo_stderr(true, log::Level::kWarning);
  log::set_sink([&writer](log::Level level, std::string_view tag, std::string_view text) {
    std::string line(tag);
    line.append(": ").append(text);
    writer.write(level, line);
  });
  if (opts.detach && !writer.has_destination())
    log::fatal("no syslog socket at /dev/log and maillog_file is empty: once detached, log lines would be lost; "
               "set maillog_file (ternconf -c %s maillog_file=/var/log/tern.log) or start a syslog daemon",
               opts.config_dir.c_str());
  for (auto& w : warnings) log::warning("%s", w.c_str());  // now they reach the log too
  ::signal(SIGPIPE, SIG_IGN);

  event::Loop loop;
  Master master(loop, opts.config_dir, writer);
  if (auto s = master.start(std::move(*cfg)); !s) log::fatal("%s", s.error().text.c_str());
  event::SignalWatch hup(loop, SIGHUP, [&] { master.reload(); });
  event::SignalWatch term(loop, SIGTERM, [&] { master.stop(); });
  event::SignalWatch intr(loop, SIGINT, [&] { master.stop(); });
  log::info("daemon started -- version %s, configuration %s", build::kVersion, opts.config_dir.c_str());
  if (notify_fd >= 0) {
    (void)!::write(notify_fd, "1", 1);
    ::close(notify_fd);
    writer.set_echo_stderr(opts.foreground_log);
    quiet_stdio();
  }
  loop.run();
  log::info("terminating on signal");
  ::unlink(pid_file_path(queue_dir).c_str());
  ::unlink(status_file_path(queue_dir).c_str());
  return 0;
}

}  // namespace tern::master

int main(int argc, char** argv) { return tern::master::main(argc, argv); }
