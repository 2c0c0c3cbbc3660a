// CAPABILITY, NOOP, LOGOUT (RFC 3501 6.1) and ID (RFC 2971) before login.

#include "common/base/log.h"
#include "imapd/login/session.h"

namespace tern::imap_login {

void Session::cmd_capability(const imap::Command& c) {
  if (!c.args.empty()) return bad(c.tag, "CAPABILITY takes no arguments");
  reply("* CAPABILITY " + capabilities());
  reply(c.tag + " OK Pre-login capabilities listed, post-login capabilities have more.");
}

void Session::cmd_noop(const imap::Command& c) {
  if (!c.args.empty()) return bad(c.tag, "NOOP takes no arguments");
  reply(c.tag + " OK NOOP completed.");
}

void Session::cmd_logout(const imap::Command& c) {
  if (!c.args.empty()) return bad(c.tag, "LOGOUT takes no arguments");
  reply("* BYE Logging out");
  reply(c.tag + " OK Logout completed.");
  log::debug("Disconnected: Logged out (%s)", client().c_str());
  close_after_reply();
}

// RFC 2971 3.1: ID ( "name" "value" ... ) or ID NIL; the server answers
// with its own list. The client's is logged, bounded.
void Session::cmd_id(const imap::Command& c) {
  if (c.args.size() != 1 || !(c.args[0].is_nil() || c.args[0].is_list()))
    return bad(c.tag, "Syntax: ID ( field value ... ) or ID NIL");
  const imap::Value& v = c.args[0];
  if (v.is_list()) {
    if (v.list.size() % 2 != 0 || v.list.size() > 60) return bad(c.tag, "ID takes at most 30 field-value pairs");
    std::string logged;
    for (size_t i = 0; i + 1 < v.list.size(); i += 2) {
      auto key = v.list[i].as_string();
      if (!key) return bad(c.tag, "ID field names are strings");
      auto value = v.list[i + 1].as_string();
      if (!value && !v.list[i + 1].is_nil()) return bad(c.tag, "ID values are strings or NIL");
      if (logged.size() < 256)
        logged += (logged.empty() ? "" : ", ") + printable(*key) + "=" + (value ? printable(*value) : "NIL");
    }
    if (!logged.empty()) log::debug("ID from %s: %s", client().c_str(), logged.c_str());
  }
  reply("* ID (\"name\" \"Tern\")");
  reply(c.tag + " OK ID completed.");
}

}  // namespace tern::imap_login
