#include "master/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/server/master_link.h"

namespace tern::master {

Result<Spawned> spawn_child(const SpawnRequest& req, int log_fd) {
  if (::access(req.program.c_str(), X_OK) < 0) return sys_error(req.program);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) return sys_error("socketpair");
  Fd ours(pair[0]), theirs(pair[1]);
  (void)set_nonblocking(ours.get());

  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> argv_s = {req.program, "-c", req.config_dir, "-n", req.service_name, "-t", req.service_type};
  if (!req.user.empty()) argv_s.insert(argv_s.end(), {"-U", req.user});
  if (!req.chroot_dir.empty()) argv_s.insert(argv_s.end(), {"-R", req.chroot_dir});
  for (int i = 0; i < req.verbose; ++i) argv_s.push_back("-v");
  argv_s.insert(argv_s.end(), req.args.begin(), req.args.end());
  std::vector<std::string> env_s = {"PATH=/usr/bin:/bin:/usr/sbin:/sbin",
                                    std::string(server::kListenFdsEnv) + "=" + std::to_string(req.listen_fds.size()),
                                    std::string(server::kMasterLinkEnv) + "=1"};
  for (auto& name : req.import_environment) {
    if (auto eq = name.find('='); eq != std::string::npos) {
      env_s.push_back(name);
    } else if (const char* v = std::getenv(name.c_str())) {
      env_s.push_back(name + "=" + v);
    }
  }
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<int> sources = {theirs.get(), log_fd};
  sources.insert(sources.end(), req.listen_fds.begin(), req.listen_fds.end());

  // Signals stay blocked from before fork until the child has put back the
  // default handlers: until then it runs master's libevent handler, which
  // writes the signal number into master's own signal socketpair (shared
  // across fork). A reload's SIGTERM that reached a child in that window was
  // read by master as its own SIGTERM, and master stopped.
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::fork();
  if (pid != 0) ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    // Move every source above the targets first, so no dup2 clobbers one
    // that is still to be moved.
    int high = server::kStatusFd + static_cast<int>(sources.size()) + 16;
    for (auto& fd : sources) {
      fd = ::fcntl(fd, F_DUPFD_CLOEXEC, high);
      if (fd < 0) ::_exit(126);
    }
    for (size_t i = 0; i < sources.size(); ++i) {
      if (::dup2(sources[i], server::kStatusFd + static_cast<int>(i)) < 0) ::_exit(126);
    }
    // Every caught signal back to its default (libevent's handlers are in
    // the signal table master copied to us), and only then unblocked: a
    // signal that arrived meanwhile now acts on this child alone.
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      struct sigaction sa;
      if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
        ::signal(sig, SIG_DFL);
    }
    for (int sig : {SIGPIPE, SIGHUP, SIGTERM, SIGINT, SIGCHLD}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return Spawned{pid, std::move(ours)};
}

}  // namespace tern::master
