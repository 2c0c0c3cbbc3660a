#pragma once
// Retry timing for deferred messages, computed from the clock (clock.h) so
// tests can move time.
//
// The next attempt comes after the message's age, bounded below by
// minimal_backoff_time and above by maximal_backoff_time. Each retry
// therefore roughly doubles the age (300s, 600s, 1200s, 2400s, then every
// 4000s with the defaults): exponential backoff that needs no attempt
// counter in the queue file, because the age is in it (ARRIVAL).
//
// The time of the next attempt is kept as the modification time of the
// file in deferred/, as Postfix does: it survives restarts, costs no write
// to the file, and the deferred/ scan decides with one stat per file.
//
// A message is expired when it has been in the queue longer than
// maximal_queue_lifetime (bounce_queue_lifetime for a message from the null
// sender, i.e. a bounce): its remaining recipients are then returned to the
// sender as failed.

#include "common/base/clock.h"

namespace tern::qmgr {

struct BackoffSettings {
  Duration minimal = std::chrono::seconds(300);
  Duration maximal = std::chrono::seconds(4000);
  Duration queue_lifetime = std::chrono::hours(24 * 5);
  Duration bounce_lifetime = std::chrono::hours(24 * 5);
};

// How long to wait before the next attempt of a message that arrived at
// `arrival` and was deferred at `now`.
Duration backoff_delay(WallTime arrival, WallTime now, const BackoffSettings& s);

// True when the message is past its lifetime at `now`.
bool expired(WallTime arrival, WallTime now, bool from_null_sender, const BackoffSettings& s);

}  // namespace tern::qmgr
