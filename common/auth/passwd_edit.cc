// Writing the users file (passwd_edit.h).

#include "common/auth/passwd_edit.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "common/base/durable.h"
#include "common/base/strings.h"
#include "common/mail/smtp_path.h"

namespace tern::auth {
namespace {

constexpr size_t kMaxQuotaRule = 256;

// One line of the file: its bytes with the terminator, and the user field
// ("" for comments, blank lines and lines without one).
struct Line {
  std::string_view raw;   // with "\n" (absent on an unterminated last line)
  std::string_view body;  // without "\n" and a "\r" before it
  std::string_view user;
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    Line l;
    l.raw = text.substr(pos, end - pos);
    l.body = l.raw;
    if (!l.body.empty() && l.body.back() == '\n') l.body.remove_suffix(1);
    if (!l.body.empty() && l.body.back() == '\r') l.body.remove_suffix(1);
    std::string_view t = trim(l.body);
    // The same lines passwd_file.cc skips.
    if (!t.empty() && t[0] != '#') l.user = l.body.substr(0, l.body.find(':'));
    out.push_back(l);
    pos = end;
  }
  return out;
}

// Index of the user's line, or -1.
long find_line(const std::vector<Line>& lines, std::string_view user) {
  for (size_t i = 0; i < lines.size(); i++)
    if (!lines[i].user.empty() && equals_nocase(lines[i].user, user)) return static_cast<long>(i);
  return -1;
}

}  // namespace

std::string format_user_line(const NewUser& u) {
  // user:password:uid:gid:(gecos):home:(shell):extra_fields
  std::string line = u.address + ":" + u.hash + ":" + std::to_string(u.uid) + ":" + std::to_string(u.gid) + "::" +
                     u.home + "::";
  if (!u.quota_rule.empty()) line += "userdb_quota_rule=" + u.quota_rule;
  return line + "\n";
}

Result<std::string> check_user_address(std::string_view address) {
  // A user name is a mailbox of ours: RFC 5321's 64-octet local part, not
  // the wider limits smtpd takes senders with.
  const mail::PathLimits limits{.local_part = 64, .domain = 255, .path = 256};
  auto a = mail::parse_mailbox(address, limits, false);
  std::string shown(address.substr(0, 80));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (!a) return invalid(shown + ": not an address of the form user@domain (" + a.error().text + ")");
  if (a->local_was_quoted) return invalid(shown + ": a quoted local part cannot be a user name");
  if (a->is_address_literal || !is_dns_name(a->domain)) return invalid(shown + ": the domain must be a DNS name");
  if (a->local.find_first_of("/%!") != std::string::npos)
    return invalid(shown + ": '/', '%' and '!' are not allowed in a user name");
  return a->local + "@" + a->domain_lower;
}

Status check_quota_rule(std::string_view rule) {
  if (rule.empty() || rule.size() > kMaxQuotaRule) return invalid("quota rule must be 1 to 256 bytes");
  for (unsigned char c : rule)
    if (c <= 0x20 || c >= 0x7f) return invalid("quota rule holds a space or a character outside printable ASCII");
  return {};
}

std::string default_home(const std::string& mailbox_base, std::string_view address) {
  size_t at = address.rfind('@');
  return mailbox_base + "/" + std::string(address.substr(at + 1)) + "/" + std::string(address.substr(0, at));
}

Result<std::string> add_user(std::string_view text, const NewUser& u) {
  auto lines = split_lines(text);
  if (long i = find_line(lines, u.address); i >= 0)
    return invalid(strf("user %s exists (line %ld)", std::string(lines[i].user).c_str(), i + 1));
  std::string out(text);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + format_user_line(u);
}

Result<std::string> remove_user(std::string_view text, std::string_view user) {
  auto lines = split_lines(text);
  long i = find_line(lines, user);
  if (i < 0) return make_error(Errc::kNotFound, "no such user: " + std::string(user));
  std::string out;
  for (size_t k = 0; k < lines.size(); k++)
    if (static_cast<long>(k) != i) out += lines[k].raw;
  return out;
}

Result<std::string> set_user_password(std::string_view text, std::string_view user, std::string_view hash) {
  auto lines = split_lines(text);
  long i = find_line(lines, user);
  if (i < 0) return make_error(Errc::kNotFound, "no such user: " + std::string(user));
  const Line& l = lines[i];
  // user ":" password [":" the rest, kept as it is]
  std::string_view after_user = l.body.substr(l.user.size());
  if (!after_user.empty()) after_user.remove_prefix(1);
  size_t colon = after_user.find(':');
  std::string_view rest = colon == std::string_view::npos ? "" : after_user.substr(colon);
  std::string_view ending = l.raw.substr(l.body.size());
  std::string out;
  for (size_t k = 0; k < lines.size(); k++) {
    if (static_cast<long>(k) != i) {
      out += lines[k].raw;
      continue;
    }
    out += std::string(l.user) + ":" + std::string(hash) + std::string(rest) + std::string(ending);
  }
  return out;
}

std::vector<std::string> list_users(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& l : split_lines(text))
    if (!l.user.empty()) out.emplace_back(l.user);
  return out;
}

Result<PasswdLock> PasswdLock::acquire(const std::string& passwd_path, std::chrono::milliseconds wait) {
  std::string path = passwd_path + ".lock";
  auto fd = open_fd(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (!fd) return fd.take_error();
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::flock(fd->get(), LOCK_EX | LOCK_NB) == 0) return PasswdLock(std::move(*fd));
    if (errno != EWOULDBLOCK && errno != EINTR) return sys_error("flock " + path);
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(Errc::kTemporary, path + ": locked by another editor; try again");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status edit_passwd_file(const std::string& path, const NewFileOwner& create, const PasswdEdit& edit,
                        std::chrono::milliseconds lock_wait) {
  auto lock = PasswdLock::acquire(path, lock_wait);
  if (!lock) return lock.take_error();
  DurableOptions opts{.mode = create.mode, .owner_uid = create.uid, .owner_gid = create.gid};
  std::string old;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    // rename(2) would replace a symlink by a file: refuse rather than
    // silently detach the link from what it points at.
    if (!S_ISREG(st.st_mode)) return invalid(path + ": not a regular file");
    opts.mode = static_cast<int>(st.st_mode & 07777);
    opts.owner_uid = st.st_uid;
    opts.owner_gid = st.st_gid;
    auto text = read_file(path, PasswdLimits{}.max_file_bytes);
    if (!text) return text.take_error();
    old = std::move(*text);
  } else if (errno != ENOENT) {
    return sys_error("lstat " + path);
  }
  auto changed = edit(old);
  if (!changed) return changed.take_error();
  return write_file_atomic(path, *changed, opts);
}

}  // namespace tern::auth
