#pragma once
// qmgr's intake: every new message in incoming/ is checked (its envelope
// must read back whole) and moved into active/, durably, with the log line
// administrators grep for:
//   ID: from=<sender>, size=1234, nrcpt=2 (queue active)
// A file that does not read back is moved to corrupt/ (kept, never deleted)
// with a warning. Directory scans, reads and renames run on the worker pool.
//
// Wake-ups coalesce: a request during a scan makes one more scan after it.
// Scheduling and delivery from active/ come with the next issue; until then
// messages wait in active/.

#include <string>

#include "common/event/worker_pool.h"

namespace tern::qmgr {

class Incoming {
 public:
  Incoming(event::WorkerPool& pool, std::string queue_dir) : pool_(pool), queue_dir_(std::move(queue_dir)) {}
  void request_scan();
  int moved() const { return moved_; }

 private:
  void scan_done(int moved);

  event::WorkerPool& pool_;
  std::string queue_dir_;
  bool running_ = false;
  bool again_ = false;
  int moved_ = 0;
};

// One scan, blocking (for the worker pool and for tests): returns how many
// messages moved to active/.
int move_incoming(const std::string& queue_dir);

}  // namespace tern::qmgr
