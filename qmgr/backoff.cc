#include "qmgr/backoff.h"

#include <algorithm>

namespace tern::qmgr {

Duration backoff_delay(WallTime arrival, WallTime now, const BackoffSettings& s) {
  Duration age = now - arrival;
  Duration hi = std::max(s.maximal, s.minimal);
  return std::clamp(age, s.minimal, hi);
}

bool expired(WallTime arrival, WallTime now, bool from_null_sender, const BackoffSettings& s) {
  Duration life = from_null_sender ? s.bounce_lifetime : s.queue_lifetime;
  return now - arrival > life;
}

}  // namespace tern::qmgr
