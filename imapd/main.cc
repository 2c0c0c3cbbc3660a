// imapd(8): serves authenticated IMAP sessions on the user's Maildir. See
// man/imapd.8 and imapd/imapd.h.
//
// Two ways to run:
//   - as a service under master (login/imap in master.cf), taking the
//     clients imap-login hands over (imapd/handoff.h);
//   - `imapd -u USER [-h HOME | -m MAILDIR]`: one PREAUTH session on
//     stdin/stdout for a user who is already authenticated, as Dovecot's
//     `imap` binary under ssh or mbsync's Tunnel. The user is looked up in
//     authd's userdb (private/userdb) unless -h or -m names the mail.

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "build_paths.h"
#include "common/auth/userdb_client.h"
#include "common/base/fault.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/server/skeleton.h"
#include "imapd/handoff.h"
#include "imapd/imapd.h"

namespace {

using namespace tern;

struct StdioOptions {
  std::string config_dir = build::kConfigDir;
  std::string user, home, maildir;
  int verbose = 0;
  std::vector<std::pair<std::string, std::string>> overrides;
};

bool wants_stdio(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "-u") == 0 || std::strncmp(argv[i], "-u", 2) == 0) return true;
  return false;
}

Result<StdioOptions> parse_stdio(int argc, char** argv) {
  StdioOptions o;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) o.config_dir = env;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.size() < 2 || a[0] != '-') return invalid(strf("unexpected argument: %s", argv[i]));
    if (a == "-v") {
      o.verbose++;
      continue;
    }
    std::string v;
    if (a.size() > 2) v = std::string(a.substr(2));
    else if (i + 1 < argc) v = argv[++i];
    else return invalid(strf("option %s needs a value", argv[i]));
    switch (a[1]) {
      case 'c': o.config_dir = v; break;
      case 'u': o.user = v; break;
      case 'h': o.home = v; break;
      case 'm': o.maildir = v; break;
      case 'o': {
        auto eq = v.find('=');
        if (eq == std::string::npos || eq == 0) return invalid("-o needs name=value: " + v);
        o.overrides.emplace_back(std::string(trim(v.substr(0, eq))), std::string(trim(v.substr(eq + 1))));
        break;
      }
      default: return invalid(strf("unknown option: %s", argv[i]));
    }
  }
  if (o.user.empty()) return invalid("-u needs a user name");
  return o;
}

// Run by root (tests, an administrator), the session takes the uid and
// gid of the home's owner first, so nothing in the Maildir ends up owned
// by root where lmtp-deliver (vmail) must write later.
Status become_owner(const std::string& home) {
  if (::geteuid() != 0) return {};
  struct stat st;
  std::string path = home;
  while (::stat(path.c_str(), &st) != 0) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0) return {};
    path.resize(slash);
  }
  if (st.st_uid == 0) return {};
  if (::setgroups(0, nullptr) != 0 || ::setgid(st.st_gid) != 0 || ::setuid(st.st_uid) != 0)
    return sys_error("taking the uid of " + path);
  return {};
}

