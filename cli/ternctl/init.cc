// ternctl init: writes a complete, self-contained instance into the
// configuration directory (-c DIR), ready for `ternctl -c DIR start`:
//
//   DIR/main.cf      every path under DIR; listens on --listen-address
//   DIR/master.cf    the standard services at --port-base + 25, 587, 465,
//                    143, 993 (and 24, commented); services whose program
//                    is not installed yet are written commented out
//   DIR/queue/       the queue, DIR/mail/ the Maildirs (made by ternctl check)
//   DIR/log/maillog  maillog_file
//   DIR/tls/         a self-signed certificate (cert.pem 0644, key.pem 0600)
//   DIR/users        passwd-file with demo@DOMAIN and a random password,
//                    printed once on stdout
//   DIR/aliases      postmaster, abuse and root to --admin, built into
//                    DIR/aliases.lmdb
//
// init refuses when DIR/main.cf exists, so it never overwrites an instance.
// As root the services run under the accounts of DESIGN.md, which must be
// able to reach DIR: init refuses when an ancestor of DIR is not searchable
// by other users, and makes DIR itself 0755. As an ordinary user everything
// runs as that user, without privilege separation (one warning says so).

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/ternctl/accounts.h"
#include "cli/ternctl/commands.h"
#include "cli/ternctl/fs_setup.h"
#include "cli/ternctl/instance_files.h"
#include "cli/ternctl/say.h"
#include "cli/ternctl/tls_cert.h"
#include "cli/ternctl/users_file.h"
#include "common/auth/passwd_edit.h"
#include "common/auth/password_scheme.h"
#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"
#include "common/table/table.h"

namespace tern::ctl {
namespace {

constexpr const char* kUsage =
    "usage: ternctl -c DIR init [--port-base N] [--domain D] [--listen-address A] [--admin ADDR]";

bool valid_address_literal(const std::string& a) {
  unsigned char buf[16];
  return inet_pton(AF_INET, a.c_str(), buf) == 1 || inet_pton(AF_INET6, a.c_str(), buf) == 1;
}

// One word without white space, commas, colons or quotes, so it is one
// alias value.
bool valid_admin(std::string_view a) {
  if (a.empty()) return false;
  for (char c : a) {
    if (static_cast<unsigned char>(c) <= ' ' || c == ',' || c == ':' || c == '"' || c == '#' || c == 0x7f)
      return false;
  }
  return true;
}

Status parse_args(const std::vector<std::string>& args, InstanceSettings& s) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    size_t eq = name.find('=');
    if (name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return invalid(name + ": missing value\n" + kUsage);
    }
    if (name == "--port-base") {
      auto n = parse_int(value);
      if (!n || *n < 0 || *n + 993 > 65535) return invalid("--port-base must be a number from 0 to 64542");
      s.port_base = static_cast<int>(*n);
      s.port_base_given = true;
    } else if (name == "--domain") {
      s.domain = to_lower(value);
      if (!is_dns_name(s.domain)) return invalid("--domain: not a domain name: " + value);
    } else if (name == "--listen-address") {
      s.listen_address = value;
      if (value != "all" && !valid_address_literal(value))
        return invalid("--listen-address: not an IPv4 or IPv6 address (or \"all\"): " + value);
    } else if (name == "--admin") {
      s.admin = value;
      if (!valid_admin(value)) return invalid("--admin: not an address: " + value);
    } else {
      return invalid("unknown option " + name + "\n" + kUsage);
    }
  }
  if (s.domain.empty()) s.domain = "example.test";
  if (s.listen_address.empty()) s.listen_address = "127.0.0.1";
  if (s.admin.empty()) s.admin = "demo@" + s.domain;
  s.hostname = "mail." + s.domain;
  return {};
}

