#pragma once
// Queue IDs: unique, sortable by arrival time, safe as file names.
// Form: 10 upper-case base-32 digits of microseconds since the epoch, then 6
// digits of a per-process sequence mixed with the pid and random bits
// ("0G3K9QX1ZC" + "AB12CD" → 16 characters of [0-9A-Z] minus I, L, O, U).
// Two generators in different processes never collide: the suffix carries
// the pid; one generator never repeats: a counter breaks ties within a
// microsecond, and the clock is forced monotonic.

#include <string>
#include <string_view>

#include "common/base/clock.h"

namespace tern::queue {

class QueueIdGenerator {
 public:
  explicit QueueIdGenerator(Clock& clock = system_clock());
  std::string next();

 private:
  Clock& clock_;
  long long last_us_ = 0;
  unsigned counter_ = 0;
};

bool is_valid_queue_id(std::string_view id);
// The arrival time encoded in an id (microseconds since the epoch).
long long queue_id_time_us(std::string_view id);

}  // namespace tern::queue