int run_stdio(int argc, char** argv) {
  log::init("imapd");
  auto opts = parse_stdio(argc, argv);
  if (!opts) {
    log::error("%s", opts.error().text.c_str());
    std::fprintf(stderr, "usage: imapd [-c dir] [-o name=value] -u user [-h home | -m maildir]\n");
    return 64;
  }
  log::set_verbose(opts->verbose);
  signal(SIGPIPE, SIG_IGN);
#ifdef TERN_FAULT_INJECTION
  // Test builds only, as the daemons' skeleton does.
  if (!fault::arm_from_environment()) log::fatal("TERN_FAULTS: malformed value");
#endif
  bool direct = !opts->home.empty() || !opts->maildir.empty();
  // With -h or -m the mail is named on the command line: a missing
  // main.cf is no reason to refuse (tests and benches run without one).
  auto cf = config::MainCf::load(opts->config_dir);
  if (!cf && !direct) log::fatal("%s", cf.error().text.c_str());
  config::MainCf conf = cf ? std::move(*cf) : config::MainCf();
  for (auto& [name, value] : opts->overrides) conf.set(name, value);
  if (auto v = conf.validate(); !v) log::fatal("%s", v.error().text.c_str());
  auto settings = imapd::Settings::load(conf);
  if (!settings) log::fatal("%s", settings.error().text.c_str());

  event::Loop loop;
  // Started once the session's user is known (become_owner): threads keep
  // the credentials they were made with.
  event::WorkerPool pool(loop, static_cast<int>(conf.integer("worker_threads")));
  int status = 0;
  {
    imapd::Imapd imapd(loop, pool, *settings);
    imapd.on_session_end([&loop] { loop.stop(); });
    imapd::ClientInfo info;
    info.secured = true;  // a pipe from a process the user runs
    auto start = [&](imapd::UserInfo user) {
      if (auto st = become_owner(user.home); !st) log::fatal("%s", st.error().text.c_str());
      pool.start();
      imapd.serve(Fd(STDIN_FILENO), Fd(STDOUT_FILENO), std::move(user), info);
    };
    std::unique_ptr<auth::UserdbLookup> lookup;
    if (direct) {
      imapd::UserInfo user;
      user.user = opts->user;
      user.home = opts->home;
      if (!opts->maildir.empty()) user.fields["mail"] = "maildir:" + opts->maildir;
      if (user.home.empty()) user.home = opts->maildir;
      start(std::move(user));
    } else {
      lookup = auth::UserdbLookup::start(
          loop, settings->userdb_socket, opts->user, "imap", settings->userdb_timeout,
          [&](auth::UserdbReply r) {
            if (r.status != auth::UserdbStatus::kFound) {
              const char* why = r.status == auth::UserdbStatus::kNotFound ? "Unknown user" : "Temporary failure";
              log::error("userdb lookup of %s: %s %s", opts->user.c_str(), why, r.reason.c_str());
              std::string bye = std::string("* BYE ") + why + "\r\n";
              (void)write_all(STDOUT_FILENO, bye);
              status = r.status == auth::UserdbStatus::kNotFound ? 67 : 75;
              loop.stop();
              return;
            }
            imapd::UserInfo user;
            user.user = r.user.empty() ? opts->user : r.user;
            user.home = r.fields["home"];
            if (!user.home.empty() && user.home[0] != '/' && !settings->mailbox_base.empty())
              user.home = settings->mailbox_base + "/" + user.home;
            user.fields = std::move(r.fields);
            user.fields.erase("home");
            start(std::move(user));
          });
    }
    loop.run();
    lookup.reset();
    // Jobs still on the workers hold shared folders: let them finish and
    // their completions run while imapd (the folder cache) is still here.
    pool.stop();
    loop.run_pending();
  }
  return status;
}

int run_daemon(int argc, char** argv) {
  std::optional<imapd::Settings> settings;
  std::unique_ptr<ipc::AnvilClient> anvil;  // outlives imapd, whose sessions disconnect through it
  std::unique_ptr<imapd::Imapd> imapd;
  std::unique_ptr<imapd::HandoffListener> handoff;
  server::ServiceSpec spec;
  spec.program = "imapd";
  spec.init_privileged = [&](server::Context& ctx) -> Status {
    auto s = imapd::Settings::load(ctx.config());
    if (!s) return s.take_error();
    settings = std::move(*s);
    return {};
  };
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    settings->userdb_socket = ctx.jail_path(settings->userdb_socket);
    imapd = std::make_unique<imapd::Imapd>(ctx.loop(), ctx.workers(), *settings);
    if (settings->max_userip > 0) {
      anvil = std::make_unique<ipc::AnvilClient>(ctx.loop(), ctx.jail_path(settings->anvil_socket));
      imapd->set_anvil(anvil.get());
    }
    // Each connection on login/imap is one client of this process: the
    // handoff, then (once authd confirmed the login) the session.
    imapd->on_session_end([&ctx] { ctx.client_done(); });
    handoff = std::make_unique<imapd::HandoffListener>(
        ctx.loop(), ctx.jail_path(ctx.config().str("queue_directory") + "/login/auth"), std::chrono::seconds(20),
        [&](Fd client, imapd::UserInfo user, imapd::ClientInfo info, std::optional<std::string> tag,
            std::string pending) {
          if (!user.home.empty() && user.home[0] != '/' && !settings->mailbox_base.empty())
            user.home = settings->mailbox_base + "/" + user.home;
          imapd->serve(std::move(client), std::move(user), std::move(info), std::move(tag), std::move(pending));
        },
        [&ctx] { ctx.client_done(); });
    return {};
  };
  spec.on_connection = [&](server::Context&, Fd fd, const server::Peer&) { handoff->accept(std::move(fd)); };
  spec.on_stop = [&](server::Context&) {
    if (imapd) imapd->shutdown();
  };
  spec.on_exit = [&](server::Context& ctx) {
    handoff.reset();
    // Jobs still on the workers hold shared folders (and their timers):
    // let them finish and their completions run while the loop and the
    // folder cache are still here.
    ctx.workers().stop();
    ctx.loop().run_pending();
    imapd.reset();
    anvil.reset();
  };
  spec.overload_reply = "* BYE Server busy, try again later\r\n";
  return server::run_service(argc, argv, std::move(spec));
}

}  // namespace

int main(int argc, char** argv) {
  if (wants_stdio(argc, argv)) return run_stdio(argc, argv);
  return run_daemon(argc, argv);
}
