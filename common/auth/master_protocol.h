#pragma once
// Dovecot's auth-master protocol, as authd serves it on private/userdb (for
// lmtp-deliver and imapd, or Dovecot/Postfix tools that speak it). Lines end
// in LF; fields are TAB-separated and escaped with dovecot_escape.h.
//
// Server, at once on connect:
//   VERSION\t1\t0
//   SPID\t<server pid>
// Client, first: VERSION\t1\t<minor> (the major must be 1). Then:
//   USER\t<id>\t<user>\tservice=<s>[\t<name>=<value>...]
//       -> USER\t<id>\t<user>\thome=<home>\tuid=<uid>\tgid=<gid>[\t<userdb field>...]
//        | NOTFOUND\t<id>
//        | FAIL\t<id>[\treason=<text>]
//   REQUEST\t<id>\t<client pid>\t<client id>\t<cookie hex>[\t<params>]
//       confirms a login finished with OK on an auth client connection of
//       this process whose CPID is <client pid> and whose COOKIE was
//       <cookie>; <client id> is that AUTH's id. Each login is confirmed at
//       most once. -> the USER reply for the logged-in user, or FAIL\t<id>.
// Unknown commands and broken lines close the connection (as Dovecot does).

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/base/result.h"

namespace tern::auth {

constexpr unsigned kMasterMajor = 1;
constexpr unsigned kMasterMinor = 0;
constexpr size_t kMasterMaxLine = 8192;

std::string format_master_handshake(long spid);

struct MasterVersion {
  unsigned major = 0;
  unsigned minor = 0;
};
struct UserCommand {
  unsigned id = 0;
  std::string user;
  std::string service;
  std::vector<std::pair<std::string, std::string>> params;
};
struct RequestCommand {
  unsigned id = 0;
  unsigned client_pid = 0;
  unsigned client_id = 0;
  std::string cookie_hex;
  std::vector<std::pair<std::string, std::string>> params;
};
using MasterCommand = std::variant<MasterVersion, UserCommand, RequestCommand>;

Result<MasterCommand> parse_master_line(std::string_view line);

// USER\t<id>\t<user>\t<k>=<v>...
std::string format_user_reply(unsigned id, std::string_view user,
                              const std::vector<std::pair<std::string, std::string>>& fields);
std::string format_notfound(unsigned id);
std::string format_master_fail(unsigned id, std::string_view reason = {});

}  // namespace tern::auth
