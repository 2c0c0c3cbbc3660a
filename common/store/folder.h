#pragma once
// One Maildir folder as imapd sees it: the UID list (uidlist.h), the
// keyword names (keywords.h) and the index/cache (index.h) tied together
// into a sorted message list with flags, MODSEQ, sizes and INTERNALDATE,
// and the one place flag changes are made.
//
// Everything here blocks on the disk (directory scans, renames, fsync,
// lock waits up to ~5 s): call it from the worker pool, never the loop. No
// event loop dependency. Not thread-safe: one object per folder per
// process, used from one thread at a time.
//
// sync(): the UID list scans new/ and cur/ and numbers new files (under
// the folder lock only when there are some; when there is no usable UID
// list or index yet, the one scan is made under the lock); the index is read (only its
// new frames, after the first time); when the files and the index agree
// nothing is locked or written. Otherwise, under the lock, the folder is
// scanned again (readdir may miss a file being renamed by another process;
// under the lock Tern processes rename nothing) and the index is brought
// up to date in one appended frame: new files (sizes from ,S= and ,W=
// when the name has both, else a stat and RFC822.SIZE from W= or counted,
// never from S=; INTERNALDATE = the file's mtime, as Dovecot takes it,
// stat()ed only when asked: internaldate()) with the MODSEQ their UID got, files renamed by
// other programs with one new MODSEQ, files gone as expunged with that
// MODSEQ too. An index that is absent, damaged, of another UIDVALIDITY or
// missing a change (see index.h) is rebuilt: same UIDs, every message at
// one new MODSEQ above every old value (so clients resynchronising with
// CONDSTORE/QRESYNC refetch all flags), cached fields of unchanged messages
// kept when the old index is readable.
//
// The fast path (Dovecot's maildir code has the same idea): a sync that
// finds new/ and cur/ with the mtimes (to the nanosecond) and inodes the
// index's scan stamp records (index.h), the UID list as long as it was
// then and the index consistent with it, skips both directory scans: the
// index is the folder. A stamp is recorded, under the lock, only by a sync
// whose scan found the files equal to the index, with the mtimes stat(2)
// gave BEFORE that scan began, and only when both mtimes were at least
// kDirtySeconds older than the clock at that stat. Why that is safe: any
// change to a directory's entries (a delivery's rename into new/, a flag
// rename in cur/, an unlink, by anyone, locked or not) sets its mtime to
// the time of the change; a change after the stat therefore gets an mtime
// at least the stat's time minus the file system's timestamp granularity
// (the kernel's coarse clock tick with nanosecond timestamps, a whole
// second on file systems that keep seconds), which is later than a stamp
// kDirtySeconds old, so it can never leave the mtime equal to the stamp;
// a change before the stat is in what the scan saw; a rename in progress
// during the scan (readdir may then miss the file) is a change after the
// stat. Without the settling rule, a delivery in the same clock tick as
// the stat would leave the mtime unchanged and be missed until the next
// change. What defeats it, as it defeats Dovecot: the clock stepped back by
// more than kDirtySeconds, or a tool setting directory mtimes back
// (restoring new/ and cur/ with preserved times but not the index). A
// directory changed within the last kDirtySeconds is simply scanned, and
// the next sync after it settles records a stamp; flag changes and
// expunges clear the stamp, so the sync after them scans once.
//
// store(): under the lock, each file is renamed to cur/<base>:2,<flags>
// (flags.h), the batch gets one new MODSEQ (RFC 7162 allows one for every
// message a command changes), and a frame records it. The directories are
// not fsynced: a flag change lost in a crash is not mail lost (Dovecot's
// mail_fsync = optimized syncs only new mail), and the next sync after such
// a crash sees the file's name differ from the index and gives it a new
// MODSEQ; the UID list's MODSEQ record is fsynced before the index uses it. A file renamed or
// removed by another program meanwhile is looked up again by one rescan;
// a message still not found is reported gone, not an error.
//
// expunge(): under the lock, the files are removed, the directories
// fsynced, and the batch gets one new MODSEQ (QRESYNC, RFC 7162 3.2,
// reports expunges as changes since a MODSEQ, so HIGHESTMODSEQ grows).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/fd.h"
#include "common/base/result.h"
#include "common/store/flags.h"
#include "common/store/index.h"
#include "common/store/keywords.h"
#include "common/store/uidlist.h"

