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
//
// Each full scan may also bring deferred messages back into active/: those
// whose next attempt (the file's mtime, backoff.h) has come
// (queue_run_delay, start-up), or every one of them (ternqueue -f), so a
// deferred message is never moved by two parties at once (scans are
// serialized).
//
// The active set is bounded (qmgr_message_active_limit): a scan takes at
// most the room left, new mail first, and says when files were left
// behind; the next scan comes when a message leaves (Scheduler::on_room).
// Every message taken in is handed to the scheduler (on_taken); one that
// the administrator took away is dropped from it (on_gone).

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/clock.h"
#include "common/event/worker_pool.h"
#include "qmgr/active_set.h"

namespace tern::qmgr {

enum class DeferredScan { kNone, kDue, kAll };

struct ScanResult {
  std::vector<std::pair<std::string, ActiveEntry>> taken;  // moved into active/ by this scan
  std::map<std::string, FileKey> active;                    // what active/ held at the end
  bool active_listed = false;                               // false: the listing failed
  int returned = 0;                                         // unknown files sent back to incoming/
  bool more = false;                                        // the room ran out before the files did
};

// kIncoming: only take incoming/ in (active_listed stays false).
enum class ScanKind { kFull, kIncoming };

struct ScanOptions {
  ScanKind kind = ScanKind::kFull;
  size_t room = static_cast<size_t>(-1);  // most files to take in
  DeferredScan deferred = DeferredScan::kNone;  // only with kFull
  WallTime now{};  // for kDue: files whose mtime is not after it
  // Also every deferred message with a recipient not yet final in one of
  // these domains (lower case), whatever its next attempt time: ternqueue
  // -s (only with kFull).
  std::set<std::string> sites;
};

// The domain of an address, lower-cased ("" without an "@").
std::string address_domain(std::string_view address);

// One scan, blocking (for the worker pool and for tests). `known`: the IDs
// of the ActiveSet when the scan started.
ScanResult scan_queue(const std::string& queue_dir, const std::set<std::string>& known, const ScanOptions& options);
ScanResult scan_queue(const std::string& queue_dir, const std::set<std::string>& known,
                      ScanKind kind = ScanKind::kFull);

class Incoming {
 public:
  Incoming(event::WorkerPool& pool, std::string queue_dir, ActiveSet& active, Clock& clock = system_clock(),
           size_t active_limit = static_cast<size_t>(-1))
      : pool_(pool), queue_dir_(std::move(queue_dir)), active_(active), clock_(clock), limit_(active_limit) {}
  void request_scan(ScanKind kind = ScanKind::kFull, DeferredScan deferred = DeferredScan::kNone);
  // ternqueue -s: bring back every deferred message for this domain now
  // (a full scan that reads the envelope of each deferred file; Postfix's
  // fast-flush logs would avoid that read, at the cost of a per-site log
  // to keep).
  void request_site(const std::string& domain);
  // A message left the active set: scan again if the last scan left files.
  void room_freed();
  int moved() const { return moved_; }

  std::function<void(const std::string& id, const ActiveEntry& entry)> on_taken;
  std::function<void(const std::string& id)> on_gone;

 private:
  void scan_done(ScanResult result, ScanKind kind, DeferredScan deferred);

  event::WorkerPool& pool_;
  std::string queue_dir_;
  ActiveSet& active_;
  Clock& clock_;
  size_t limit_;
  bool running_ = false;
  bool again_ = false;
  bool again_full_ = false;
  DeferredScan again_deferred_ = DeferredScan::kNone;
  std::set<std::string> sites_;  // for the next full scan
  bool more_ = false;
  ScanKind more_kind_ = ScanKind::kIncoming;
  DeferredScan more_deferred_ = DeferredScan::kNone;
  int moved_ = 0;
};

}  // namespace tern::qmgr
