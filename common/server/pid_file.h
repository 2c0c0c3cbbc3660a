#pragma once
// queue_directory/pid/master.pid: written and flock()ed by the running
// master for its whole life, so a second master (or `ternctl start`) sees the
// lock and refuses, and `ternctl stop` knows whom to signal.
// queue_directory/pid/master.status: the services and their processes, for
// `ternctl status` (rewritten atomically whenever a process starts or ends).

#include <sys/types.h>

#include <string>

#include "common/base/fd.h"

namespace tern::server {

std::string pid_file_path(const std::string& queue_dir);
std::string status_file_path(const std::string& queue_dir);

// Takes the lock and writes our pid; Errc::kTemporary with "already running
// (pid N)" when another master holds it.
Result<Fd> lock_pid_file(const std::string& queue_dir);

// The pid of the running master, or 0 when none holds the lock.
pid_t running_master(const std::string& queue_dir);

}  // namespace tern::server
