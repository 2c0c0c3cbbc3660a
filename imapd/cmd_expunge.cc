// EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315 2.1): the messages
// with \Deleted go (store::Folder::expunge: unlink, fsync, one MODSEQ);
// the untagged EXPUNGE responses come from the view's update before the
// tagged OK, like those caused by other sessions.

#include <algorithm>

#include "common/base/log.h"
#include "imapd/session_impl.h"

namespace tern::imapd {

void SessionImpl::cmd_expunge(const Command& c) {
  if (!need_selected(c)) return;
  std::vector<uint32_t> only;  // UID EXPUNGE: just these UIDs
  if (c.uid) {
    if (c.args.size() != 1 || !c.args[0].is_atom())
      return bad(c, "Error in IMAP command UID EXPUNGE: Invalid arguments.");
    auto set = imap::parse_sequence_set(c.args[0].text);
    if (!set) return bad(c, "Error in IMAP command UID EXPUNGE: Invalid messageset");
    std::vector<uint32_t> seqs;
    if (!resolve(c, *set, true, &seqs)) return;
    for (uint32_t s : seqs) only.push_back(selected_->view.at(s).uid);
  } else if (!c.args.empty()) {
    return bad(c, "Error in IMAP command EXPUNGE: Invalid arguments.");
  }
  if (selected_->readonly) return no(c, "", "Mailbox is read-only.");
  auto st = std::make_shared<Status>();
  bool uid = c.uid;
  selected_->folder->run(
      [st, uid, only = std::move(only), quota = quota_](store::Folder& f) {
        std::vector<uint32_t> uids;
        for (const auto& m : f.messages()) {
          if (!m.flags.has(store::kFlagDeleted)) continue;
          if (uid && !std::binary_search(only.begin(), only.end(), m.uid)) continue;
          uids.push_back(m.uid);
        }
        if (uids.empty()) return;
        auto r = quota.expunge(f, uids);  // and the user's quota usage
        if (!r) *st = r.take_error();
      },
      guard([this, c, st] {
        if (!*st) {
          log::warning("imap(%s): EXPUNGE: %s", user_.user.c_str(), st->error().text.c_str());
          return no(c, "SERVERBUG", "Internal error occurred. Refer to server log for more information.");
        }
        done(c, Condition::kOk, "Expunge completed.");
      }));
}

}  // namespace tern::imapd
