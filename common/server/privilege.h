#pragma once
// Dropping privileges, once, in the order that leaves nothing behind:
//   resolve the account (before the chroot: NSS needs /etc)
//   chroot + chdir("/")                     (needs CAP_SYS_CHROOT)
//   drop every capability from the bounding set (needs CAP_SETPCAP)
//   clear the ambient set
//   setgroups (the account's groups) / setresgid / setresuid
//   clear the permitted, effective and inheritable sets (libcap)
//   PR_SET_NO_NEW_PRIVS
// then verify_dropped() checks every id and capability set and that
// setuid(0) fails; a daemon refuses to run if anything is left.
//
// Started without root (a personal instance), no id change or chroot is
// possible: the capability sets are still cleared and no_new_privs set.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/base/result.h"

namespace tern::server {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, including gid
};

// Looks up a user and its groups (getpwnam_r + getgrouplist).
Result<Account> lookup_account(const std::string& name);

struct DropPlan {
  std::string user;        // "" = stay as we are (root services, unprivileged runs)
  std::string chroot_dir;  // "" = no chroot
};

// What actually happened, for the log line.
struct DropOutcome {
  bool changed_ids = false;
  bool chrooted = false;
};

Result<DropOutcome> drop_privileges(const DropPlan& plan);
// Checks: real/effective/saved ids equal the expected ones (when expected
// is given), every capability set empty, no_new_privs on, setuid(0) fails.
Status verify_dropped(const Account* expected);

}  // namespace tern::server
