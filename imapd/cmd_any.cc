// The commands valid in any state (RFC 3501 6.1): CAPABILITY, NOOP,
// LOGOUT; and those of the extensions that need no mailbox: ID (RFC
// 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342).

#include "common/base/log.h"
#include "imapd/session_impl.h"

namespace tern::imapd {

void SessionImpl::cmd_capability(const Command& c) {
  write("* CAPABILITY " + std::string(capabilities()) + "\r\n");
  done(c, Condition::kOk, "Capability completed.");
}

// NOOP (RFC 3501 6.1.2) is how clients poll: the selected folder is
// synced first (unless inotify proves nothing changed: folder_cache.h), so
// the untagged updates are fresh.
void SessionImpl::cmd_noop(const Command& c) {
  if (!selected_) return done(c, Condition::kOk, "NOOP completed.");
  SharedFolder* sf = selected_->folder.get();
  sf->run([sf](store::Folder& f) { (void)sf->sync_if_changed(f); },
          guard([this, c] { done(c, Condition::kOk, "NOOP completed."); }));
}

// RFC 3501 6.1.3: BYE first, then the tagged OK, then the server closes.
void SessionImpl::cmd_logout(const Command& c) {
  write("* BYE Logging out\r\n");
  tagged(c, Condition::kOk, {}, "Logout completed.");
  running_ = false;
  close_after_output();
}

// RFC 2971: the client's fields are logged (bounded), ours are few.
void SessionImpl::cmd_id(const Command& c) {
  if (c.args.size() != 1 || !(c.args[0].is_list() || c.args[0].is_nil()))
    return bad(c, "Error in IMAP command ID: Invalid arguments.");
  const auto& l = c.args[0].list;
  if (l.size() % 2 != 0 || l.size() > 60) return bad(c, "Error in IMAP command ID: Invalid arguments.");
  std::string fields;
  for (size_t i = 0; i + 1 < l.size(); i += 2) {
    auto k = l[i].as_string();
    auto v = l[i + 1].as_string();
    if (!k) return bad(c, "Error in IMAP command ID: Invalid arguments.");
    if (!fields.empty()) fields += ", ";
    fields += imap::sanitize_text(std::string(k->substr(0, 30)) + "=" + std::string(v ? v->substr(0, 100) : "NIL"));
  }
  if (!fields.empty()) log::info("imap(%s): ID sent: %s", user_.user.c_str(), fields.substr(0, 512).c_str());
  write("* ID (\"name\" \"Tern\")\r\n");
  done(c, Condition::kOk, "ID completed.");
}

// RFC 5161: nothing this version has needs enabling (CONDSTORE, QRESYNC
// and UTF8=ACCEPT are a later issue), so ENABLED lists nothing.
void SessionImpl::cmd_enable(const Command& c) {
  if (c.args.empty()) return bad(c, "Error in IMAP command ENABLE: Missing arguments.");
  for (const auto& a : c.args)
    if (!a.is_atom()) return bad(c, "Error in IMAP command ENABLE: Invalid arguments.");
  write("* ENABLED\r\n");
  done(c, Condition::kOk, "Enabled.");
}

// RFC 2342: one personal namespace, "" with "/" as the separator.
void SessionImpl::cmd_namespace(const Command& c) {
  write("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  done(c, Condition::kOk, "Namespace completed.");
}

}  // namespace tern::imapd
