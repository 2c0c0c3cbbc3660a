#pragma once
// The system accounts and groups of DESIGN.md ("Accounts, directories and
// sockets"), looked up and, when root, created with the distribution's own
// tools (groupadd, useradd, usermod), as an administrator would.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/base/result.h"

namespace tern::ctl {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // primary group
};

// Errc::kNotFound when there is no such user or group.
Result<Account> find_user(const std::string& name);
Result<gid_t> find_group(const std::string& name);
// The account ternctl runs as (getuid()).
Account invoking_user();
std::string user_name(uid_t uid);   // "1000" when unknown
std::string group_name(gid_t gid);  // "1000" when unknown

// Runs a program (absolute path) with arguments and waits; fork/exec, never
// a shell. Its stdout goes to our stderr so ternctl's stdout stays clean.
Status run_program(const std::vector<std::string>& argv);

// Each creates what is missing and prints "ternctl: created ..." unless quiet.
Status ensure_group(const std::string& group, bool quiet);
// A system account without a home or a login shell, whose primary group is a
// group of the same name (created first, so the name can also be a group of
// ours, as tern-login is).
Status ensure_user(const std::string& user, bool quiet);
// Adds user to group as a supplementary group unless it is already a member.
Status ensure_member(const std::string& user, const std::string& group, bool quiet);

}  // namespace tern::ctl
