#pragma once
// pickup's work (pickup(8)): every file in maildrop/ is checked, passed
// through the cleanup step into incoming/, and only then removed.
//
// One file, in this order (pickup_file, blocking: it runs on the worker pool):
//   1. read it as a queue file (common/queue/qfile_reader.h); the owner is
//      taken from fstat(2) of the open descriptor;
//   2. check_maildrop() (common/queue/maildrop.h): the recorded uid is the
//      owner and nothing trusted is claimed; local_login_sender_maps allows
//      the sender for the recorded login;
//   3. the cleanup step, with the trace header Postfix writes for local mail
//      ("Received: by host (Tern, from userid 1000)"), Message-ID: and Date:
//      when missing, aliases expanded, duplicates removed, addresses without
//      a domain qualified with myorigin;
//   4. the queue file is made durable in incoming/ (tmp/, fsync, rename,
//      fsync of incoming/); only then is the maildrop file unlinked and
//      maildrop/ fsynced. A crash between 4 and the unlink gives a duplicate,
//      never a loss.
// A file that fails 1 or 2 moves to corrupt/ with a warning naming the
// reason: kept, never deleted. A recipient that can never be delivered (an
// alias loop, an alias to programs or files only), or every recipient of a
// message the cleanup step refuses for good (too big, too many hops), is
// bounced: a failure notice goes to the sender (bounces.h) and the other
// recipients get the message, as Postfix does; the sendmail caller is long
// gone and would never hear of a file kept in corrupt/. A temporary failure
// (a table, a full disk) leaves it in maildrop/ for the next scan.
//
// Log lines, as Postfix's pickup writes them:
//   QUEUEID: uid=1000 from=<user>
// for a bounced recipient (ID: the maildrop file's):
//   ID: to=<bob@example.org>, relay=none, delay=0, dsn=5.4.6, status=bounced (REASON)
//   ID: sender non-delivery notification: NOTICEID
// and, for a refused file:
//   warning: maildrop/ID: uid=1000: refused (REASON): moved to corrupt/

#include <string>

#include "common/base/clock.h"
#include "common/event/worker_pool.h"
#include "common/queue/queue_id.h"
#include "pickup/settings.h"

namespace tern::pickup {

enum class Outcome {
  kQueued,   // in incoming/, maildrop file removed
  kBounced,  // every recipient undeliverable: the failure notice queued, maildrop file removed
  kCorrupt,  // moved to corrupt/
  kRetry,    // left in maildrop/ (temporary failure)
  kGone,     // no longer there (another pickup took it)
};

Outcome pickup_file(const Settings& settings, const std::string& id, queue::QueueIdGenerator& ids, Clock& clock);

// A file terndrop left unfinished (maildrop/ID.tmp, older than a day: its
// terndrop was killed) moves to corrupt/ID with a warning. Blocking.
void sweep_unfinished(const Settings& settings, Clock& clock);

// Every file in maildrop/, oldest first, after sweep_unfinished(). Blocking.
struct ScanCounts {
  int queued = 0, bounced = 0, corrupt = 0, retry = 0;
};
ScanCounts pickup_all(const Settings& settings, queue::QueueIdGenerator& ids, Clock& clock);

// Scans on the worker pool, one at a time; a request during a scan makes one
// more scan after it (wake-ups coalesce).
class Scanner {
 public:
  Scanner(event::WorkerPool& pool, const Settings& settings, queue::QueueIdGenerator& ids, Clock& clock)
      : pool_(pool), settings_(settings), ids_(ids), clock_(clock) {}
  void request_scan();

 private:
  event::WorkerPool& pool_;
  const Settings& settings_;
  queue::QueueIdGenerator& ids_;
  Clock& clock_;
  bool running_ = false;
  bool again_ = false;
};

}  // namespace tern::pickup
