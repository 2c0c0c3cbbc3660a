// The folder tree (RFC 3501 6.3): CREATE, DELETE, RENAME, SUBSCRIBE,
// UNSUBSCRIBE, LIST, LSUB, STATUS. The tree itself is
// common/store/mailbox_list.h (names, attributes, SPECIAL-USE, patterns);
// every call to it runs on the worker pool.

#include "common/base/log.h"
#include "common/imap/mailbox_name.h"
#include "common/store/mailbox_list.h"
#include "common/store/subscriptions.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

// RFC 5530 response codes for the mailbox list's errors (mailbox_list.h).
std::string_view code_of(const Error& e) {
  if (store::already_exists(e)) return "ALREADYEXISTS";
  switch (e.code) {
    case Errc::kNotFound: return "NONEXISTENT";
    case Errc::kInvalid: return "CANNOT";
    case Errc::kLimit: return "LIMIT";
    case Errc::kTemporary: return "INUSE";
    default: return "SERVERBUG";
  }
}

}  // namespace

std::optional<std::string> SessionImpl::mailbox_arg(const Command& c, size_t index) {
  if (index >= c.args.size() || !c.args[index].is_astring()) {
    bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
    return std::nullopt;
  }
  auto name = imap::parse_mailbox(c.args[index]);
  if (!name) {
    no(c, "CANNOT", "Invalid mailbox name: " + imap::sanitize_text(name.error().text));
    return std::nullopt;
  }
  return std::move(*name);
}

Result<std::string> SessionImpl::folder_dir(std::string_view name) const {
  auto canon = store::canonical_mailbox_name(name);
  if (!canon) return canon.take_error();
  return store::mailbox_path(maildir_, *canon);
}

// Answers a finished mailbox-list operation.
static void answer(SessionImpl& s, const Command& c, const Status& st, std::string_view ok, std::string_view what) {
  if (st) return s.done(c, Condition::kOk, ok);
  const Error& e = st.error();
  std::string_view code = code_of(e);
  if (code == "SERVERBUG") {
    log::warning("imap(%s): %s: %s", s.user().user.c_str(), std::string(what).c_str(), e.text.c_str());
    return s.no(c, code, "Internal error occurred. Refer to server log for more information.");
  }
  s.no(c, code, imap::sanitize_text(e.text));
}

void SessionImpl::cmd_create(const Command& c) {
  if (c.args.size() != 1) return bad(c, "Error in IMAP command CREATE: Invalid arguments.");
  auto name = mailbox_arg(c, 0);
  if (!name) return;
  auto st = std::make_shared<Status>();
  imapd_.workers().submit([st, md = maildir_, n = *name] { *st = store::MailboxList(md).create(n); },
                          guard([this, c, st] { answer(*this, c, *st, "Create completed.", "CREATE"); }));
}

void SessionImpl::cmd_delete(const Command& c) {
  if (c.args.size() != 1) return bad(c, "Error in IMAP command DELETE: Invalid arguments.");
  auto name = mailbox_arg(c, 0);
  if (!name) return;
  auto st = std::make_shared<Status>();
  imapd_.workers().submit(
      [st, md = maildir_, n = *name, quota = quota_] {
        *st = store::MailboxList(md).remove(n);
        if (*st) quota.recount();  // its messages left the store: no delta says how many
      },
      guard([this, c, st] { answer(*this, c, *st, "Delete completed.", "DELETE"); }));
}

void SessionImpl::cmd_rename(const Command& c) {
  if (c.args.size() != 2) return bad(c, "Error in IMAP command RENAME: Invalid arguments.");
  auto from = mailbox_arg(c, 0);
  if (!from) return;
  auto to = mailbox_arg(c, 1);
  if (!to) return;
  auto st = std::make_shared<Status>();
  imapd_.workers().submit([st, md = maildir_, f = *from, t = *to] { *st = store::MailboxList(md).rename(f, t); },
                          guard([this, c, st] { answer(*this, c, *st, "Rename completed.", "RENAME"); }));
}

void SessionImpl::cmd_subscribe(const Command& c, bool subscribe) {
  if (c.args.size() != 1) return bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
  auto name = mailbox_arg(c, 0);
  if (!name) return;
  auto st = std::make_shared<Status>();
  imapd_.workers().submit(
      [st, md = maildir_, n = *name, subscribe] {
        auto canon = store::canonical_mailbox_name(n);
        if (!canon) *st = canon.take_error();
        else *st = store::set_subscribed(md, *canon, subscribe);
      },
      guard([this, c, st, subscribe] {
        answer(*this, c, *st, subscribe ? "Subscribe completed." : "Unsubscribe completed.", c.name);
      }));
}

// LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with the attributes of RFC 3348
// (CHILDREN) and RFC 6154 (SPECIAL-USE).
void SessionImpl::cmd_list(const Command& c, bool lsub) {
  if (c.args.size() != 2 || !c.args[0].is_astring() || !c.args[1].is_astring())
    return bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
  auto ref = imap::parse_list_pattern(c.args[0]);
  auto pat = imap::parse_list_pattern(c.args[1]);
  if (!ref || !pat) return no(c, "CANNOT", "Invalid mailbox name.");
  if (pat->empty()) {
    // RFC 3501 6.3.8: the hierarchy delimiter and the root of the name.
    if (!lsub) write("* LIST (\\Noselect) \"/\" \"\"\r\n");
    return done(c, Condition::kOk, lsub ? "Lsub completed." : "List completed.");
  }
  auto entries = std::make_shared<Result<std::vector<store::MailboxEntry>>>(std::vector<store::MailboxEntry>{});
  imapd_.workers().submit(
      [entries, md = maildir_, r = *ref, p = *pat, lsub] {
        store::MailboxList list(md);
        store::MailboxPattern pattern(r, p);
        *entries = lsub ? list.lsub(pattern) : list.list(pattern);
      },
      guard([this, c, entries, lsub] {
        if (!*entries) return answer(*this, c, entries->error(), "", c.name);
        std::string out;
        for (const auto& e : **entries) {
          out += lsub ? "* LSUB (" : "* LIST (";
          out += store::format_mailbox_attrs(e.attrs, false);
          out += ") \"/\" ";
          out += imap::format_mailbox(e.name);
          out += "\r\n";
        }
        write(out);
        done(c, Condition::kOk, lsub ? "Lsub completed." : "List completed.");
      }));
}

// STATUS (RFC 3501 6.3.10): counted from the folder's snapshot after a
// sync, through the process's shared folder object.
void SessionImpl::cmd_status(const Command& c) {
  if (c.args.size() != 2 || !c.args[1].is_list() || c.args[1].list.empty())
    return bad(c, "Error in IMAP command STATUS: Invalid arguments.");
  auto name = mailbox_arg(c, 0);
  if (!name) return;
  std::vector<std::string> items;
  for (const auto& v : c.args[1].list) {
    std::string item = imap::ascii_upper(v.text);
    if (!v.is_atom() || (item != "MESSAGES" && item != "RECENT" && item != "UIDNEXT" && item != "UIDVALIDITY" &&
                         item != "UNSEEN"))
      return bad(c, "Error in IMAP command STATUS: Invalid status item " + imap::sanitize_text(v.text.substr(0, 32)));
    items.push_back(item);
  }
  auto dir = folder_dir(*name);
  if (!dir) return no(c, "NONEXISTENT", "Mailbox doesn't exist: " + imap::sanitize_text(*name));
  auto folder = imapd_.folders().get(*dir);
  auto st = std::make_shared<Status>();
  SharedFolder* sf = folder.get();
  folder->run([st, sf](store::Folder& f) { *st = sf->sync_if_changed(f); },
              guard([this, c, folder, st, items, name = *name] {
                if (!*st || !folder->snapshot()) {
                  if (!*st && st->error().code == Errc::kNotFound)
                    return no(c, "NONEXISTENT", "Mailbox doesn't exist: " + imap::sanitize_text(name));
                  return answer(*this, c, *st ? Status(make_error(Errc::kSystem, "no snapshot")) : *st, "", "STATUS");
                }
                auto snap = folder->snapshot();
                size_t unseen = 0, recent = 0;
                for (const auto& m : snap->messages) {
                  if (!(m.system & store::kFlagSeen)) unseen++;
                  if (m.in_new) recent++;
                }
                std::string out = "* STATUS " + imap::format_mailbox(name) + " (";
                for (size_t i = 0; i < items.size(); ++i) {
                  const auto& it = items[i];
                  if (i) out += " ";
                  out += it + " ";
                  if (it == "MESSAGES") out += std::to_string(snap->messages.size());
                  else if (it == "RECENT") out += std::to_string(recent);
                  else if (it == "UIDNEXT") out += std::to_string(snap->uidnext);
                  else if (it == "UIDVALIDITY") out += std::to_string(snap->uidvalidity);
                  else out += std::to_string(unseen);
                }
                out += ")\r\n";
                write(out);
                done(c, Condition::kOk, "Status completed.");
              }));
}

}  // namespace tern::imapd
