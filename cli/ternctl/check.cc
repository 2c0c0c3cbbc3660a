// ternctl check: the checks and repairs `init` and `start` run first, as
// `postfix check` and `postfix set-permissions` do.
//
// As root it creates the groups and accounts of DESIGN.md ("Accounts,
// directories and sockets") and gives the queue and the mail store their
// owners and modes, printing one line per change. As an ordinary user it
// creates the same directories with the same modes, owned by that user: an
// instance run without privilege separation, for development and tests.
//
// The parameters naming the accounts and groups are mail_owner (tern),
// auth_owner (tern-auth), login_owner (tern-login), vmail_owner (vmail),
// private_group (tern-priv), login_group (tern-login) and setgid_group
// (terndrop).

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cli/ternctl/accounts.h"
#include "cli/ternctl/commands.h"
#include "cli/ternctl/fs_setup.h"
#include "cli/ternctl/say.h"
#include "build_paths.h"
#include "common/config/main_cf.h"
#include "common/config/master_cf.h"

namespace tern::ctl {
namespace {

// The names check works with, read from main.cf once.
struct Names {
  std::string mail_owner, auth_owner, login_owner, vmail_owner;
  std::string private_group, login_group, setgid_group;
};

Result<Names> read_names(const config::MainCf& main) {
  Names n;
  struct {
    const char* param;
    std::string* out;
  } fields[] = {
      {"mail_owner", &n.mail_owner},       {"auth_owner", &n.auth_owner},
      {"login_owner", &n.login_owner},     {"vmail_owner", &n.vmail_owner},
      {"private_group", &n.private_group}, {"login_group", &n.login_group},
      {"setgid_group", &n.setgid_group},
  };
  for (auto& f : fields) {
    *f.out = main.str(f.param);
    if (f.out->empty()) return invalid(std::string(f.param) + " is empty in " + main.filename());
    if (*f.out == "root") return invalid(std::string(f.param) + " must not be root (" + main.filename() + ")");
  }
  return n;
}

Status ensure_accounts(const Names& n, bool quiet) {
  for (const std::string* g : {&n.private_group, &n.login_group, &n.setgid_group}) {
    if (Status st = ensure_group(*g, quiet); !st) return st;
  }
  for (const std::string* u : {&n.mail_owner, &n.auth_owner, &n.login_owner, &n.vmail_owner}) {
    if (Status st = ensure_user(*u, quiet); !st) return st;
  }
  const std::pair<const std::string*, const std::string*> members[] = {
      {&n.mail_owner, &n.private_group},  {&n.auth_owner, &n.private_group},
      {&n.vmail_owner, &n.private_group}, {&n.login_owner, &n.login_group},
      {&n.vmail_owner, &n.login_group},
  };
  for (const auto& [user, group] : members) {
    if (Status st = ensure_member(*user, *group, quiet); !st) return st;
  }
  return {};
}

// Owners in the table, resolved to ids; all the invoking user when not root.
struct Ids {
  Account mail, auth, vmail;
  gid_t private_gid = 0, login_gid = 0, setgid_gid = 0;
};

Result<Ids> resolve_ids(const Names& n) {
  Ids ids;
  if (::geteuid() != 0) {
    Account me = invoking_user();
    ids.mail = ids.auth = ids.vmail = me;
    ids.private_gid = ids.login_gid = ids.setgid_gid = me.gid;
    return ids;
  }
  for (auto [name, out] : {std::pair{&n.mail_owner, &ids.mail}, std::pair{&n.auth_owner, &ids.auth},
                           std::pair{&n.vmail_owner, &ids.vmail}}) {
    auto a = find_user(*name);
    if (!a) return a.take_error();
    *out = *a;
  }
  for (auto [name, out] : {std::pair{&n.private_group, &ids.private_gid},
                           std::pair{&n.login_group, &ids.login_gid},
                           std::pair{&n.setgid_group, &ids.setgid_gid}}) {
    auto g = find_group(*name);
    if (!g) return g.take_error();
    *out = *g;
  }
  return ids;
}

// DESIGN.md's table of the queue directory, in creation order.
Status ensure_queue(const std::string& queue, const Ids& ids, bool quiet) {
  bool root = ::geteuid() == 0;
  uid_t r = root ? 0 : ::geteuid();
  gid_t rg = root ? 0 : ::getegid();
  Ownership top{r, rg, 0755};
  if (Status st = ensure_dir(queue, top, quiet); !st) return st;
  const struct {
    const char* name;
    Ownership own;
  } dirs[] = {
      {"private", {r, ids.private_gid, 0750}},
      {"login", {r, ids.login_gid, 0750}},
      {"public", {r, rg, 0755}},
      {"maildrop", {ids.mail.uid, ids.setgid_gid, 01730}},
      {"tmp", {ids.mail.uid, ids.mail.gid, 0700}},
      {"incoming", {ids.mail.uid, ids.mail.gid, 0700}},
      {"active", {ids.mail.uid, ids.mail.gid, 0700}},
      {"deferred", {ids.mail.uid, ids.mail.gid, 0700}},
      {"defer", {ids.mail.uid, ids.mail.gid, 0700}},
      {"hold", {ids.mail.uid, ids.mail.gid, 0700}},
      {"corrupt", {ids.mail.uid, ids.mail.gid, 0700}},
      {"pid", {r, rg, 0755}},
  };
  for (const auto& d : dirs) {
    if (Status st = ensure_dir(queue + "/" + d.name, d.own, quiet); !st) return st;
  }
  return {};
}

Status check_daemon_directory(const config::MainCf& main) {
  std::string dir = main.str("daemon_directory");
  std::string master = dir + "/master";
  if (::access(master.c_str(), X_OK) != 0) {
    return invalid("daemon_directory " + dir + " does not contain an executable master program (" +
                   main.filename() + "): set daemon_directory to where the Tern daemons are installed");
  }
  return {};
}

// The set-gid helper, when it is installed: root:setgid_group 2755, as
// `postfix set-permissions` does for postdrop.
Status ensure_terndrop(const config::MainCf& main, const Ids& ids, bool quiet) {
  if (::geteuid() != 0) return {};
  std::string path = main.str("command_directory") + "/terndrop";
  return ensure_file(path, {0, ids.setgid_gid, 02755}, quiet);
}

Status check_all(const Options& opts, bool quiet) {
  std::vector<std::string> warnings;
  auto main = config::MainCf::load(opts.config_dir, &warnings);
  for (const auto& w : warnings) say_warning("%s", w.c_str());
  if (!main) return main.take_error();
  if (Status st = main->validate(); !st) return st;
  warnings.clear();
  auto services = config::load_master_cf(opts.config_dir, *main, &warnings);
  for (const auto& w : warnings) say_warning("%s", w.c_str());
  if (!services) return services.take_error();
  if (Status st = check_daemon_directory(*main); !st) return st;

  auto names = read_names(*main);
  if (!names) return names.take_error();
  bool root = ::geteuid() == 0;
  if (root) {
    if (Status st = ensure_accounts(*names, quiet); !st) return st;
  }
  auto ids = resolve_ids(*names);
  if (!ids) return ids.take_error();

  std::string queue = main->str("queue_directory");
  if (queue.empty() || queue[0] != '/') return invalid("queue_directory must be an absolute path: " + queue);
  if (root) {
    if (Status st = check_traversable(queue); !st) return st;
  }
  if (Status st = ensure_queue(queue, *ids, quiet); !st) return st;

  std::string mail_base = main->str("virtual_mailbox_base");
  if (!mail_base.empty()) {
    if (mail_base[0] != '/') return invalid("virtual_mailbox_base must be an absolute path: " + mail_base);
    if (root) {
      if (Status st = check_traversable(mail_base); !st) return st;
    }
    if (Status st = ensure_dir(mail_base, {ids->vmail.uid, ids->vmail.gid, 0700}, quiet); !st) return st;
  }

  // authd is the only reader of the users file.
  std::string passwd = main->str("passwd_file");
  if (!passwd.empty()) {
    gid_t g = root ? ids->auth.gid : ::getegid();
    if (Status st = ensure_file(passwd, {ids->auth.uid, g, 0600}, quiet); !st) return st;
  }
  return ensure_terndrop(*main, *ids, quiet);
}

// dirname(/proc/self/exe) when it holds an executable `program`.
std::string sibling_dir_with(const char* program) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string dir = parent_dir(std::string(buf, static_cast<size_t>(n)));
  std::string path = dir + "/" + program;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0) return dir;
  return "";
}

}  // namespace

int run_check(const Options& opts, bool quiet) {
  Status st = check_all(opts, quiet);
  if (!st) return say_fatal("%s", st.error().text.c_str());
  return 0;
}

int cmd_check(const Options& opts, const std::vector<std::string>& args) {
  if (!args.empty()) {
    say_fatal("usage: ternctl [-c config_dir] check");
    return 2;
  }
  return run_check(opts, false);
}

// A build tree keeps every program in one bin/ directory; an installed
// system splits daemons (libexec/tern) from tools (sbin).
std::string detect_daemon_directory() {
  std::string dir = sibling_dir_with("master");
  return dir.empty() ? std::string(build::kDaemonDir) : dir;
}

std::string detect_command_directory() {
  std::string dir = sibling_dir_with("master");
  return dir.empty() ? std::string(build::kSbinDir) : dir;
}

}  // namespace tern::ctl
