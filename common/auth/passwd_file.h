#pragma once
// The users file: Dovecot's passwd-file format, one user per line,
//   user@domain:{SCHEME}hash:uid:gid:(gecos):home:(shell):extra_fields
// Empty lines and lines starting with '#' are skipped. Trailing fields may
// be left out ("user:{SCHEME}hash" is a user without userdb data). The extra
// fields are space-separated name[=value]: those starting "userdb_" are
// userdb fields (userdb_quota_rule=*:storage=1G becomes quota_rule=...), the
// others passdb fields (nodelay, nologin, ...), as in Dovecot.
//
// Tern's rules on top of Dovecot's (DESIGN.md "Mail store"): every user maps
// to the vmail account, so uid and gid must be empty (meaning vmail), the
// vmail uid/gid as numbers, or the vmail user/group names. An entry naming
// anything else is refused at load, as is a line that does not parse, a
// duplicate user (user names compare case-insensitively, as Dovecot's
// default auth_username_format %Lu makes them) or a password hash whose
// scheme is unknown; each refusal is a "file:line: reason" warning and the
// other users stay usable. Passwords in {PLAIN} load with a warning.
// A relative home is taken below home_base (virtual_mailbox_base).

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/auth/password_scheme.h"
#include "common/base/result.h"

namespace tern::auth {

struct PasswdLimits {
  size_t max_file_bytes = 64 << 20;
  size_t max_line = 8192;
  size_t max_users = 1'000'000;
  size_t max_extra_fields = 64;
};

// Who every entry must map to.
struct VmailIds {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user_name;   // accepted in the uid field
  std::string group_name;  // accepted in the gid field
};

// The vmail account as authd and the tools see it: vmail_owner when running
// as root, else the invoking user (an instance run without root maps every
// user to whoever runs it). Errc::kNotFound when vmail_owner does not exist.
Result<VmailIds> vmail_ids_for(const std::string& vmail_owner);

struct PasswdEntry {
  std::string user;  // as written in the file
  std::optional<StoredPassword> password;  // none: the user cannot log in (userdb only)
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::vector<std::pair<std::string, std::string>> userdb_fields;  // "userdb_" removed
  std::vector<std::pair<std::string, std::string>> passdb_fields;
  int line = 0;

  bool has_passdb_field(std::string_view name) const;
};

class PasswdFile {
 public:
  // Parses text as if read from filename; warnings receive the refusals.
  static Result<PasswdFile> parse(std::string_view text, const std::string& filename, const VmailIds& ids,
                                  const std::string& home_base, std::vector<std::string>* warnings,
                                  const PasswdLimits& limits = {});
  static Result<PasswdFile> load(const std::string& path, const VmailIds& ids, const std::string& home_base,
                                 std::vector<std::string>* warnings, const PasswdLimits& limits = {});

  // Case-insensitive; nullptr when unknown.
  const PasswdEntry* find(std::string_view user) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<PasswdEntry> entries_;
  std::map<std::string, size_t, std::less<>> index_;  // lower-cased user -> entry
};

}  // namespace tern::auth
