// ternctl(1): set up, start, stop, reload and inspect a Tern instance.
//
//   ternctl [-c DIR] [-v] init [--port-base N] [--domain D] [--listen-address A] [--admin ADDR]
//   ternctl [-c DIR] [-v] check | start | start-fg | stop | reload | status

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "build_paths.h"
#include "cli/ternctl/commands.h"
#include "common/base/log.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: ternctl [-c config_dir] [-v] command [options]\n"
               "commands:\n"
               "  init [--port-base N] [--domain D] [--listen-address A] [--admin ADDR]\n"
               "                 write a complete instance into the configuration directory\n"
               "  check          create accounts and queue directories, fix owners and modes\n"
               "  start          check, then start master in the background\n"
               "  start-fg       check, then run master in the foreground (Ctrl-C stops it)\n"
               "  stop           stop master and every service gracefully\n"
               "  reload         re-read the configuration without closing any port\n"
               "  status         show master and each service with its processes\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tern;
  log::init("ternctl");
  ctl::Options opts;
  opts.config_dir = build::kConfigDir;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) opts.config_dir = env;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    std::string a = argv[i];
    if (a == "-c" && i + 1 < argc) {
      opts.config_dir = argv[++i];
      opts.config_dir_given = true;
    } else if (a.rfind("-c", 0) == 0 && a.size() > 2) {
      opts.config_dir = a.substr(2);
      opts.config_dir_given = true;
    } else if (a == "-v") {
      opts.verbose++;
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  if (i >= argc) {
    usage();
    return 2;
  }
  // Relative paths would change meaning once master chdirs or chroots.
  if (!opts.config_dir.empty() && opts.config_dir[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) opts.config_dir = std::string(cwd) + "/" + opts.config_dir;
  }
  while (opts.config_dir.size() > 1 && opts.config_dir.back() == '/') opts.config_dir.pop_back();
  log::set_verbose(opts.verbose);
  std::string cmd = argv[i];
  std::vector<std::string> args(argv + i + 1, argv + argc);
  if (cmd == "init") return ctl::cmd_init(opts, args);
  if (cmd == "check") return ctl::cmd_check(opts, args);
  if (cmd == "start") return ctl::cmd_start(opts, args);
  if (cmd == "start-fg") return ctl::cmd_start_fg(opts, args);
  if (cmd == "stop") return ctl::cmd_stop(opts, args);
  if (cmd == "reload") return ctl::cmd_reload(opts, args);
  if (cmd == "status") return ctl::cmd_status(opts, args);
  std::fprintf(stderr, "ternctl: unknown command: %s\n", cmd.c_str());
  usage();
  return 2;
}
