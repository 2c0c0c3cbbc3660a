#include "common/auth/passwd_file.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "common/base/fd.h"
#include "common/base/strings.h"

namespace tern::auth {
namespace {

constexpr size_t kMaxUserLength = 255;

// uid/gid field: empty (= vmail), the number, or the name.
bool id_matches(std::string_view field, long long want, const std::string& name) {
  if (field.empty()) return true;
  if (auto n = parse_int(field)) return *n == want;
  return !name.empty() && field == name;
}

bool valid_user(std::string_view u) {
  if (u.empty() || u.size() > kMaxUserLength) return false;
  for (unsigned char c : u)
    if (c < 0x21 || c == 0x7f) return false;  // no controls, spaces or DEL
  return true;
}

// One line into an entry; the error text is the reason only.
Result<PasswdEntry> parse_line(std::string_view line, const VmailIds& ids, const std::string& home_base,
                               const PasswdLimits& limits) {
  // user:password:uid:gid:gecos:home:shell:extra — the extra fields keep any
  // colons they contain.
  std::vector<std::string_view> f;
  size_t start = 0;
  while (f.size() < 7) {
    size_t colon = line.find(':', start);
    if (colon == std::string_view::npos) break;
    f.push_back(line.substr(start, colon - start));
    start = colon + 1;
  }
  f.push_back(line.substr(start));
  PasswdEntry e;
  if (!valid_user(f[0])) return invalid("bad user name");
  e.user = std::string(f[0]);
  if (f.size() > 1 && !f[1].empty()) {
    auto pw = parse_stored_password(f[1]);
    if (!pw) return pw.take_error();
    e.password = std::move(*pw);
  }
  std::string_view uid = f.size() > 2 ? f[2] : "";
  std::string_view gid = f.size() > 3 ? f[3] : "";
  if (!id_matches(uid, ids.uid, ids.user_name))
    return invalid(strf("uid %.*s is not the vmail account (%s, uid %lld): every user maps to it", (int)uid.size(),
                        uid.data(), ids.user_name.c_str(), (long long)ids.uid));
  if (!id_matches(gid, ids.gid, ids.group_name))
    return invalid(strf("gid %.*s is not the vmail group (%s, gid %lld): every user maps to it", (int)gid.size(),
                        gid.data(), ids.group_name.c_str(), (long long)ids.gid));
  e.uid = ids.uid;
  e.gid = ids.gid;
  if (f.size() > 5 && !f[5].empty()) {
    std::string_view home = f[5];
    if (home[0] == '/') e.home = std::string(home);
    else if (!home_base.empty()) e.home = home_base + "/" + std::string(home);
    else return invalid("relative home " + std::string(home) + " and virtual_mailbox_base is empty");
  }
  if (f.size() > 7) {
    auto extra = split_any(f[7], " ");
    if (extra.size() > limits.max_extra_fields) return invalid("too many extra fields");
    for (auto field : extra) {
      size_t eq = field.find('=');
      std::string name(field.substr(0, eq));
      std::string value(eq == std::string_view::npos ? "" : field.substr(eq + 1));
      if (name.empty()) return invalid("extra field without a name");
      if (name.rfind("userdb_", 0) == 0) {
        name.erase(0, 7);
        if (name.empty()) return invalid("extra field userdb_ without a name");
        // uid and gid come from the fixed fields: an override would escape
        // the vmail rule.
        if (name == "uid" || name == "gid") return invalid("userdb_" + name + " is not allowed: every user maps to vmail");
        e.userdb_fields.emplace_back(std::move(name), std::move(value));
      } else {
        e.passdb_fields.emplace_back(std::move(name), std::move(value));
      }
    }
  }
  return e;
}

std::string group_name(gid_t gid) {
  struct group gr {};
  struct group* out = nullptr;
  std::vector<char> buf(16384);
  if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &out) != 0 || !out) return "";
  return out->gr_name;
}

}  // namespace

Result<VmailIds> vmail_ids_for(const std::string& vmail_owner) {
  VmailIds ids;
  struct passwd pw {};
  struct passwd* out = nullptr;
  std::vector<char> buf(16384);
  if (::geteuid() == 0) {
    int rc = getpwnam_r(vmail_owner.c_str(), &pw, buf.data(), buf.size(), &out);
    if (rc != 0) return sys_error("getpwnam " + vmail_owner, rc);
    if (!out) return make_error(Errc::kNotFound, "vmail_owner " + vmail_owner + ": no such user");
    ids.uid = out->pw_uid;
    ids.gid = out->pw_gid;
    ids.user_name = out->pw_name;
  } else {
    ids.uid = ::getuid();
    ids.gid = ::getgid();
    if (getpwuid_r(ids.uid, &pw, buf.data(), buf.size(), &out) == 0 && out) ids.user_name = out->pw_name;
  }
  ids.group_name = group_name(ids.gid);
  return ids;
}

bool PasswdEntry::has_passdb_field(std::string_view name) const {
  for (const auto& [k, v] : passdb_fields)
    if (k == name) return true;
  return false;
}

Result<PasswdFile> PasswdFile::parse(std::string_view text, const std::string& filename, const VmailIds& ids,
                                     const std::string& home_base, std::vector<std::string>* warnings,
                                     const PasswdLimits& limits) {
  if (text.size() > limits.max_file_bytes) return make_error(Errc::kLimit, filename + ": file too large");
  PasswdFile out;
  auto warn = [&](int line, const std::string& why) {
    if (warnings) warnings->push_back(strf("%s:%d: %s", filename.c_str(), line, why.c_str()));
  };
  int lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    lineno++;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (line.size() > limits.max_line) {
      warn(lineno, strf("line longer than %zu bytes: entry refused", limits.max_line));
      continue;
    }
    auto e = parse_line(line, ids, home_base, limits);
    if (!e) {
      warn(lineno, e.error().text + ": entry refused");
      continue;
    }
    std::string key = to_lower(e->user);
    if (auto it = out.index_.find(key); it != out.index_.end()) {
      warn(lineno, strf("duplicate user %s (first at line %d): entry refused", e->user.c_str(),
                        out.entries_[it->second].line));
      continue;
    }
    if (out.entries_.size() >= limits.max_users)
      return make_error(Errc::kLimit, strf("%s:%d: more than %zu users", filename.c_str(), lineno, limits.max_users));
    if (e->password && e->password->scheme == Scheme::kPlain)
      warn(lineno, "password of " + e->user + " is stored in {PLAIN}: hash it (ARGON2ID)");
    e->line = lineno;
    out.index_.emplace(std::move(key), out.entries_.size());
    out.entries_.push_back(std::move(*e));
  }
  return out;
}

Result<PasswdFile> PasswdFile::load(const std::string& path, const VmailIds& ids, const std::string& home_base,
                                    std::vector<std::string>* warnings, const PasswdLimits& limits) {
  auto text = read_file(path, limits.max_file_bytes);
  if (!text) return text.take_error();
  return parse(*text, path, ids, home_base, warnings, limits);
}

const PasswdEntry* PasswdFile::find(std::string_view user) const {
  auto it = index_.find(to_lower(user));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

}  // namespace tern::auth
