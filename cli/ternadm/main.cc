// ternadm(1): the administrator's tool for users and password hashes
// (Dovecot's doveadm pw and a passwd-file editor in one).
//
//   ternadm [-c DIR] pw [-s SCHEME] [-p PASSWORD]
//   ternadm [-c DIR] user add USER@DOMAIN [-s SCHEME] [-p PASSWORD] [-q QUOTA_RULE]
//   ternadm [-c DIR] user del USER@DOMAIN
//   ternadm [-c DIR] user passwd USER@DOMAIN [-s SCHEME] [-p PASSWORD]
//   ternadm [-c DIR] user list
//   ternadm [-c DIR] mailbox status USER@DOMAIN      (folders, counts, quota: mailbox_status.h)
//
// Hashing is common/auth/password_scheme (the one implementation authd
// verifies with); the file is edited under a lock and replaced atomically
// by common/auth/passwd_edit. authd notices the rename and restarts with
// the new file: no reload is needed.
//
// Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 usage.

#include <getopt.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "build_paths.h"
#include "cli/ternadm/mailbox_status.h"
#include "cli/ternadm/password_input.h"
#include "common/auth/passwd_edit.h"
#include "common/auth/passwd_file.h"
#include "common/auth/password_scheme.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"

namespace {

using namespace tern;

constexpr const char* kUsage =
    "usage: ternadm [-c config_dir] pw [-s scheme] [-p password]\n"
    "       ternadm [-c config_dir] user add user@domain [-s scheme] [-p password] [-q quota_rule]\n"
    "       ternadm [-c config_dir] user del user@domain\n"
    "       ternadm [-c config_dir] user passwd user@domain [-s scheme] [-p password]\n"
    "       ternadm [-c config_dir] user list\n"
    "       ternadm [-c config_dir] mailbox status user@domain\n";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

int fail(const std::string& text) {
  std::fprintf(stderr, "ternadm: fatal: %s\n", text.c_str());
  return 1;
}

void warn(const std::string& text) { std::fprintf(stderr, "ternadm: warning: %s\n", text.c_str()); }

// Options after a subcommand.
struct SubOptions {
  auth::Scheme scheme = auth::Scheme::kArgon2id;
  std::string password;
  bool have_password = false;
  std::string quota_rule;
  std::vector<std::string> args;  // positional
};

// Parses argv[first..] with getopt; allowed is the option letters (each
// taking a value). nullopt-like: returns false after printing the reason.
bool parse_sub(int argc, char** argv, int first, const char* allowed, SubOptions& o) {
  // A fresh scan (optind = 0 re-initialises glibc's getopt, which then
  // permutes: options may follow the user name) over argv[first..], with
  // argv[first - 1] standing in for the program name.
  argc -= first - 1;
  argv += first - 1;
  optind = 0;
  int c;
  std::string spec = std::string(":") + allowed;
  while ((c = getopt(argc, argv, spec.c_str())) != -1) {
    switch (c) {
      case 's': {
        auto s = auth::scheme_from_name(optarg);
        if (!s) {
          std::fprintf(stderr, "ternadm: %s (ARGON2ID, SHA512-CRYPT, BLF-CRYPT, YESCRYPT)\n", s.error().text.c_str());
          return false;
        }
        o.scheme = *s;
        break;
      }
      case 'p':
        o.password = optarg;
        o.have_password = true;
        break;
      case 'q': o.quota_rule = optarg; break;
      case ':': std::fprintf(stderr, "ternadm: option -%c needs a value\n", optopt); return false;
      default: std::fprintf(stderr, "ternadm: unknown option -%c\n", optopt); return false;
    }
  }
  for (int i = optind; i < argc; i++) o.args.emplace_back(argv[i]);
  return true;
}

// "{SCHEME}hash" of the password from -p, the terminal or stdin.
Result<std::string> new_hash(SubOptions& o) {
  std::string pw;
  if (o.have_password) {
    if (Status st = adm::check_password(o.password); !st) return st.take_error();
    pw = o.password;
    OPENSSL_cleanse(o.password.data(), o.password.size());
  } else {
    auto r = adm::read_new_password();
    if (!r) return r.take_error();
    pw = std::move(*r);
  }
  auto h = auth::hash_password(o.scheme, pw);
  OPENSSL_cleanse(pw.data(), pw.size());
  return h;
}

struct Instance {
  config::MainCf cf;
  std::string passwd_file;
};

// Owner of a users file ternadm creates: auth_owner when root (authd is its
// only reader), else whoever runs ternadm.
auth::NewFileOwner new_file_owner(const config::MainCf& cf) {
  auth::NewFileOwner o;
  if (::geteuid() == 0) {
    if (struct passwd* pw = ::getpwnam(cf.str("auth_owner").c_str())) {
      o.uid = pw->pw_uid;
      o.gid = pw->pw_gid;
    }
  }
  return o;
}

int cmd_pw(SubOptions& o) {
  if (!o.args.empty() || !o.quota_rule.empty()) return usage();
  auto h = new_hash(o);
  if (!h) return fail(h.error().text);
  std::printf("%s\n", h->c_str());
  return 0;
}

int cmd_user_add(const Instance& in, SubOptions& o) {
  if (o.args.size() != 1) return usage();
  auto address = auth::check_user_address(o.args[0]);
  if (!address) return fail(address.error().text);
  if (!o.quota_rule.empty()) {
    if (Status st = auth::check_quota_rule(o.quota_rule); !st) return fail(st.error().text);
  }
  std::string base = in.cf.str("virtual_mailbox_base");
  if (base.empty() || base[0] != '/')
    return fail("virtual_mailbox_base must be an absolute path: the new user's home goes below it");
  auto vmail = auth::vmail_ids_for(in.cf.str("vmail_owner"));
  if (!vmail) return fail(vmail.error().text);
  // Refused before the password is asked for; checked again under the lock.
  if (auto text = read_file(in.passwd_file)) {
    auto refused = auth::add_user(*text, {*address});
    if (!refused) return fail(in.passwd_file + ": " + refused.error().text);
  }
  std::string domain = address->substr(address->rfind('@') + 1);
  bool hosted = false;
  for (const auto& d : in.cf.list("virtual_mailbox_domains")) hosted |= equals_nocase(d, domain);
  if (!hosted) warn(domain + " is not in virtual_mailbox_domains: smtpd accepts no mail for " + *address);

  auto hash = new_hash(o);
  if (!hash) return fail(hash.error().text);
  auth::NewUser u{*address, *hash, vmail->uid, vmail->gid, auth::default_home(base, *address), o.quota_rule};
  // What authd will make of the line: refused here rather than at its load.
  std::vector<std::string> warnings;
  auto parsed = auth::PasswdFile::parse(auth::format_user_line(u), in.passwd_file, *vmail, base, &warnings);
  if (!parsed || parsed->size() != 1) return fail("the new line would not load: " + (warnings.empty() ? std::string("?") : warnings[0]));
  Status st = auth::edit_passwd_file(in.passwd_file, new_file_owner(in.cf),
                                     [&u](std::string_view old) { return auth::add_user(old, u); });
  if (!st) return fail(in.passwd_file + ": " + st.error().text);
  std::printf("ternadm: added %s (home %s)\n", address->c_str(), u.home.c_str());
  return 0;
}

int cmd_user_del(const Instance& in, SubOptions& o) {
  if (o.args.size() != 1 || o.have_password || !o.quota_rule.empty()) return usage();
  std::string user = o.args[0];
  Status st = auth::edit_passwd_file(in.passwd_file, new_file_owner(in.cf),
                                     [&user](std::string_view old) { return auth::remove_user(old, user); });
  if (!st) return fail(in.passwd_file + ": " + st.error().text);
  std::printf("ternadm: removed %s (its mail, if any, stays in place)\n", user.c_str());
  return 0;
}

int cmd_user_passwd(const Instance& in, SubOptions& o) {
  if (o.args.size() != 1 || !o.quota_rule.empty()) return usage();
  std::string user = o.args[0];
  auto text = read_file(in.passwd_file);
  if (!text) return fail(text.error().text);
  bool known = false;
  for (const auto& u : auth::list_users(*text)) known |= equals_nocase(u, user);
  if (!known) return fail(in.passwd_file + ": no such user: " + user);
  auto hash = new_hash(o);
  if (!hash) return fail(hash.error().text);
  Status st = auth::edit_passwd_file(in.passwd_file, new_file_owner(in.cf), [&](std::string_view old) {
    return auth::set_user_password(old, user, *hash);
  });
  if (!st) return fail(in.passwd_file + ": " + st.error().text);
  std::printf("ternadm: changed the password of %s\n", user.c_str());
  return 0;
}

int cmd_user_list(const Instance& in, SubOptions& o) {
  if (!o.args.empty() || o.have_password || !o.quota_rule.empty()) return usage();
  auto text = read_file(in.passwd_file);
  if (!text) {
    if (text.error().err == ENOENT) return 0;
    return fail(text.error().text);
  }
  for (const auto& u : auth::list_users(*text)) std::printf("%s\n", u.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_dir = build::kConfigDir;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) config_dir = env;
  // '+': stop at the subcommand, whose options come after it.
  int c;
  while ((c = getopt(argc, argv, "+c:h")) != -1) {
    switch (c) {
      case 'c': config_dir = optarg; break;
      default: return usage();
    }
  }
  if (optind >= argc) return usage();
  std::string cmd = argv[optind];
  std::string sub = optind + 1 < argc ? argv[optind + 1] : "";
  SubOptions o;
  if (cmd == "pw") {
    if (!parse_sub(argc, argv, optind + 1, "s:p:", o)) return usage();
    return cmd_pw(o);
  }
  if (cmd != "user" && cmd != "mailbox") return usage();
  if (cmd == "mailbox" && sub != "status") return usage();
  const char* allowed = sub == "add" ? "s:p:q:" : sub == "passwd" ? "s:p:" : "";
  if (!parse_sub(argc, argv, optind + 2, allowed, o)) return usage();
  std::vector<std::string> warnings;
  auto cf = config::MainCf::load(config_dir, &warnings);
  if (!cf) return fail(cf.error().text);
  if (cmd == "mailbox") {
    if (o.args.size() != 1) return usage();
    return adm::mailbox_status(*cf, o.args[0]);
  }
  Instance in{std::move(*cf), ""};
  in.passwd_file = in.cf.str("passwd_file");
  if (sub == "add") return cmd_user_add(in, o);
  if (sub == "del") return cmd_user_del(in, o);
  if (sub == "passwd") return cmd_user_passwd(in, o);
  if (sub == "list") return cmd_user_list(in, o);
  return usage();
}
