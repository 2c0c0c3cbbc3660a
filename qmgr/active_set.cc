#include "qmgr/active_set.h"

namespace tern::qmgr {

void ActiveSet::add(const std::string& id, ActiveEntry entry) { entries_[id] = std::move(entry); }

const ActiveEntry* ActiveSet::find(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

void ActiveSet::pin(const std::string& id, bool on) {
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.pinned = on;
}

std::set<std::string> ActiveSet::ids() const {
  std::set<std::string> out;
  for (const auto& [id, e] : entries_) out.insert(id);
  return out;
}

std::vector<std::string> ActiveSet::reconcile(const std::map<std::string, FileKey>& present) {
  std::vector<std::string> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto p = present.find(it->first);
    if (!it->second.pinned && (p == present.end() || !(p->second == it->second.file))) {
      gone.push_back(it->first);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

}  // namespace tern::qmgr
