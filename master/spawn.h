#pragma once
// Starting one child: fork, put the master link and the listeners on their
// fixed descriptors (common/server/master_link.h), exec the daemon with a
// clean environment.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/base/fd.h"

namespace tern::master {

struct SpawnRequest {
  std::string program;       // absolute path
  std::string config_dir;
  std::string service_name;
  std::string service_type;
  std::string user;          // -U: account to drop to ("" = none)
  std::string chroot_dir;    // -R
  std::vector<std::string> args;  // master.cf arguments after the command
  std::vector<int> listen_fds;
  std::vector<std::string> import_environment;
  int verbose = 0;
};

struct Spawned {
  pid_t pid = 0;
  Fd status;  // master's end of the status socket
};

Result<Spawned> spawn_child(const SpawnRequest& req, int log_fd);

}  // namespace tern::master
