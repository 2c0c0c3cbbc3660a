#pragma once
// Atomic durable file writes: write <dir>/.<name>.tmp.<pid>.<n>, fsync it, rename
// over <dir>/<name>, fsync <dir>. After a crash at any instant the file holds
// either the old content or the new, never a mix, and once this returns the
// new content survives a crash.
//
// With TERN_FAULT_INJECTION compiled in, tests can make the next fsync or
// rename fail (fault.h); release builds contain no such switch.

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern {

struct DurableOptions {
  int mode = 0644;
  bool sync = true;  // false for status files nobody needs after a crash
  // Owner and group of the new file (fchown before the rename); -1 keeps
  // the writer's. Editors of a file owned by someone else keep its owner.
  long owner_uid = -1;
  long owner_gid = -1;
};

Status write_file_atomic(const std::string& path, std::string_view content, DurableOptions opts = {});
// fsync(2) of a descriptor and of a directory by path; both retry EINTR.
Status fsync_fd(int fd, std::string_view what);
Status fsync_dir(const std::string& dir);
// rename(2) then fsync of the target's directory (and the source's, if
// different). A target directory the process cannot read (EACCES: terndrop
// in maildrop/) is made durable with syncfs(2) on the renamed file instead.
Status durable_rename(const std::string& from, const std::string& to);
// rename(2) then fsync of the target's directory only: for a file leaving a
// scratch directory (the queue's tmp/), where a stale source entry after a
// crash is harmless (on journaling filesystems the rename is one transaction
// anyway, committed by the target's fsync). Saves one fsync per message.
// The same syncfs(2) fallback as durable_rename for an unreadable target
// directory (terndrop's maildrop/).
Status publish_rename(const std::string& from, const std::string& to);

// Group commit of a directory's fsync, for many threads of one process
// renaming files into the same directory (smtpd's worker pool publishing
// queue files into incoming/). fsync(2) of a directory makes durable every
// entry change made in it before that fsync began, so concurrent callers can
// share one: returns once an fsync of `dir` that STARTED AFTER this call
// began has completed; callers call it after their rename returned, so that
// fsync covers their rename. One fsync runs at a time per directory; the
// callers arriving while it runs wait and then share the next one, which
// the first of them starts. A caller fails if any fsync it could depend on
// (the first that started after its call, or a later one before it woke)
// failed: after a failed fsync, a later success proves nothing. Blocking:
// worker threads only.
Status fsync_dir_shared(const std::string& dir);
// publish_rename whose directory fsync is fsync_dir_shared (same syncfs(2)
// fallback for a directory the process cannot read).
Status publish_rename_shared(const std::string& from, const std::string& to);

}  // namespace tern