// mkdir -p with 0755 for what it creates (chmod, so the umask cannot make
// the directories unreachable for the tern accounts). Returns whether the
// last component was created.
Result<bool> make_dirs(const std::string& path) {
  bool created = false;
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) == 0) {
      if (::chmod(part.c_str(), 0755) < 0) return sys_error("chmod 0755 " + part);
      created = pos == path.size();
    } else if (errno != EEXIST) {
      return sys_error("mkdir " + part);
    }
  }
  return created;
}

// The absolute, symlink-free configuration directory, created when missing
// and reachable by the tern accounts when root.
Result<std::string> prepare_dir(const std::string& given) {
  if (given.empty()) return invalid("no configuration directory: use ternctl -c DIR init");
  std::string path = given;
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return sys_error("getcwd");
    path = std::string(cwd) + "/" + path;
  }
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  auto created = make_dirs(path);
  if (!created) return created.take_error();
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return sys_error("realpath " + path);
  std::string dir = real;
  struct stat st;
  if (::lstat((dir + "/main.cf").c_str(), &st) == 0)
    return invalid(dir + "/main.cf exists: " + dir + " already holds an instance (ternctl init never overwrites one)");
  if (::geteuid() == 0) {
    if (Status t = check_traversable(dir); !t) {
      if (*created) ::rmdir(dir.c_str());
      return t.take_error();
    }
    auto fd = open_fd(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd) return fd.take_error();
    if (::fchmod(fd->get(), 0755) < 0) return sys_error("chmod 0755 " + dir);
  }
  return dir;
}

Status write_tls(const InstanceSettings& s) {
  auto made = make_self_signed_cert({s.hostname, s.listen_address});
  if (!made) return made.take_error();
  std::string tls = s.dir + "/tls";
  if (::mkdir(tls.c_str(), 0755) < 0 && errno != EEXIST) return sys_error("mkdir " + tls);
  // The key is loaded by each TLS daemon before it drops privileges, so
  // root (or the invoking user) is its only reader.
  if (Status st = write_file_atomic(tls + "/key.pem", made->key_pem, {.mode = 0600}); !st) return st;
  return write_file_atomic(tls + "/cert.pem", made->cert_pem, {.mode = 0644});
}

Status write_aliases(const InstanceSettings& s) {
  std::string path = s.dir + "/aliases";
  std::string text = aliases_text(s);
  if (Status st = write_file_atomic(path, text, {.mode = 0644}); !st) return st;
  auto entries = table::parse_aliases(text, path);
  if (!entries) return entries.take_error();
  return table::build_lmdb(path, *entries);
}

// Writes DIR/users and returns the demo user's password. Needs the accounts
// (run_check has created them).
Result<std::string> write_users(const InstanceSettings& s, const config::MainCf& main) {
  Account owner = invoking_user();
  if (::geteuid() == 0) {
    auto a = find_user(main.str("auth_owner"));
    if (!a) return a.take_error();
    owner = *a;
  }
  auto vmail = auth::vmail_ids_for(main.str("vmail_owner"));
  if (!vmail) return vmail.take_error();
  auto password = random_password(16);
  if (!password) return password.take_error();
  auto hash = auth::hash_password(auth::Scheme::kArgon2id, *password);
  if (!hash) return hash.take_error();
  std::string address = "demo@" + s.domain;
  auth::NewUser demo{address, *hash, vmail->uid, vmail->gid, auth::default_home(main.str("virtual_mailbox_base"), address)};
  std::string path = main.str("passwd_file");
  std::string text = "# Users in Dovecot's passwd-file format:\n"
                     "# user@domain:{SCHEME}hash:uid:gid::home::extra_fields\n"
                     "# Edit with ternadm(1): ternadm -c " + s.dir + " user add|del|passwd|list\n" +
                     auth::format_user_line(demo);
  if (Status st = write_file_atomic(path, text, {.mode = 0600}); !st) return st.take_error();
  if (Status st = ensure_file(path, {owner.uid, owner.gid, 0600}, true); !st) return st.take_error();
  return password;
}

