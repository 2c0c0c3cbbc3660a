#pragma once
// What ternsuper(1) does to messages (Postfix's postsuper -d, -h, -H, -r):
//
//   delete    unlink the queue file, then its defer/ log if it has one;
//             default queues: hold, incoming, active, deferred
//   hold      move into hold/, where qmgr never looks;
//             default queues: incoming, active, deferred
//   release   move from hold/ into incoming/;
//             default queue: hold
//   requeue   move into incoming/, so qmgr takes it and routes it afresh;
//             default queues: hold, incoming, active, deferred
//
// Release and requeue both go to incoming/ (Postfix releases into deferred/
// and requeues through maildrop/ and cleanup): qmgr takes incoming/ at once,
// and a released message should not wait out a retry time computed before it
// was held. The file moves unchanged: its recipients keep their status (one
// already delivered is not delivered again) and the cleanup step is NOT run
// again, so aliases are not re-expanded (the file already holds the final
// recipients; a change to alias_maps applies to new mail only). A requeued
// message keeps its defer/ log: its last diagnostics stay true until the next
// attempt replaces them. Every move is a durable rename (rename, then fsync
// of both directories: queue_dirs.h move()); a delete fsyncs the directory.
//
// Racing qmgr. The file system is the truth and every step is one atomic
// rename or unlink, so a message is never lost or duplicated by a race:
//  - ternsuper wins a race for a file it finds: once it has renamed (or
//    unlinked) active/ID, qmgr's next rename or unlink of active/ID fails
//    with ENOENT, and qmgr drops the message from its memory (qmgr/
//    active_set.h). A delivery already running when a message is held or
//    deleted may still complete (as in Postfix); its result is written into
//    the file through qmgr's open descriptor, so a held message keeps the
//    record of what was delivered.
//  - a file that qmgr moves while ternsuper looks for it is followed: the
//    queues are searched again, up to kSearchRounds times, before ternsuper
//    says the message is not there.
// Blocking: ternsuper runs this directly; a daemon would use the worker pool.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/queue/queue_dirs.h"

namespace tern::queue {

enum class AdminOp { kDelete, kHold, kRelease, kRequeue };

inline constexpr int kSearchRounds = 3;

std::vector<Queue> default_admin_queues(AdminOp op);
// The queues an operation may act on at all (an administrator may name
// corrupt/ for a delete, never tmp/, maildrop/ or defer/; release only
// takes from hold/).
bool admin_queue_allowed(AdminOp op, Queue q);

// Applies op to the message `id`, looked for in `queues`. Returns the queue it
// was found in, or Errc::kNotFound.
Result<Queue> admin_one(std::string_view queue_dir, AdminOp op, std::string_view id,
                        const std::vector<Queue>& queues);

// Applies op to every message in `queues` (ALL). `done` receives each
// (queue, ID) acted on; errors on single messages go to `failed` and do not
// stop the rest. Returns how many were acted on; an error only when a queue
// cannot be read.
struct AdminFailure {
  std::string id;
  std::string text;
};
Result<int> admin_all(std::string_view queue_dir, AdminOp op, const std::vector<Queue>& queues,
                      std::vector<std::pair<Queue, std::string>>* done, std::vector<AdminFailure>* failed);

}  // namespace tern::queue
