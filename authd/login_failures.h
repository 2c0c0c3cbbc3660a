#pragma once
// Failed logins counted per client address (the rip= of Dovecot's AUTH
// request), and addresses refused for a while once they fail too often, as
// fail2ban would do it, inside authd:
//
//   - an address that fails `limit` times within `window` (counted from its
//     first failure in the window) is refused for `ban_time`; its requests
//     then fail without a password check, with the same FAIL reply after
//     the same auth_failure_delay, so a refused client learns nothing new
//     and costs no hashing;
//   - a success does not reset the count (one known account must not let
//     an attacker interleave guesses at the others);
//   - requests without rip (local clients) are not counted;
//   - failures during a ban do not extend it.
//
// Memory is bounded: at most `max_entries` addresses, kept in least
// recently failed order; entries whose window and ban have passed are
// dropped first, and when the table is still full the least recently failed
// address is forgotten (under a flood of distinct addresses an old ban can
// end early; the table never grows).
//
// Time comes from the Clock (common/base/clock.h), so tests move it.
// The state lives in one authd process: each master.cf service line runs
// its own processes (auth for smtpd, login/auth for imap-login), and a
// process that restarts (a changed users file, a reload) starts empty.

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/base/clock.h"

namespace tern::authd {

struct FailureLimits {
  unsigned limit = 10;                        // auth_failure_limit; 0 = never refuse
  Duration window = std::chrono::seconds(300);   // auth_failure_window
  Duration ban_time = std::chrono::seconds(600);  // auth_failure_ban_time
  size_t max_entries = 10000;
};

class LoginFailures {
 public:
  static constexpr size_t kMaxAddress = 64;

  LoginFailures(const Clock& clock, FailureLimits limits) : clock_(clock), limits_(limits) {}

  // True while rip is refused.
  bool refused(std::string_view rip);
  // Counts a failure. Returns the number of failures that started a ban
  // when this one did (for the log line), nullopt otherwise.
  std::optional<unsigned> failed(std::string_view rip);

  const FailureLimits& limits() const { return limits_; }
  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string rip;
    MonoTime window_start;  // first failure counted in the current window
    unsigned count = 0;
    MonoTime banned_until;  // in the past when not banned
  };
  using List = std::list<Entry>;

  bool countable(std::string_view rip) const;
  bool stale(const Entry& e, MonoTime now) const;
  void make_room(MonoTime now);

  const Clock& clock_;
  FailureLimits limits_;
  List order_;  // least recently failed first
  std::unordered_map<std::string, List::iterator> index_;
};

}  // namespace tern::authd
