#pragma once
// master.cf: Postfix's eight columns
//   service type private unpriv chroot wakeup maxproc command [args...]
// with "-" meaning the default, lines continued by leading white space, "#"
// comments, "-o name=value" overrides in the arguments, and Tern's reserved
// options (DESIGN.md):
//   -o tern_user=USER          account the service runs as (default mail_owner;
//                              unpriv=n means root)
//   -o tern_listen_owner=USER  owner of a unix listener (default root)
//   -o tern_listen_group=GROUP group of a unix listener (default: root)
//   -o tern_listen_mode=0660   mode of a unix listener (default 0666 public, 0660 private)
//   -o tern_chroot_dir=DIR     jail (default queue_directory when chroot=y)
//
// Types: inet (TCP; service is [host:]port), unix (stream socket under
// queue_directory: private/NAME when private=y, public/NAME otherwise, or the
// name as given when it contains '/'), pass (like unix; reserved for
// descriptor passing). Defaults for "-": private y, unpriv y, chroot n,
// wakeup 0, maxproc default_process_limit.

#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/config/main_cf.h"

namespace tern::config {

enum class ServiceType { kInet, kUnix, kPass };

struct ServiceEntry {
  std::string name;      // column 1 as written
  ServiceType type = ServiceType::kUnix;
  bool private_ = true;
  bool unpriv = true;
  bool chroot = false;
  int wakeup = 0;        // seconds; 0 = none
  int maxproc = 0;       // 0 = unlimited
  std::string command;   // column 8: a program in daemon_directory, or an absolute path
  // Every argument after the command, in order, ready for exec: "$name" in
  // plain arguments expanded against main.cf; each override normalized to the
  // two words "-o", "name=value" with its value unexpanded (the daemon expands
  // it in its own configuration, where the service's other overrides apply);
  // the reserved tern_* options left out (master consumes them).
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value, tern_* excluded
  // Reserved tern_* options, resolved:
  std::string user;          // "" = root (unpriv=n)
  std::string listen_owner;  // "" = root
  std::string listen_group;  // "" = root
  int listen_mode = -1;      // -1 = default for the type
  std::string chroot_dir;    // "" = no chroot
  // For inet: host ("" = every inet_interfaces address) and port; for unix and
  // pass: the socket path relative to queue_directory.
  std::string host;
  std::string port;
  std::string socket_path;
  std::string file;
  int line = 0;

  std::string type_name() const;
  // A stable key: a reload keeps the listener of an entry with the same key.
  std::string listener_key() const;
};

// Syntax details (as Postfix's master(5)): "-o name=value", "-oname=value"
// and Postfix 3's "-o { name = value }" are accepted; any argument may be
// wrapped in "{ }" to hold white space. wakeup takes a trailing "?" (Postfix's
// "only when used"), accepted and ignored. Reserved option values are
// expanded; a relative tern_chroot_dir is taken below queue_directory and
// needs chroot=y. private is meaningless for inet and is false there.
// unix-dgram and fifo services are rejected (Tern does not support them).

// Parses master.cf text; `main` supplies defaults (default_process_limit,
// mail_owner, queue_directory) and expands $name in arguments. Errors read
// "file:line: reason"; unknown -o parameters go to warnings.
Result<std::vector<ServiceEntry>> parse_master_cf(std::string_view text, const std::string& filename,
                                                  const MainCf& main,
                                                  std::vector<std::string>* warnings = nullptr);
Result<std::vector<ServiceEntry>> load_master_cf(const std::string& config_dir, const MainCf& main,
                                                 std::vector<std::string>* warnings = nullptr);

}  // namespace tern::config
