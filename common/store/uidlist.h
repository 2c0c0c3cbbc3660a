#pragma once
// The per-folder UID list: the authoritative UIDVALIDITY, UIDNEXT,
// HIGHESTMODSEQ and uid → base name (the file name before ":2,") of one
// Maildir folder (DESIGN.md, "Mail store"), and the folder's lock.
//
// Not here: the keyword names, which live in the folder's dovecot-keywords
// file so that Dovecot and Tern read the same a..z letters (keywords.h);
// the index/cache of DESIGN.md (per-message MODSEQ, sizes, envelope,
// bodystructure), which is disposable (index.h); EMAILID/THREADID (RFC 8474)
// per message, which will be a new record type under a new version. Flags
// live in the file names (flags.h).
//
// File <folder>/tern-uidlist, text, one record per line ending "\n", fields
// separated by one tab:
//   tern-uidlist 1 <uidvalidity> <uidnext> <highestmodseq>
//                        the header, first line only; "1" is the version
//   A <uid> <modseq> <base>   a UID assigned: uid >= UIDNEXT so far (UIDNEXT
//                        becomes uid+1), modseq > HIGHESTMODSEQ so far (and
//                        becomes it), base a valid name not listed before
//   K <index> <name>     a keyword: index = number of keywords so far (0..25).
//                        Read for compatibility with lists written before
//                        keywords moved to dovecot-keywords; never written
//                        any more and not used for the flag letters
//   N <uidnext>          UIDNEXT raised (>= UIDNEXT so far)
//   M <modseq>           HIGHESTMODSEQ raised (> HIGHESTMODSEQ so far)
// Anything else on a complete line, out of order or out of range, makes the
// list corrupt: it is then recreated with a higher UIDVALIDITY, and every
// file present gets a new UID (clients resynchronise, RFC 3501 2.3.1.1).
//
// Why it survives crashes: the list is written only by appending whole
// records with one write(2) followed by fsync(2), under the lock, or created
// whole by write tmp + fsync + rename + fsync of the folder. A crash can only
// leave a torn last line (no "\n", or a zero-filled tail), which every
// reader ignores and the next writer cuts off (ftruncate under the lock)
// before appending. A UID is handed out only after its record is durable.
//
// Concurrency: UIDs are assigned by readers (imapd, tools), never by
// lmtp-deliver, whose rename into new/ is the commit. An assigner scans new/
// then cur/ (in that order, so a file moving new/ → cur/ meanwhile is seen
// once or twice but never missed), and only when it finds a base it does not
// know does it take an OFD lock (fcntl F_OFD_SETLK; flock on the BSDs, not
// built here) on <folder>/tern-uidlist.lock, without blocking: retried with
// a bounded backoff, then Errc::kTemporary. Under the lock it re-reads the
// list (another assigner may have run), assigns the still unknown bases in
// delivery order (time from the name, then name), appends, fsyncs and
// unlocks. sync() blocks on disk and may sleep: run it on the worker pool.
//
// The same lock guards every other read-modify-write of the folder's
// metadata: dovecot-keywords (keywords.h), the index (index.h) and flag
// changes (folder.h). Those take it with lock_folder() and call the
// FolderLock overloads below, since a second OFD lock on the same file from
// the same process would wait for the first.
//
// A file that vanishes (expunged or renamed by another process) means
// "rescan": nothing here fails for it. The list keeps the records of gone
// files (a few dozen bytes each); compaction is not done yet.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

#include "common/base/fd.h"
#include "common/base/result.h"

namespace tern::store {

inline constexpr std::string_view kUidListName = "tern-uidlist";
inline constexpr std::string_view kUidLockName = "tern-uidlist.lock";
inline constexpr size_t kMaxUidListLine = 1024;
inline constexpr size_t kMaxKeywords = 26;
inline constexpr size_t kMaxKeywordLength = 64;

struct UidEntry {
  std::string base;
  uint64_t modseq = 0;
  bool operator==(const UidEntry&) const = default;
};

struct UidListState {
  bool has_header = false;
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 1;
  uint64_t highestmodseq = 0;
  std::map<uint32_t, UidEntry> entries;  // uid → base, in UID order
  std::unordered_map<std::string, uint32_t> uids;  // base → uid
  std::vector<std::string> keywords;
};

// Parses the complete lines at the start of `text` into `state`, which is
// either fresh (the header must come first) or the result of parsing the
// bytes before `text`. Returns the bytes consumed: up to and including the
// last "\n"; what follows is a torn line and is ignored. Errc::kCorrupt for
// a bad complete line (state is then partly updated: discard it).
Result<size_t> parse_uidlist(std::string_view text, UidListState& state);
// The whole list as one file: the header, keywords, then the entries.
std::string format_uidlist(const UidListState& state);
// A keyword name as IMAP allows it (an atom, RFC 3501 9, without "\").
bool valid_keyword(std::string_view name);

// The folder's lock (an OFD write lock on <folder>/tern-uidlist.lock),
// released when the object goes. Move-only.
class FolderLock {
 public:
  explicit FolderLock(Fd fd) : fd_(std::move(fd)) {}
  FolderLock(FolderLock&&) = default;
  FolderLock& operator=(FolderLock&&) = default;