namespace tern::store {

struct Message {
  uint32_t uid = 0;
  std::string base;
  std::string file;  // relative to the folder: "new/..." or "cur/..."
  MessageFlags flags;
  uint64_t modseq = 0;
  uint64_t size = 0;         // bytes on disk
  uint64_t rfc822_size = 0;  // with CRLF line ends (RFC822.SIZE)
  // Unix seconds, or kDateUnknown: read it with Folder::internaldate().
  int64_t internaldate = 0;
};

struct FlagChange {
  uint32_t uid = 0;
  FlagOp op = FlagOp::kAdd;
  uint8_t system = 0;     // SystemFlag bits
  uint32_t keywords = 0;  // bits of keyword indexes (keyword() first)
};

struct StoreResult {
  uint64_t modseq = 0;           // 0 when nothing changed
  std::vector<uint32_t> changed;  // UIDs whose flags changed, in UID order
  std::vector<uint32_t> gone;     // UIDs no longer in the folder
};

// A change this object made to the folder's directories, as a watcher of
// them (imapd's inotify: imapd/folder_cache.h) will report it, so that it
// can tell our own changes from everyone else's. kAdded: a name appeared
// (rename into, create); kRemoved: a name went (rename away, unlink);
// kModified: a file was written (the UID list's appends).
struct OwnChange {
  enum class Where : uint8_t { kNew, kCur, kFolder };
  enum class Kind : uint8_t { kAdded, kRemoved, kModified };
  Where where = Where::kCur;
  Kind kind = Kind::kAdded;
  std::string name;
  auto operator<=>(const OwnChange&) const = default;
};

// Past this many changes in one batch (a STORE of a whole big folder) the
// journal is dropped: inotify's queue (16,384 events by default) overflows
// anyway, and the watcher then assumes foreign changes.
inline constexpr size_t kMaxOwnChanges = 4096;

struct OwnChanges {
  std::vector<OwnChange> changes;
  bool complete = true;  // false: some were not recorded (see kMaxOwnChanges)
};

struct CacheFill {
  uint32_t uid = 0;
  CacheField field = CacheField::kEnvelope;
  std::string value;
};

// How long a directory must have been left alone before its mtime is
// trusted for the fast path (see above).
inline constexpr int kDirtySeconds = 2;

class Folder {
 public:
  explicit Folder(std::string folder_dir);

  // Brings the view up to date (see above). Errc::kNotFound when the folder
  // is gone, Errc::kTemporary when the lock stayed taken.
  Status sync();
  // How many sync() calls succeeded: a caller tells whether a job synced.
  uint64_t sync_count() const { return syncs_; }

  uint32_t uidvalidity() const { return uids_.uidvalidity(); }
  uint32_t uidnext() const { return uids_.uidnext(); }
  uint64_t highestmodseq() const { return uids_.highestmodseq(); }
  // In UID order.
  const std::vector<Message>& messages() const { return messages_; }
  const Message* find(uint32_t uid) const;
  // The UID of a base (after an APPEND or COPY and a sync(), for UIDPLUS).
  std::optional<uint32_t> uid_of(std::string_view base) const { return uids_.uid_of(base); }
  // The keyword names of a message's letters (letters without a name in
  // dovecot-keywords are kept on disk but not shown).
  std::vector<std::string> keywords_of(const Message& m) const { return keywords_.names(m.flags.keywords); }
  const Keywords& keywords() const { return keywords_; }
  // The index of a keyword, added to dovecot-keywords when new (durably,
  // before any file carries its letter). Errc::kInvalid, Errc::kLimit.
  Result<size_t> keyword(std::string_view name);

