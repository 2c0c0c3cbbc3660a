#pragma once
// Writing the users file (passwd_file, the format is in passwd_file.h):
// the lines ternctl init and ternadm write, and the safe edit ternadm's
// user commands make.
//
// A new line has the shape ternctl init gives the demo user:
//   user@domain:{SCHEME}hash:uid:gid::home::[userdb_quota_rule=RULE]
// uid and gid as numbers (the vmail account; the invoking user's for an
// instance run without root), home absolute, below virtual_mailbox_base as
// <base>/<domain>/<local part>.
//
// Edits (add, remove, set password) work on the text: every line they do not
// touch, comments, blank lines, lines authd refuses and CRLF endings
// included, stays byte for byte; a changed line keeps its other fields. User
// names compare case-insensitively, as authd compares them.
//
// edit_passwd_file() is the one writer: it takes an exclusive flock(2) on
// "<passwd_file>.lock" (a separate file, kept, so that the rename below
// never swaps the locked inode away under a waiting editor), reads the
// file, applies the edit, writes a temporary file beside it with the same
// owner, group and mode, fsyncs it, renames it over the file and fsyncs
// the directory (common/base/durable.h). authd watches the directory and
// restarts on the rename, so a change is live without a reload. Readers
// never see a half-written file; two editors never lose each other's
// change.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth/passwd_file.h"
#include "common/base/fd.h"
#include "common/base/result.h"

namespace tern::auth {

struct NewUser {
  std::string address;  // user@domain
  std::string hash;     // with its {SCHEME} prefix
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string quota_rule;  // "" for none; else userdb_quota_rule=<rule>
};
// One line, newline included.
std::string format_user_line(const NewUser& u);

// An address ternadm accepts as a user name: local@domain, both ASCII, the
// local part a dot-string (RFC 5321 4.1.2) without '/', '%' or '!' (it
// becomes a directory name and must not route), the domain a DNS name.
// Returns it with the domain lower-cased.
Result<std::string> check_user_address(std::string_view address);
// A quota rule for userdb_quota_rule (Dovecot's "*:storage=1G" form):
// printable ASCII without spaces, at most 256 bytes.
Status check_quota_rule(std::string_view rule);
// <base>/<domain>/<local part> for a checked address.
std::string default_home(const std::string& mailbox_base, std::string_view address);

// The edits, on the file's text. Errc::kInvalid for a duplicate (add),
// Errc::kNotFound for an unknown user (remove, set_password).
Result<std::string> add_user(std::string_view text, const NewUser& u);
Result<std::string> remove_user(std::string_view text, std::string_view user);
Result<std::string> set_user_password(std::string_view text, std::string_view user, std::string_view hash);
// The user names of the file in order (lines that are not comments or
// blank and have a user field).
std::vector<std::string> list_users(std::string_view text);

// Exclusive lock on "<path>.lock", created 0600 if missing, waited for at
// most `wait` (polling; a CLI tool may wait, a daemon never edits).
class PasswdLock {
 public:
  static Result<PasswdLock> acquire(const std::string& passwd_path,
                                    std::chrono::milliseconds wait = std::chrono::seconds(10));

 private:
  explicit PasswdLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;  // closing it releases the lock
};

// Owner and mode of a users file that does not exist yet; -1 is the
// writer's own uid or gid.
struct NewFileOwner {
  long uid = -1;
  long gid = -1;
  int mode = 0600;
};

// Lock, read (a missing file reads as empty), edit, durable replace with the
// old file's owner, group and mode (or `create` for a new file). An edit
// that returns an error changes nothing.
using PasswdEdit = std::function<Result<std::string>(std::string_view old_text)>;
Status edit_passwd_file(const std::string& path, const NewFileOwner& create, const PasswdEdit& edit,
                        std::chrono::milliseconds lock_wait = std::chrono::seconds(10));

}  // namespace tern::auth
