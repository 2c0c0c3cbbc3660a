#include "common/server/privilege.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>

#include "common/base/strings.h"

namespace tern::server {
namespace {

struct CapDeleter {
  void operator()(cap_t c) const { cap_free(c); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapDeleter>;

Status clear_bounding_set() {
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r < 0) {
      if (errno == EINVAL) break;  // the kernel knows fewer capabilities than we do
      return sys_error("prctl PR_CAPBSET_READ");
    }
    if (r == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return sys_error(strf("prctl PR_CAPBSET_DROP %d", cap));
  }
  return {};
}

Status clear_process_caps() {
  CapPtr caps(cap_init());
  if (!caps) return sys_error("cap_init");
  if (cap_set_proc(caps.get()) < 0) return sys_error("cap_set_proc");
  return {};
}

}  // namespace

Result<Account> lookup_account(const std::string& name) {
  long bufsize = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::string buf(bufsize > 0 ? static_cast<size_t>(bufsize) : 16384, '\0');
  passwd pw;
  passwd* found = nullptr;
  int err = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (err != 0) return sys_error("getpwnam " + name, err);
  if (!found) return make_error(Errc::kNotFound, "unknown user account: " + name + " (run ternctl check as root to create it)");
  Account acct{name, pw.pw_uid, pw.pw_gid, {}};
  int ngroups = 64;
  for (int attempt = 0; attempt < 4; ++attempt) {
    acct.groups.resize(static_cast<size_t>(ngroups));
    int n = ngroups;
    if (getgrouplist(name.c_str(), pw.pw_gid, acct.groups.data(), &n) >= 0) {
      acct.groups.resize(static_cast<size_t>(n));
      return acct;
    }
    ngroups = n > ngroups ? n : ngroups * 2;
  }
  return make_error(Errc::kSystem, "getgrouplist " + name + ": too many groups");
}

Result<DropOutcome> drop_privileges(const DropPlan& plan) {
  DropOutcome outcome;
  bool root = geteuid() == 0;
  std::optional<Account> acct;
  if (root && !plan.user.empty()) {
    auto a = lookup_account(plan.user);
    if (!a) return a.take_error();
    acct = std::move(*a);
  }
  if (root && !plan.chroot_dir.empty()) {
    if (chroot(plan.chroot_dir.c_str()) < 0) return sys_error("chroot " + plan.chroot_dir);
    if (chdir("/") < 0) return sys_error("chdir / in chroot");
    outcome.chrooted = true;
  }
  if (root && acct) {
    if (auto s = clear_bounding_set(); !s) return s.take_error();
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
      return sys_error("prctl PR_CAP_AMBIENT_CLEAR_ALL");
    if (setgroups(acct->groups.size(), acct->groups.data()) < 0) return sys_error("setgroups");
    if (setresgid(acct->gid, acct->gid, acct->gid) < 0) return sys_error("setresgid");
    if (setresuid(acct->uid, acct->uid, acct->uid) < 0) return sys_error("setresuid");
    outcome.changed_ids = true;
  }
  if (!root || acct) {
    // Unprivileged: nothing should be there, but a file capability or an
    // inherited ambient set could be; clear what we are allowed to clear.
    if (auto s = clear_process_caps(); !s) return s.take_error();
    if (!root) {
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sys_error("prctl PR_CAP_AMBIENT_CLEAR_ALL");
    }
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return sys_error("prctl PR_SET_NO_NEW_PRIVS");
  return outcome;
}

Status verify_dropped(const Account* expected) {
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0) return sys_error("getresuid");
  if (expected) {
    if (r != expected->uid || e != expected->uid || s != expected->uid)
      return make_error(Errc::kSystem, strf("uid is %u/%u/%u, expected %u", r, e, s, expected->uid));
    if (rg != expected->gid || eg != expected->gid || sg != expected->gid)
      return make_error(Errc::kSystem, strf("gid is %u/%u/%u, expected %u", rg, eg, sg, expected->gid));
  }
  if (r == 0 || e == 0 || s == 0) return {};  // a service configured to run as root
  CapPtr caps(cap_get_proc());
  if (!caps) return sys_error("cap_get_proc");
  CapPtr empty(cap_init());
  if (cap_compare(caps.get(), empty.get()) != 0) return make_error(Errc::kSystem, "capabilities left after the drop");
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    int b = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (b < 0) break;
    // Only root can drop the bounding set; an unprivileged instance keeps the
    // default one, which grants nothing without setuid binaries, and those are
    // disarmed by no_new_privs.
    if (b == 1 && expected) return make_error(Errc::kSystem, strf("capability %d left in the bounding set", cap));
  }
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return make_error(Errc::kSystem, "no_new_privs is not set");
  if (setuid(0) == 0) return make_error(Errc::kSystem, "setuid(0) succeeded after the drop");
  return {};
}

}  // namespace tern::server
