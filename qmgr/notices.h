#pragma once
// The one place where qmgr calls the DSN and defer-log code of common/queue
// (dsn.h: RFC 3464 reports queued through the cleanup step; defer_log.h:
// each recipient's latest diagnostic in defer/). Everything here blocks:
// worker pool only.
//
// Rules (issue 4, RFC 3461): a failure notice is queued durably before the
// recipients it reports on are marked bounced; a success notice (NOTIFY
// SUCCESS, "delivered" or "relayed") before they are marked delivered; never
// a notice to the null sender (common/queue/dsn.h sends a failed bounce to
// double_bounce_recipient instead).

#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/queue/qfile.h"
#include "common/queue/dsn.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_id.h"
#include "qmgr/settings.h"

namespace tern::qmgr {

enum class NoticeKind { kFailure, kSuccess };

struct NoticeRecipient {
  size_t index = 0;
  bool relayed = false;     // success notices: "relayed" rather than "delivered"
  std::string status;       // enhanced status code
  std::string relay;        // the delivery protocol's relay= ("none", a socket, host[addr]:port)
  std::string reason;       // what happened, for people
  std::string reply;        // the remote server's own reply, "" if none
  WallTime last_attempt{};
};

// True when the recipient asked for a notice of this kind (RFC 3461 4.1:
// no NOTIFY means FAILURE and DELAY, never SUCCESS).
bool wants_notice(const queue::Envelope& env, const queue::Recipient& rcpt, NoticeKind kind);

// Queues one notice about these recipients of the message `reader` holds.
// Returns the notice's queue ID, "" when nobody is to be told (the message
// came from <>, or the policy says none), or an error (nothing queued).
Result<std::string> queue_notice(NoticeKind kind, const queue::QfileReader& reader,
                                 const std::vector<NoticeRecipient>& recipients, const Settings& settings,
                                 Clock& clock);

// What every notice of qmgr shares: the DSN settings, and one queue ID
// generator for the process (so two notices never get the same ID).
queue::DsnSettings dsn_settings(const Settings& settings);
queue::QueueIdGenerator& notice_ids(Clock& clock);

// Records each deferred recipient's latest diagnostic in defer/<hash>/ID
// (shown by mailq), and removes that log when the message leaves.
struct DeferReason {
  size_t index = 0;
  std::string address;
  std::string status;
  std::string relay;
  std::string reason;
  std::string reply;
  WallTime time{};
};
Status write_defer_log(const std::string& queue_dir, const std::string& id, const std::vector<DeferReason>& reasons);
Status remove_defer_log(const std::string& queue_dir, const std::string& id);

}  // namespace tern::qmgr
