#pragma once
// ternsuper -s: check the queue's structure and repair it (Postfix's
// postsuper -s), without ever deleting a file. Run it before starting the
// system, or at any time: every step is one rename or one fchown/fchmod, so
// a daemon working meanwhile sees either the old or the new state.
//
// What is checked, in incoming/, active/, hold/, deferred/, defer/ and tmp/
// (maildrop/ is pickup's: it checks its own files; corrupt/ is left as it is):
//
//   a name that is not a queue ID      moved to corrupt/ (editor leftovers,
//                                      copies, anything an administrator put
//                                      there: scans never read it as mail)
//   not a regular file                 moved to corrupt/ (a symbolic link is
//                                      moved, never followed)
//   a message that does not read as    moved to corrupt/ (qmgr would do the
//   a queue file                       same when it met it)
//   a file in the wrong hashed         moved to the right one: deferred/<c>/ID
//   subdirectory, or not in one        and defer/<c>/ID with <c> the ID's hash
//                                      digit (queue_dirs.h); a one-character
//                                      subdirectory of an unhashed queue
//                                      (incoming/7/ID) is emptied into it
//   a file in tmp/ older than          moved to corrupt/: the write it belonged
//   tmp_age (a day)                    to was interrupted long ago
//   a queue file not owned by the      chown (when allowed: root) and chmod
//   queue's owner or not mode 0600     0600, through a descriptor opened with
//                                      O_NOFOLLOW so a swapped-in link is never
//                                      followed
//
// Not checked: that a file's name is the ID it was written under. The queue
// file does not record its own ID (the name is the record), so a file copied
// under another valid ID reads as a valid message; its ARRIVAL time is still
// its own.
//
// A name already taken in corrupt/ gets ".1", ".2", ... appended (renameat2
// with RENAME_NOREPLACE: nothing is ever overwritten). Every move is made
// durable (fsync of both directories). Blocking.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"

namespace tern::queue {

struct RepairOptions {
  uid_t uid = 0;  // the owner queue files must have (that of incoming/)
  gid_t gid = 0;
  bool fix_owner = true;  // chown needs root; a personal instance skips it
  WallTime now{};
  std::chrono::seconds tmp_age{24 * 3600};
};

struct RepairReport {
  // One line per repair, "incoming/foo: not a queue ID; moved to corrupt/foo".
  std::vector<std::string> repairs;
  // Problems left alone, each with the reason ("active/x: a directory; left
  // alone"), and repairs that failed.
  std::vector<std::string> warnings;
};

// Errors only when a queue directory itself cannot be read.
Result<RepairReport> repair_queue(std::string_view queue_dir, const RepairOptions& options);

}  // namespace tern::queue
