#include "smtp-client/session_cache.h"

namespace tern::smtp_client {

SessionCache::~SessionCache() { close_all(); }

std::unique_ptr<Session> SessionCache::take(const std::string& key) {
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if (it->second.key != key) continue;
    auto s = std::move(it->second.session);
    idle_.erase(std::next(it).base());
    s->set_on_broken(nullptr);
    if (s->usable()) return s;
    retire(std::move(s));
    return nullptr;
  }
  return nullptr;
}

void SessionCache::put(const std::string& key, std::unique_ptr<Session> s, Duration idle_limit) {
  if (stopping_ || idle_limit.count() <= 0 || !s->usable()) return retire(std::move(s));
  uint64_t id = next_id_++;
  Entry& e = idle_[id];
  e.key = key;
  e.session = std::move(s);
  e.session->set_on_broken([this, id] { idle_.erase(id); });
  e.timer = event::Timer(loop_, [this, id] {
    auto it = idle_.find(id);
    if (it == idle_.end()) return;
    auto s = std::move(it->second.session);
    idle_.erase(it);  // destroys this timer: safe from inside its callback (loop.h)
    s->set_on_broken(nullptr);
    retire(std::move(s));
  });
  e.timer.start(idle_limit);
}

void SessionCache::retire(std::unique_ptr<Session> s) {
  if (!s) return;
  uint64_t id = next_id_++;
  Session* raw = s.get();
  quitting_[id] = std::move(s);
  raw->quit([this, id] { quitting_.erase(id); });
}

void SessionCache::quit_all() {
  stopping_ = true;
  auto all = std::move(idle_);
  idle_.clear();
  for (auto& [id, e] : all) {
    e.timer = event::Timer();
    e.session->set_on_broken(nullptr);
    retire(std::move(e.session));
  }
}

void SessionCache::close_all() {
  stopping_ = true;
  for (auto& [id, e] : idle_) {
    e.timer = event::Timer();
    if (e.session) e.session->close_now();
  }
  idle_.clear();
  for (auto& [id, s] : quitting_) s->close_now();
  quitting_.clear();
}

}  // namespace tern::smtp_client
