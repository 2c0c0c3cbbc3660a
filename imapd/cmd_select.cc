// SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2), CLOSE (6.4.2), UNSELECT
// (RFC 3691), CHECK (6.4.1); and what every command of the selected state
// shares: the untagged updates of the view (view.h) and sequence sets.

#include <algorithm>

#include "common/base/log.h"
#include "common/imap/mailbox_name.h"
#include "common/store/mailbox_list.h"
#include "imapd/session_impl.h"

namespace tern::imapd {

View::ClaimRecent SessionImpl::recent_claim() {
  if (!selected_ || selected_->readonly) return nullptr;
  // Only messages still in new/ can be recent: once any IMAP session (of
  // this process or another, or another Maildir reader) has seen one, it
  // has usually moved it to cur/.
  std::weak_ptr<SharedFolder> weak = selected_->folder;
  return [weak](const SnapMessage& m) {
    auto f = weak.lock();
    return f && m.in_new && f->claim_recent(m.uid);
  };
}

void SessionImpl::send_updates(bool allow_expunge, bool with_uid) {
  if (!selected_) return;
  std::string out;
  selected_->view.update(selected_->folder->snapshot(), allow_expunge, with_uid, recent_claim(), &out);
  if (!out.empty()) write(out);
}

// A listener of the selected folder: another session, a delivery or a
// Maildir tool changed it. An IDLE-ing client hears of it at once; the
// others at the end of their next command.
void SessionImpl::folder_changed() {
  if (!idle_ || !selected_) return;
  send_updates(true, false);
  flush();
}

bool SessionImpl::need_selected(const Command& c) {
  if (selected_) return true;
  bad(c, "Error in IMAP command " + c.name + ": No mailbox selected.");
  return false;
}

bool SessionImpl::resolve(const Command& c, const imap::SequenceSet& set, bool uid, std::vector<uint32_t>* seqs) {
  const View& v = selected_->view;
  seqs->clear();
  if (uid) {
    for (const auto& r : set.resolve(v.last_uid())) {
      auto it = std::lower_bound(v.messages().begin(), v.messages().end(), r.first,
                                 [](const ViewMessage& m, uint32_t u) { return m.uid < u; });
      for (; it != v.messages().end() && it->uid <= r.last; ++it)
        seqs->push_back(static_cast<uint32_t>(it - v.messages().begin()) + 1);
    }
    return true;
  }
  uint32_t largest = static_cast<uint32_t>(v.size());
  if (largest == 0 || set.max_explicit() > largest) {
    bad(c, "Error in IMAP command " + c.name + ": Invalid messageset");
    return false;
  }
  for (const auto& r : set.resolve(largest))
    for (uint32_t s = r.first; s <= r.last; ++s) seqs->push_back(s);
  return true;
}

// Leaves the selected mailbox; with expunge_deleted (CLOSE of a read-write
// mailbox) the \Deleted messages go first, silently (RFC 3501 6.4.2).
void SessionImpl::unselect(bool expunge_deleted, std::function<void()> then) {
  if (!selected_) return then();
  auto finish_unselect = [this, then = std::move(then)] {
    if (selected_) {
      selected_->folder->unlisten(selected_->listener);
      selected_.reset();
    }
    then();
  };
  if (!expunge_deleted || selected_->readonly) return finish_unselect();
  selected_->folder->run(
      [quota = quota_](store::Folder& f) {
        std::vector<uint32_t> uids;
        for (const auto& m : f.messages())
          if (m.flags.has(store::kFlagDeleted)) uids.push_back(m.uid);
        if (!uids.empty()) {
          auto r = quota.expunge(f, uids);
          if (!r) log::warning("expunge in %s: %s", "CLOSE", r.error().text.c_str());
        }
      },
      guard(std::move(finish_unselect)));
}

void SessionImpl::cmd_select(const Command& c, bool readonly) {
  if (c.args.size() != 1) return bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
  auto name = mailbox_arg(c, 0);
  if (!name) return;
  auto dir = folder_dir(*name);
  if (!dir) return no(c, "NONEXISTENT", "Mailbox doesn't exist: " + imap::sanitize_text(*name));
  // Taken before the unselect, so that re-selecting the same folder keeps
  // the SharedFolder (its view, index and watch) instead of reading it all
  // again.
  auto folder = imapd_.folders().get(*dir);
  // RFC 3501 6.3.1: a SELECT deselects first, without expunging, and a
  // failed SELECT leaves no mailbox selected.
  unselect(false, [] {});
  auto result = std::make_shared<Status>();
  SharedFolder* sf = folder.get();
  folder->run([result, sf](store::Folder& f) { *result = sf->sync_if_changed(f); },
              guard([this, c, readonly, folder, result, name = *name] {
                if (!*result || !folder->snapshot()) {
                  const Error& e = result->error();
                  if (e.code == Errc::kNotFound)
                    return no(c, "NONEXISTENT", "Mailbox doesn't exist: " + imap::sanitize_text(name));
                  log::warning("imap(%s): SELECT %s: %s", user_.user.c_str(), name.c_str(), e.text.c_str());
                  return no(c, e.code == Errc::kTemporary ? "INUSE" : "SERVERBUG",
                            "Internal error occurred. Refer to server log for more information.");
                }
                selected_.emplace();
                selected_->name = name;
                selected_->folder = folder;
                selected_->readonly = readonly;
                selected_->listener = folder->listen(guard([this] { folder_changed(); }));
                auto snap = folder->snapshot();
                selected_->view.reset(snap, recent_claim());
                const View& v = selected_->view;
                std::string flags = folder_flags(*snap);
                std::string out = "* FLAGS (" + flags + ")\r\n";
                if (readonly) out += "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n";
                else out += "* OK [PERMANENTFLAGS (" + flags + " \\*)] Flags permitted.\r\n";
                out += "* " + std::to_string(v.size()) + " EXISTS\r\n";
                out += "* " + std::to_string(v.recent()) + " RECENT\r\n";
                if (uint32_t u = v.first_unseen()) out += "* OK [UNSEEN " + std::to_string(u) + "] First unseen.\r\n";
                out += "* OK [UIDVALIDITY " + std::to_string(snap->uidvalidity) + "] UIDs valid\r\n";
                out += "* OK [UIDNEXT " + std::to_string(snap->uidnext) + "] Predicted next UID\r\n";
                write(out);
                done(c, Condition::kOk, readonly ? "READ-ONLY" : "READ-WRITE",
                     readonly ? "Examine completed." : "Select completed.");
              }));
}

void SessionImpl::cmd_close(const Command& c) {
  if (!c.args.empty()) return bad(c, "Error in IMAP command CLOSE: Invalid arguments.");
  if (!need_selected(c)) return;
  unselect(true, [this, c] { done(c, Condition::kOk, "Close completed."); });
}

void SessionImpl::cmd_unselect(const Command& c) {
  if (!c.args.empty()) return bad(c, "Error in IMAP command UNSELECT: Invalid arguments.");
  if (!need_selected(c)) return;
  unselect(false, [this, c] { done(c, Condition::kOk, "Unselect completed."); });
}

// CHECK (RFC 3501 6.4.1): flags and UIDs are durable when each command
// returns, so a checkpoint is a sync.
void SessionImpl::cmd_check(const Command& c) {
  if (!c.args.empty()) return bad(c, "Error in IMAP command CHECK: Invalid arguments.");
  if (!need_selected(c)) return;
  SharedFolder* sf = selected_->folder.get();
  sf->run([sf](store::Folder& f) { (void)sf->sync_if_changed(f); },
          guard([this, c] { done(c, Condition::kOk, "Check completed."); }));
}

}  // namespace tern::imapd
