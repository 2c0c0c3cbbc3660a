// Failed logins per client address (login_failures.h).

#include "authd/login_failures.h"

namespace tern::authd {

bool LoginFailures::countable(std::string_view rip) const {
  return limits_.limit > 0 && !rip.empty() && rip.size() <= kMaxAddress;
}

// Nothing left to remember: the window has passed and no ban is running.
bool LoginFailures::stale(const Entry& e, MonoTime now) const {
  return now >= e.banned_until && now - e.window_start >= limits_.window;
}

bool LoginFailures::refused(std::string_view rip) {
  if (!countable(rip)) return false;
  auto it = index_.find(std::string(rip));
  return it != index_.end() && clock_.now() < it->second->banned_until;
}

void LoginFailures::make_room(MonoTime now) {
  // The list is in order of last failure, so stale entries gather at the
  // front; stop at the first live one.
  while (!order_.empty() && stale(order_.front(), now)) {
    index_.erase(order_.front().rip);
    order_.pop_front();
  }
  while (index_.size() >= limits_.max_entries && !order_.empty()) {
    index_.erase(order_.front().rip);
    order_.pop_front();
  }
}

std::optional<unsigned> LoginFailures::failed(std::string_view rip) {
  if (!countable(rip)) return std::nullopt;
  MonoTime now = clock_.now();
  std::string key(rip);
  auto it = index_.find(key);
  if (it == index_.end()) {
    make_room(now);
    order_.push_back(Entry{key, now, 0, MonoTime::min()});
    it = index_.emplace(key, std::prev(order_.end())).first;
  } else {
    // Most recently failed goes to the back.
    order_.splice(order_.end(), order_, it->second);
  }
  Entry& e = *it->second;
  if (now < e.banned_until) return std::nullopt;  // refused already; not extended
  if (now - e.window_start >= limits_.window) {
    e.window_start = now;
    e.count = 0;
  }
  e.count++;
  if (e.count < limits_.limit) return std::nullopt;
  unsigned n = e.count;
  e.banned_until = now + limits_.ban_time;
  // The next window starts when the ban ends.
  e.window_start = e.banned_until;
  e.count = 0;
  return n;
}

}  // namespace tern::authd
