#pragma once
// The queue directories under queue_directory (DESIGN.md, "The queue"):
//
//   tmp/        files being written; renamed into incoming/ once durable
//   maildrop/   local submissions (terndrop), read by pickup
//   incoming/   complete new messages, not yet seen by qmgr
//   active/     messages qmgr is working on
//   deferred/   waiting for a retry                        (hashed)
//   defer/      per-message log of each recipient's latest diagnostic (hashed)
//   hold/       put aside by an administrator
//   corrupt/    files that could not be read: kept, never deleted
//
// Hashing (as Postfix's hash_queue_names, depth 1): a file in deferred/ or
// defer/ lives in a one-character subdirectory, deferred/<c>/<ID>, where <c>
// is the ID's 11th character: the least significant digit of its arrival
// time in microseconds (queue_id.h). That digit is uniform over the 32
// characters of the alphabet, so a large deferred queue spreads over 32
// directories; the leading digits, which change only every few years, would
// put everything in one. The subdirectories are made on first use (move()).
//
// A queue file's name is its queue ID; scans list only names that are valid
// IDs, so editor leftovers, dot files and the like are never taken for mail.
//
// All of this is blocking file-system work: daemons run it on the worker
// pool (DESIGN.md: the loop never blocks).

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::queue {

enum class Queue { kTmp, kMaildrop, kIncoming, kActive, kDeferred, kDefer, kHold, kCorrupt };

inline constexpr std::array kAllQueues = {Queue::kTmp,      Queue::kMaildrop, Queue::kIncoming, Queue::kActive,
                                          Queue::kDeferred, Queue::kDefer,    Queue::kHold,     Queue::kCorrupt};

// "tmp", "maildrop", ...
std::string_view queue_name(Queue queue);
std::optional<Queue> parse_queue_name(std::string_view name);
bool is_hashed(Queue queue);
// The hashed subdirectory of an ID ("7" for "0J2XQ3V5K77AB1C00"); the ID
// must be valid.
std::string_view hash_subdir(std::string_view id);

// <queue_dir>/<queue>[/<hash>]/<id>.
std::string path_of(std::string_view queue_dir, Queue queue, std::string_view id);
// "<queue>[/<hash>]/<id>", relative to queue_dir (for logs and terncat).
std::string relative_path_of(Queue queue, std::string_view id);

// Moves a queue file from one queue to another with durable_rename (the
// rename, then fsync of both directories), creating the hashed
// subdirectory of the target when needed. Errc::kNotFound when the file is
// not in `from`.
Status move(std::string_view queue_dir, std::string_view id, Queue from, Queue to);
// The same rename without the fsyncs, for a batch of moves between the same
// two queues: the caller then makes both directories durable once
// (fsync_dir of each, durable.h) before it relies on any of the moves.
Status move_unsynced(std::string_view queue_dir, std::string_view id, Queue from, Queue to);

// Makes the directory a file named id lives in within `queue` (the hashed
// subdirectory, durably: its parent is fsynced when it is new); nothing for
// an unhashed queue. move() does this itself; for writers that create files
// in a hashed queue directly (the defer log).
Status ensure_dir_for(std::string_view queue_dir, Queue queue, std::string_view id);

// The IDs of the files in a queue, sorted (oldest first); names that are not
// valid queue IDs are skipped. For a hashed queue, every subdirectory.
Result<std::vector<std::string>> scan(std::string_view queue_dir, Queue queue);

// The queue that holds a file named id, searched in kMessageQueues order
// (every queue that holds queue files; not tmp/, whose files are unfinished,
// nor defer/, which holds logs). Errc::kNotFound when none does; kInvalid for a
// name that is not a queue ID.
inline constexpr std::array kMessageQueues = {Queue::kIncoming, Queue::kActive,  Queue::kDeferred,
                                              Queue::kHold,     Queue::kCorrupt, Queue::kMaildrop};
Result<Queue> locate(std::string_view queue_dir, std::string_view id);

}  // namespace tern::queue