  // Changes flags (see above). Keyword bits without a name are ignored;
  // letters on disk without a name survive a replace.
  Result<StoreResult> store(std::span<const FlagChange> changes);

  // APPEND's sync: files this process just committed into the folder
  // ("new/<name>" or "cur/<name>:2,<flags>") get their UIDs and index
  // records under the lock without a scan of new/ and cur/, when the index
  // is consistent and covers every UID the list gave (else this is a
  // sync()). Other files that appeared meanwhile are left to the next
  // sync, which their own inotify events make real (a delivery that came
  // first may get a higher UID than ours: a UID is given when a reader
  // finds a file, in the order it finds them).
  Status add(std::span<const std::string> files);

  // Removes the messages' files. StoreResult::changed lists the UIDs
  // expunged now, gone those that were already gone.
  Result<StoreResult> expunge(std::span<const uint32_t> uids);

  // INTERNALDATE (RFC 3501 2.3.3): the file's mtime, as Dovecot takes it
  // (APPEND sets it, a COPY's hard link keeps it). A sync stat()s only the
  // files whose names lack ,S= or ,W= (sizes come from the name: the first
  // SELECT of 100,000 messages makes no 100,000 stats); the others are
  // stat()ed here, the first time their date is asked (FETCH INTERNALDATE,
  // SEARCH), and the answer kept in the view, across syncs. A file that
  // cannot be stat()ed (renamed meanwhile) gets its name's delivery time.
  int64_t internaldate(const Message& m);

  // The changes this object made to the folder's files since the last
  // call (see OwnChange), every rename, unlink and UID list append; the
  // journal then starts empty. Changes made through other objects or
  // processes are never in it.
  OwnChanges take_own_changes();
  // Records a change made for this folder outside it (APPEND's commit of a
  // new file into new/ or cur/).
  void own_change(OwnChange::Where where, OwnChange::Kind kind, std::string name);

  // A cached field, or nullptr when not cached.
  const std::string* cached(uint32_t uid, CacheField field) const;
  // Records computed fields (a value past kMaxCacheValue is Errc::kLimit).
  // Fields of messages that are gone are dropped; a missing or damaged
  // index makes this a no-op (the next sync() rebuilds it).
  Status cache(std::span<const CacheFill> fills);

 private:
  struct Diff {
    std::vector<std::pair<uint32_t, std::string>> added;  // uid, file
    std::vector<std::pair<uint32_t, std::string>> renamed;
    std::vector<uint32_t> vanished;
    bool empty() const { return added.empty() && renamed.empty() && vanished.empty(); }
  };
  // new/ and cur/ as stat(2) sees them now, and whether both last changed
  // at least kDirtySeconds ago (a stamp may then be recorded).
  struct Observed {
    ScanStamp stamp;
    bool settled = false;
  };
  Result<Observed> observe() const;
  bool quiet(const ScanStamp& dirs) const;
  bool consistent() const;
  bool check_consistent() const;
  void still_consistent();
  Diff diff() const;
  struct SubDirs {
    Fd new_;
    Fd cur;
  };
  Result<IndexEntry> describe(uint32_t uid, const std::string& file, const SubDirs* dirs = nullptr) const;
  Status reconcile(const FolderLock& lock, std::optional<ScanStamp> stamp = std::nullopt);
  Status rebuild(const FolderLock& lock, std::optional<ScanStamp> stamp);
  Status record_scan(const FolderLock& lock, const ScanStamp& stamp);
  Status sync_once();
  void build_view();
  void update_view(std::vector<uint32_t> uids, uint64_t before);

  std::string dir_;
  UidList uids_;
  Keywords keywords_;
  Index index_;
  std::vector<Message> messages_;
  uint64_t syncs_ = 0;
  OwnChanges own_;
  // consistent() held for these generations of the UID list and index.
  mutable std::pair<uint64_t, uint64_t> consistent_at_{UINT64_MAX, UINT64_MAX};
  uint64_t view_at_ = UINT64_MAX;  // the index generation messages_ shows
  uint64_t uidlist_appends_taken_ = 0;
};

}  // namespace tern::store