 private:
  Fd fd_;
};
// Takes the lock without blocking: retried with a bounded backoff (about
// 5 s), then Errc::kTemporary; Errc::kNotFound when the folder is gone.
Result<FolderLock> lock_folder(const std::string& folder_dir);
// The same lock on any lock file (created when missing): the mailbox tree
// and subscriptions of a Maildir (mailbox_list.h, subscriptions.h).
Result<FolderLock> lock_file(const std::string& lock_path);

// One folder's list as one process sees it. Not thread-safe: one shared
// object per folder per process, used from one thread at a time.
class UidList {
 public:
  explicit UidList(std::string folder_dir);

  // Scans new/ and cur/ and gives every file a UID (see the top of this
  // file). Errc::kNotFound when the folder itself is gone,
  // Errc::kTemporary when the lock stayed taken.
  Status sync();
  // The same, under a lock the caller holds (it then assigns even when
  // nothing looked new before the lock).
  Status sync(const FolderLock& lock);
  // Re-reads the list under a lock the caller holds (creating it when
  // missing or corrupt), without scanning the folder.
  Status reload(const FolderLock& lock);
  // Under a lock the caller holds, after reload(): UIDs for files this
  // process just put into the folder ("new/<name>" or "cur/<name>"),
  // without scanning it (APPEND: Folder::add). Bases already listed keep
  // theirs; file_of() then knows these files (and, until the next scan,
  // only what it knew before besides).
  Status assign_files(std::span<const std::string> files, const FolderLock& lock);
  // Reads what was appended to the list since the last call, without a
  // lock and without scanning the folder (Folder::sync's fast path);
  // file_of() knows nothing until the next sync(). usable() says whether
  // the list exists and parsed; bytes() is how much of it was parsed.
  Status load();
  bool usable() const { return !missing_ && !corrupt_; }
  size_t bytes() const { return offset_; }

  uint32_t uidvalidity() const { return state_.uidvalidity; }
  uint32_t uidnext() const { return state_.uidnext; }
  uint64_t highestmodseq() const { return state_.highestmodseq; }
  const std::map<uint32_t, UidEntry>& entries() const { return state_.entries; }

  std::optional<std::string> base_of(uint32_t uid) const;
  std::optional<uint32_t> uid_of(std::string_view base) const;
  // The file as the last sync() saw it, relative to the folder
  // ("new/<base>" or "cur/<base>:2,<flags>"); std::nullopt when gone. If
  // opening it fails with ENOENT, sync() again.
  std::optional<std::string> file_of(uint32_t uid) const;

  // How many appends this object made to the list (each one write(2), an
  // IN_MODIFY for a watcher; Folder::take_own_changes).
  uint64_t appends() const { return appends_; }
  // Changes whenever the parsed state may have (read, appended, replaced).
  uint64_t generation() const { return generation_; }

  // Raises HIGHESTMODSEQ by one (under the lock) and returns it.
  Result<uint64_t> next_modseq();
  Result<uint64_t> next_modseq(const FolderLock& lock);

 private:
  using Files = std::unordered_map<std::string, std::string>;
  Status refresh();
  Status prepare(const FolderLock& lock);
  Status create_list();
  Status assign(const Files& files, const FolderLock& lock);
  Status append(std::string_view records, const FolderLock& lock);
  void remember(Files& files);
  template <class F>
  Status locked(F&& f);

  std::string folder_;
  std::string path_;
  UidListState state_;
  size_t offset_ = 0;  // bytes of complete lines parsed
  ino_t ino_ = 0;
  bool missing_ = true;
  bool corrupt_ = false;
  uint32_t last_uidvalidity_ = 0;
  uint64_t appends_ = 0;
  uint64_t generation_ = 0;
  std::unordered_map<uint32_t, std::string> files_;  // uid → file, last scan
};

}  // namespace tern::store
