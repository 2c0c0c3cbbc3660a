// Accounts and groups (accounts.h).
//
// The tools are looked for in /usr/sbin then /sbin rather than in $PATH, so
// a sudo environment with a user's PATH cannot substitute another program.
// getpwnam/getgrnam read the files the tools just wrote; no cache (nscd) is
// assumed to be in the way on a machine where the accounts are being created.

#include "cli/ternctl/accounts.h"

#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/ternctl/say.h"

namespace tern::ctl {
namespace {

Result<std::string> find_tool(const char* name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/"}) {
    std::string path = std::string(dir) + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return make_error(Errc::kNotFound, std::string("cannot find ") + name + " in /usr/sbin or /sbin");
}

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

bool is_member(const std::string& user, const std::string& group) {
  auto acct = find_user(user);
  auto gid = find_group(group);
  if (!acct || !gid) return false;
  if (acct->gid == *gid) return true;
  errno = 0;
  struct group* gr = ::getgrgid(*gid);
  if (gr == nullptr) return false;
  for (char** m = gr->gr_mem; *m != nullptr; ++m) {
    if (user == *m) return true;
  }
  return false;
}

}  // namespace

Result<Account> find_user(const std::string& name) {
  errno = 0;
  struct passwd* pw = ::getpwnam(name.c_str());
  if (pw == nullptr) {
    if (errno != 0 && errno != ENOENT && errno != ESRCH) return sys_error("getpwnam " + name);
    return make_error(Errc::kNotFound, "no such user: " + name);
  }
  return Account{pw->pw_name, pw->pw_uid, pw->pw_gid};
}

Result<gid_t> find_group(const std::string& name) {
  errno = 0;
  struct group* gr = ::getgrnam(name.c_str());
  if (gr == nullptr) {
    if (errno != 0 && errno != ENOENT && errno != ESRCH) return sys_error("getgrnam " + name);
    return make_error(Errc::kNotFound, "no such group: " + name);
  }
  return gr->gr_gid;
}

Account invoking_user() {
  Account a{user_name(::getuid()), ::getuid(), ::getgid()};
  return a;
}

std::string user_name(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? std::string(pw->pw_name) : std::to_string(uid);
}

std::string group_name(gid_t gid) {
  struct group* gr = ::getgrgid(gid);
  return gr != nullptr ? std::string(gr->gr_name) : std::to_string(gid);
}

Status run_program(const std::vector<std::string>& argv) {
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::dup2(2, 1);
    ::execv(cargv[0], cargv.data());
    std::string msg = std::string("ternctl: exec ") + cargv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error("waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFSIGNALED(status))
    return invalid(join(argv) + ": killed by signal " + std::to_string(WTERMSIG(status)));
  return invalid(join(argv) + ": exit status " + std::to_string(WEXITSTATUS(status)));
}

Status ensure_group(const std::string& group, bool quiet) {
  auto gid = find_group(group);
  if (gid) return {};
  if (gid.error().code != Errc::kNotFound) return gid.take_error();
  auto tool = find_tool("groupadd");
  if (!tool) return tool.take_error();
  if (Status st = run_program({*tool, "--system", group}); !st) return st;
  if (!quiet) say("created group %s", group.c_str());
  return {};
}

Status ensure_user(const std::string& user, bool quiet) {
  auto acct = find_user(user);
  if (acct) return {};
  if (acct.error().code != Errc::kNotFound) return acct.take_error();
  // useradd would otherwise try to create a group named like the user and
  // fail when it exists already (tern-login is both).
  if (Status st = ensure_group(user, quiet); !st) return st;
  auto tool = find_tool("useradd");
  if (!tool) return tool.take_error();
  if (Status st = run_program({*tool, "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                               "/usr/sbin/nologin", "--gid", user, user});
      !st)
    return st;
  if (!quiet) say("created user %s", user.c_str());
  return {};
}

Status ensure_member(const std::string& user, const std::string& group, bool quiet) {
  if (is_member(user, group)) return {};
  auto tool = find_tool("usermod");
  if (!tool) return tool.take_error();
  if (Status st = run_program({*tool, "--append", "--groups", group, user}); !st) return st;
  if (!quiet) say("added user %s to group %s", user.c_str(), group.c_str());
  return {};
}

}  // namespace tern::ctl
