#include "common/auth/master_protocol.h"

#include "common/auth/client_protocol.h"
#include "common/auth/dovecot_escape.h"
#include "common/base/strings.h"

namespace tern::auth {
namespace {

std::vector<std::pair<std::string, std::string>> params_of(const std::vector<std::string>& f, size_t from) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = from; i < f.size(); i++) {
    size_t eq = f[i].find('=');
    if (eq == std::string::npos) out.emplace_back(f[i], "");
    else out.emplace_back(f[i].substr(0, eq), f[i].substr(eq + 1));
  }
  return out;
}

bool is_hex(std::string_view s) {
  if (s.empty() || s.size() % 2) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

}  // namespace

std::string format_master_handshake(long spid) {
  return strf("VERSION\t%u\t%u\nSPID\t%ld\n", kMasterMajor, kMasterMinor, spid);
}

Result<MasterCommand> parse_master_line(std::string_view line) {
  if (line.size() > kMasterMaxLine) return make_error(Errc::kLimit, "line too long");
  auto fields = split_tab_escaped(line, kMaxFields);
  if (!fields) return fields.take_error();
  const auto& f = *fields;
  if (f[0] == "VERSION") {
    if (f.size() < 3) return invalid("broken VERSION");
    auto major = parse_uint(f[1]), minor = parse_uint(f[2]);
    if (!major || !minor) return invalid("broken VERSION");
    return MasterCommand(MasterVersion{*major, *minor});
  }
  if (f[0] == "USER") {
    if (f.size() < 3) return invalid("broken USER");
    auto id = parse_uint(f[1]);
    if (!id) return invalid("broken USER id");
    UserCommand u;
    u.id = *id;
    u.user = f[2];
    u.params = params_of(f, 3);
    bool have_service = false;
    for (const auto& [k, v] : u.params)
      if (k == "service") {
        u.service = v;
        have_service = true;
      }
    if (!have_service) return invalid("USER without service");
    return MasterCommand(std::move(u));
  }
  if (f[0] == "REQUEST") {
    if (f.size() < 5) return invalid("broken REQUEST");
    auto id = parse_uint(f[1]), pid = parse_uint(f[2]), cid = parse_uint(f[3]);
    if (!id || !pid || !cid || !is_hex(f[4])) return invalid("broken REQUEST");
    return MasterCommand(RequestCommand{*id, *pid, *cid, to_lower(f[4]), params_of(f, 5)});
  }
  return invalid("unknown command");
}

std::string format_user_reply(unsigned id, std::string_view user,
                              const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string t = strf("USER\t%u\t", id) + tab_escape(user);
  for (const auto& [k, v] : fields) t += "\t" + k + "=" + tab_escape(v);
  return t + "\n";
}

std::string format_notfound(unsigned id) { return strf("NOTFOUND\t%u\n", id); }

std::string format_master_fail(unsigned id, std::string_view reason) {
  std::string t = strf("FAIL\t%u", id);
  if (!reason.empty()) t += "\treason=" + tab_escape(reason);
  return t + "\n";
}

}  // namespace tern::auth
