#include "imapd/view.h"

#include <algorithm>

#include "common/imap/response.h"

namespace tern::imapd {

std::string flag_list(const Snapshot& snap, uint8_t system, uint32_t keywords, bool recent) {
  return imap::format_flag_list(system, snap.keyword_names(keywords), recent);
}

std::string folder_flags(const Snapshot& snap) {
  std::string s = imap::format_flag_list(store::kAllSystemFlags, snap.all_keywords(), false);
  // Without the parentheses: callers add "\*" or "\Recent" as they need.
  return s.substr(1, s.size() - 2);
}

void View::reset(std::shared_ptr<const Snapshot> snap, const ClaimRecent& claim) {
  messages_.clear();
  has_expunged_ = false;
  if (snap) {
    messages_.reserve(snap->messages.size());
    for (const auto& m : snap->messages) {
      ViewMessage v;
      v.uid = m.uid;
      v.system = m.system;
      v.keywords = m.keywords;
      v.recent = claim && claim(m);
      messages_.push_back(v);
    }
  }
  known_ = std::move(snap);
  told_ = messages_.size();
}

bool View::pending(const std::shared_ptr<const Snapshot>& snap) const {
  return has_expunged_ || (snap && snap != known_);
}

void View::update(std::shared_ptr<const Snapshot> snap, bool allow_expunge, bool with_uid, const ClaimRecent& claim,
                  std::string* out) {
  if (!snap) return;
  if (snap != known_) {
    // Merge by UID: both lists are in UID order.
    const auto& now = snap->messages;
    size_t j = 0;
    for (size_t i = 0; i < messages_.size(); ++i) {
      ViewMessage& v = messages_[i];
      while (j < now.size() && now[j].uid < v.uid) ++j;  // not ours (cannot happen: UIDs only grow)
      if (v.expunged) continue;
      if (j >= now.size() || now[j].uid != v.uid) {
        v.expunged = true;
        has_expunged_ = true;
        continue;
      }
      const SnapMessage& m = now[j];
      if (m.system != v.system || m.keywords != v.keywords) {
        v.system = m.system;
        v.keywords = m.keywords;
        *out += "* " + std::to_string(i + 1) + " FETCH (";
        if (with_uid) *out += "UID " + std::to_string(v.uid) + " ";
        *out += "FLAGS " + flag_list(*snap, v.system, v.keywords, v.recent) + ")\r\n";
      }
    }
    // Keyword names changed: the new FLAGS first (RFC 3501 7.2.6).
    if (!known_ || known_->keywords != snap->keywords) {
      std::string flags = folder_flags(*snap);
      *out += "* FLAGS (" + flags + ")\r\n";
      *out += "* OK [PERMANENTFLAGS (" + flags + " \\*)] Flags permitted.\r\n";
    }
    // New messages: UIDs above the last one the view has.
    uint32_t last = last_uid();
    auto from = std::upper_bound(now.begin(), now.end(), last,
                                 [](uint32_t u, const SnapMessage& m) { return u < m.uid; });
    for (auto it = from; it != now.end(); ++it) {
      ViewMessage v;
      v.uid = it->uid;
      v.system = it->system;
      v.keywords = it->keywords;
      v.recent = claim && claim(*it);
      messages_.push_back(v);
    }
    known_ = std::move(snap);
  }
  if (allow_expunge && has_expunged_) {
    // From the highest number down: each number is valid when it is read.
    size_t kept = 0;
    for (size_t i = messages_.size(); i-- > 0;) {
      if (messages_[i].expunged) {
        *out += "* " + std::to_string(i + 1) + " EXPUNGE\r\n";
        if (i < told_) --told_;
      }
    }
    for (auto& m : messages_)
      if (!m.expunged) messages_[kept++] = m;
    messages_.resize(kept);
    has_expunged_ = false;
  }
  if (messages_.size() > told_) {
    *out += "* " + std::to_string(messages_.size()) + " EXISTS\r\n";
    *out += "* " + std::to_string(recent()) + " RECENT\r\n";
  }
  told_ = messages_.size();
}

uint32_t View::seq_of(uint32_t uid) const {
  auto it = std::lower_bound(messages_.begin(), messages_.end(), uid,
                             [](const ViewMessage& m, uint32_t u) { return m.uid < u; });
  if (it == messages_.end() || it->uid != uid) return 0;
  return static_cast<uint32_t>(it - messages_.begin()) + 1;
}

uint32_t View::recent() const {
  uint32_t n = 0;
  for (const auto& m : messages_) n += m.recent ? 1 : 0;
  return n;
}

uint32_t View::first_unseen() const {
  for (size_t i = 0; i < messages_.size(); ++i)
    if (!(messages_[i].system & store::kFlagSeen)) return static_cast<uint32_t>(i + 1);
  return 0;
}

void View::set_flags(uint32_t uid, uint8_t system, uint32_t keywords) {
  uint32_t seq = seq_of(uid);
  if (seq == 0) return;
  messages_[seq - 1].system = system;
  messages_[seq - 1].keywords = keywords;
}

}  // namespace tern::imapd
