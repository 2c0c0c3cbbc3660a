#pragma once
// Queue IDs: unique, sortable by arrival time, safe as file names.
//
// Form: 17 characters of Crockford base 32 (digits and upper-case letters
// without I, L, O, U), most significant digit first:
//   11 digits  microseconds since the epoch (55 bits: good until the year
//              3111; 10 digits = 50 bits ran out in 2005)
//    6 digits  30 bits: the pid (22 bits: Linux's pid_max is at most 2^22)
//              above an 8-bit per-microsecond counter
// e.g. "0J2XQ3V5K7A" + "0AB1C0". Fixed width, so string order is time order.
//
// Two processes never collide: their pids differ in the suffix. One generator
// never repeats and its ids strictly increase: the clock is forced monotonic,
// the counter breaks ties within a microsecond, and when 256 ids have used up
// a microsecond the generator borrows the next one. Use one generator per
// process (the cleanup step's): two generators in one process share a pid
// and could repeat each other within a microsecond. next() is thread-safe.
// The queue file is still created with O_EXCL (a pid reused within a
// microsecond of the old process's last id, or a wall clock stepped back
// across a restart, would otherwise go unnoticed).

#include <mutex>
#include <string>
#include <string_view>

#include "common/base/clock.h"

namespace tern::queue {

inline constexpr size_t kQueueIdLength = 17;
inline constexpr size_t kQueueIdTimeDigits = 11;
inline constexpr std::string_view kQueueIdAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

class QueueIdGenerator {
 public:
  explicit QueueIdGenerator(Clock& clock = system_clock());
  // For tests: a fixed pid (below 2^22) instead of getpid() at each call.
  QueueIdGenerator(Clock& clock, unsigned pid);
  std::string next();

 private:
  Clock& clock_;
  unsigned pid_ = 0;  // 0: getpid() at each call, so a forked child uses its own
  std::mutex mu_;
  long long last_us_ = 0;
  unsigned counter_ = 0;
};

bool is_valid_queue_id(std::string_view id);
// The arrival time encoded in an id (microseconds since the epoch), or -1
// when the id is not valid.
long long queue_id_time_us(std::string_view id);

}  // namespace tern::queue
