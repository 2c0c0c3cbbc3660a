#pragma once
// qmgr's intake: every new message in incoming/ is checked (its envelope
// must read back whole) and moved into active/, durably (one fsync of
// active/ and one of incoming/ per scan, whatever the number of files), with
// the log line
// administrators grep for:
//   ID: from=<sender>, size=1234, nrcpt=2 (queue active)
// and remembered in the ActiveSet (active_set.h). A file that does not read
// back is moved to corrupt/ (kept, never deleted) with a warning. Directory
// scans, reads and renames run on the worker pool.
//
// Each scan also keeps the ActiveSet true to active/:
//  - a file in active/ that qmgr does not know goes back to incoming/ and is
//    taken in again: at start-up that is everything a previous qmgr was
//    working on (as Postfix's qmgr does), later only what someone put there
//    by hand;
//  - an entry whose file left active/ (ternsuper held, requeued or deleted
//    it) is dropped, with the log line
//      ID: no longer in active/ (held, requeued or deleted by the administrator)
//  - released and requeued messages arrive in incoming/ (inotify and
//    ternsuper's wake-up start a scan) and are taken in like new ones.
//
// Wake-ups coalesce: a request during a scan makes one more scan after it.
// A scan started by inotify (new files in incoming/) only takes incoming/ in;
// the rest (start-up, wake-ups, the queue_run_delay fallback) also lists
// active/ as above. Listing and stat-ing every file of a large active/ for
// each burst of new mail made intake cost grow with the queue's size.
// Scheduling and delivery from active/ come with the next issue; until then
// messages wait in active/.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/event/worker_pool.h"
#include "qmgr/active_set.h"

namespace tern::qmgr {

struct ScanResult {
  std::vector<std::pair<std::string, ActiveEntry>> taken;  // moved into active/ by this scan
  std::map<std::string, FileKey> active;                    // what active/ held at the end
  bool active_listed = false;                               // false: the listing failed
  int returned = 0;                                         // unknown files sent back to incoming/
};

// kIncoming: only take incoming/ in (active_listed stays false).
enum class ScanKind { kFull, kIncoming };

// One scan, blocking (for the worker pool and for tests). `known`: the IDs
// of the ActiveSet when the scan started.
ScanResult scan_queue(const std::string& queue_dir, const std::set<std::string>& known,
                      ScanKind kind = ScanKind::kFull);

class Incoming {
 public:
  Incoming(event::WorkerPool& pool, std::string queue_dir, ActiveSet& active)
      : pool_(pool), queue_dir_(std::move(queue_dir)), active_(active) {}
  void request_scan(ScanKind kind = ScanKind::kFull);
  int moved() const { return moved_; }

 private:
  void scan_done(ScanResult result);

  event::WorkerPool& pool_;
  std::string queue_dir_;
  ActiveSet& active_;
  bool running_ = false;
  bool again_ = false;
  bool again_full_ = false;
  int moved_ = 0;
};

}  // namespace tern::qmgr