void print_next_steps(const InstanceSettings& s) {
  const char* d = s.dir.c_str();
  std::printf(
      "\nThe instance in %s is ready. Next steps:\n"
      "  ternctl -c %s start     start it\n"
      "  ternctl -c %s status    show its services and their pids\n"
      "  ternctl -c %s stop      stop it\n"
      "The log is %s/log/maillog.\n",
      d, d, d, d, d);
  // Promise only the ports of programs that are installed (master.cf lists
  // the others commented out).
  auto have = [&s](const char* program) { return ::access((s.daemon_directory + "/" + program).c_str(), X_OK) == 0; };
  if (have("smtpd"))
    std::printf("Mail for %s is accepted on %s port %d (SMTP), %d (submission) and %d (smtps).\n", s.domain.c_str(),
                s.listen_address.c_str(), s.port_base + 25, s.port_base + 587, s.port_base + 465);
  if (have("imap-login"))
    std::printf("IMAP is on %s port %d (and %d with TLS).\n", s.listen_address.c_str(), s.port_base + 143,
                s.port_base + 993);
  if (!have("smtpd") && !have("imap-login"))
    std::printf("No mail service is installed yet: master.cf lists them commented out until their programs ship.\n");
}

Status write_config(InstanceSettings& s) {
  if (Status st = write_file_atomic(s.dir + "/main.cf", main_cf_text(s), {.mode = 0644}); !st) return st;
  // Read back what was written: it checks the file and gives the account
  // names master.cf needs (defaults, or whatever the table says).
  std::vector<std::string> warnings;
  auto main = config::MainCf::load(s.dir, &warnings);
  if (!main) return main.take_error();
  for (const auto& w : warnings) say_warning("%s", w.c_str());
  s.login_owner = main->str("login_owner");
  s.auth_owner = main->str("auth_owner");
  s.vmail_owner = main->str("vmail_owner");
  s.private_group = main->str("private_group");
  s.login_group = main->str("login_group");
  if (Status st = write_file_atomic(s.dir + "/master.cf", master_cf_text(s), {.mode = 0644}); !st) return st;
  std::string log = s.dir + "/log";
  if (::mkdir(log.c_str(), 0755) < 0 && errno != EEXIST) return sys_error("mkdir " + log);
  if (Status st = write_tls(s); !st) return st;
  return write_aliases(s);
}

}  // namespace

int cmd_init(const Options& opts, const std::vector<std::string>& args) {
  InstanceSettings s;
  if (Status st = parse_args(args, s); !st) {
    say_fatal("%s", st.error().text.c_str());
    return 2;
  }
  s.daemon_directory = detect_daemon_directory();
  s.command_directory = detect_command_directory();
  // Checked before anything is written: an instance master cannot start
  // would only have to be removed again.
  if (::access((s.daemon_directory + "/master").c_str(), X_OK) != 0)
    return say_fatal("no master program in %s: build or install the Tern daemons first",
                     s.daemon_directory.c_str());
  auto dir = prepare_dir(opts.config_dir);
  if (!dir) return say_fatal("%s", dir.error().text.c_str());
  s.dir = *dir;
  if (::geteuid() != 0)
    say_warning("not running as root: the services of %s will run as %s without privilege separation",
                s.dir.c_str(), user_name(::geteuid()).c_str());

  if (Status st = write_config(s); !st) return say_fatal("%s", st.error().text.c_str());
  Options check_opts = opts;
  check_opts.config_dir = s.dir;
  if (int rc = run_check(check_opts, true); rc != 0) return rc;

  auto main = config::MainCf::load(s.dir);
  if (!main) return say_fatal("%s", main.error().text.c_str());
  auto password = write_users(s, *main);
  if (!password) return say_fatal("%s", password.error().text.c_str());
  std::printf("demo user: demo@%s password: %s\n", s.domain.c_str(), password->c_str());
  print_next_steps(s);
  std::fflush(stdout);
  return 0;
}

}  // namespace tern::ctl
