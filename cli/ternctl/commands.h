#pragma once
// ternctl's subcommands. main.cc parses the global options and dispatches.

#include <string>
#include <vector>

namespace tern::ctl {

struct Options {
  std::string config_dir;        // -c DIR, else MAIL_CONFIG, else the compiled default
  bool config_dir_given = false;
  int verbose = 0;
};

// Each returns the process exit status and prints its own messages
// ("ternctl: ..." on stderr for problems).
int cmd_init(const Options& opts, const std::vector<std::string>& args);
int cmd_check(const Options& opts, const std::vector<std::string>& args);
int cmd_start(const Options& opts, const std::vector<std::string>& args);
int cmd_start_fg(const Options& opts, const std::vector<std::string>& args);
int cmd_stop(const Options& opts, const std::vector<std::string>& args);
int cmd_reload(const Options& opts, const std::vector<std::string>& args);
int cmd_status(const Options& opts, const std::vector<std::string>& args);

// Runs the checks and repairs of `ternctl check` for the instance in
// config_dir; prints one line per change. Returns 0 when the instance is
// usable. Used by init, start and check.
int run_check(const Options& opts, bool quiet);

// The directory holding this program's sibling daemons: the build tree's bin/
// when ternctl runs from there (it contains "master"), else the compiled
// daemon directory.
std::string detect_daemon_directory();
std::string detect_command_directory();

}  // namespace tern::ctl
