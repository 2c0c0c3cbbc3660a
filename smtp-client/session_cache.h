#pragma once
// Sessions kept open after a delivery, for the next request to the same
// next hop from any qmgr connection of this process (Postfix's connection
// cache, per process). Keyed by protocol and nexthop ("lmtp
// unix:private/deliver"). An idle session stays at most its
// *_connection_cache_time_limit, is given back only while usable() (reuse
// count and time limits), and leaves with QUIT; one the server closes while
// idle is dropped at once.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/event/loop.h"
#include "smtp-client/session.h"

namespace tern::smtp_client {

class SessionCache {
 public:
  explicit SessionCache(event::Loop& loop) : loop_(loop) {}
  ~SessionCache();

  // The most recently cached usable session for key, or null.
  std::unique_ptr<Session> take(const std::string& key);
  // Keeps s for idle_limit, or sends it off with QUIT when it cannot be
  // reused (or idle_limit is 0).
  void put(const std::string& key, std::unique_ptr<Session> s, Duration idle_limit);
  // QUIT and forget a session.
  void retire(std::unique_ptr<Session> s);
  // Graceful stop: QUIT every idle session; nothing is cached afterwards.
  void quit_all();
  // The loop ends: close everything now.
  void close_all();
  size_t idle() const { return idle_.size(); }

 private:
  struct Entry {
    std::string key;
    std::unique_ptr<Session> session;
    event::Timer timer;
  };
  event::Loop& loop_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::map<uint64_t, Entry> idle_;
  std::map<uint64_t, std::unique_ptr<Session>> quitting_;
};

}  // namespace tern::smtp_client
