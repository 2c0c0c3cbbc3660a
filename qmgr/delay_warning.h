#pragma once
// Delay warnings (delay_warning_time; 0, the default, turns them off, as in
// Postfix 3): a message still deferred that long after its arrival gets one
// report, DsnKind::kDelay (RFC 3464 Action: delayed, with Will-Retry-Until),
// to its sender, for the recipients that asked for one (RFC 3461 4.1:
// NOTIFY=DELAY, or no NOTIFY at all).
//
// Once per message, across restarts: the recipients reported on are marked
// "delayed" in the queue file (qfile.h: not final, a delay DSN was sent)
// once the report is queued, and a message with a delayed recipient is not
// reported on again. The report is queued durably before the marks are
// written, so a crash between the two may send it twice, never lose it
// (DESIGN.md: duplicates are possible, loss is not). Checked when a pass
// over the message ends with it deferred (qmgr's finish step), as Postfix
// checks it when a message leaves the active queue; never for a message
// from <> (no notices to the null sender) nor one that is expiring (the
// failure report says it all).
//
// Everything but delay_warning_due() blocks: worker pool only.

#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/queue/qfile.h"
#include "common/queue/qfile_reader.h"
#include "qmgr/notices.h"
#include "qmgr/settings.h"

namespace tern::qmgr {

// Is a report due for this message (as loaded at the start of the pass),
// deferred at `now`?
bool delay_warning_due(const queue::Envelope& env, WallTime now, Duration delay_warning_time);

// Queues the report about those of `deferred` that want one; their indexes
// go to `marked` (to be set "delayed"). Returns the report's queue ID, ""
// when none of them wants one, or an error (nothing queued, nothing to
// mark).
Result<std::string> queue_delay_warning(const queue::QfileReader& reader, const std::vector<DeferReason>& deferred,
                                        const Settings& settings, Clock& clock, std::vector<size_t>& marked);

}  // namespace tern::qmgr
