#pragma once
// Dovecot's auth client protocol (what Postfix's smtpd_sasl_type = dovecot
// and Dovecot's login processes speak), as authd serves it on private/auth
// and login/auth. Lines end in LF; fields are TAB-separated and escaped with
// dovecot_escape.h. Byte for byte:
//
// Server, at once on connect:
//   VERSION\t1\t2
//   MECH\tPLAIN\tplaintext          one line per mechanism, then its flags
//   MECH\tLOGIN\tplaintext
//   SPID\t<server pid>
//   CUID\t<connection number, unique in this process>
//   COOKIE\t<32 hex digits: 16 random bytes of this connection>
//   DONE
// Client, first:
//   VERSION\t1\t<minor>             the major must be 1
//   CPID\t<client pid>              non-zero
// Then, any number interleaved (ids are the client's, unique among its
// requests in flight):
//   AUTH\t<id>\t<mech>\tservice=<s>[\t<name>[=<value>]...][\tresp=<base64>]
//       known: service (required), lip, rip, lport, rport, secured, nologin,
//       valid-client-cert, session, local_name, ...; resp must be last.
//   CONT\t<id>\t<base64>            only after a CONT from the server
//   CANCEL\t<id>
//   REQUEST\t<id>\t<client pid>\t<client id>\t<cookie hex>
//       Tern's extension, on login/auth only in practice: imapd confirms a
//       login that imap-login finished on another connection of this same
//       process (the auth-master REQUEST of master_protocol.h, answered the
//       same way: USER\t<id>\t<user>\t<fields> or FAIL\t<id>). It lives
//       here because only the process that did the login can confirm it,
//       and master.cf's login/auth is its own authd service (maxproc 1), not
//       the one behind private/userdb. authd answers it only to a peer
//       running as vmail_owner (or root), never to imap-login's account.
// Server replies:
//   OK\t<id>\tuser=<user>[\t<field>...]
//   CONT\t<id>\t<base64 challenge>  (may be empty)
//   FAIL\t<id>[\treason=<text>][\tuser=<user>][\ttemp]...
// A line that breaks the protocol (unknown command, broken AUTH, duplicate
// id, parameters after resp) closes the connection, as Dovecot does.
//
// Postfix (src/xsasl/xsasl_dovecot_server.c) sends "VERSION\t1\t0" and
// "CPID", reads until DONE, keeps MECH lines without the "private" flag,
// sends "AUTH\t<n>\t<mech>\tservice=smtp\tnologin\tlip=..\trip=..[\tsecured]
// [\tresp=..]", and reads OK/CONT/FAIL with its id, taking user= from OK and
// reason= from FAIL.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/auth/master_protocol.h"
#include "common/base/result.h"

namespace tern::auth {

constexpr unsigned kClientMajor = 1;
constexpr unsigned kClientMinor = 2;
// Dovecot's AUTH_CLIENT_MAX_LINE_LENGTH is 16 KiB; SASL data in a line is
// base64, bounded by kMaxSaslBase64 below it.
constexpr size_t kClientMaxLine = 16384;
constexpr size_t kMaxSaslBase64 = 8192;
constexpr size_t kMaxFields = 64;

struct Mechanism {
  std::string name;
  std::vector<std::string> flags;  // plaintext, anonymous, dictionary, active, forward-secrecy, mutual-auth, private
};

struct HandshakeInfo {
  std::vector<Mechanism> mechanisms;
  long spid = 0;
  unsigned cuid = 0;
  std::string cookie_hex;
};
std::string format_client_handshake(const HandshakeInfo& h);

struct ClientVersion {
  unsigned major = 0;
  unsigned minor = 0;
};
struct ClientCpid {
  unsigned pid = 0;
};
struct AuthCommand {
  unsigned id = 0;
  std::string mech;
  std::string service;
  std::string rip, lip;
  bool secured = false;
  bool nologin = false;
  bool valid_client_cert = false;
  std::optional<std::string> resp;  // base64 as sent ("" allowed: empty response)
  std::vector<std::pair<std::string, std::string>> other;  // unknown parameters, kept for logs
};
struct ContCommand {
  unsigned id = 0;
  std::string data;  // base64
};
struct CancelCommand {
  unsigned id = 0;
};
using ClientCommand = std::variant<ClientVersion, ClientCpid, AuthCommand, ContCommand, CancelCommand, RequestCommand>;

// One line without its LF. Errc::kInvalid (or kLimit) means the peer broke
// the protocol: close the connection.
Result<ClientCommand> parse_client_line(std::string_view line);

std::string format_ok(unsigned id, std::string_view user,
                      const std::vector<std::pair<std::string, std::string>>& fields = {});
std::string format_cont(unsigned id, std::string_view base64);
struct FailReply {
  std::string reason;  // "" = none
  std::string user;    // "" = none
  bool temp = false;
};
std::string format_fail(unsigned id, const FailReply& f);

// Parses an unsigned decimal (no sign, no spaces, fits 32 bits).
std::optional<unsigned> parse_uint(std::string_view s);

}  // namespace tern::auth
