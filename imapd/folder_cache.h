#pragma once
// The folders of one imapd process: one store::Folder per folder directory,
// shared by every session that has it open (DESIGN.md "Mail store": one
// shared folder object per folder per process), and one inotify instance
// watching the new/ and cur/ of the folders that sessions have selected.
//
// store::Folder blocks on the disk and is not thread-safe, so every use of
// it is a job run on the worker pool, one job at a time per folder (a
// queue per folder; different folders run in parallel). The loop thread
// never touches the Folder: after each job it gets a Snapshot (UIDs,
// flags, keyword names), immutable and shared, which sessions compare with
// what their client knows to produce EXISTS, EXPUNGE and FETCH FLAGS.
//
// Changes from elsewhere (another imapd process, lmtp-deliver's rename into
// new/, a Maildir tool) are seen through inotify (IN_CREATE, IN_MOVED_TO,
// IN_MOVED_FROM, IN_DELETE on new/ and cur/, and changes to the UID list and
// the keyword names in the folder's own directory): a burst of events
// within kSettle runs one sync job, then the folder's listeners hear of the
// new snapshot. Linux only (kqueue on the BSDs is a later port: DESIGN.md).
//
// Syncs that are only there to catch changes from elsewhere (SELECT, NOOP,
// CHECK, STATUS, the start of IDLE: sync_if_changed()) are skipped while
// the watch proves there were none: the folder is watched (all three
// watches in place, from the first listen() until the SharedFolder goes),
// and no event arrived since the last sync began (the inotify queue is read
// right before each job starts, so a change completed before the job is
// seen: the kernel queues the event within the rename or unlink itself).
// Our own changes make events like anyone's, but they are not news: each
// job's renames, unlinks and UID list appends come back from the Folder
// (store::Folder::take_own_changes), the named events read while the job
// ran are kept aside, and once it is over (its events are all queued by
// then) those matching the journal exactly (directory, added / removed /
// modified, name) are dropped; any other event counts. So after our own
// STORE, APPEND or EXPUNGE the view is still proven current and the next
// SELECT or NOOP makes no scan. What is not journalled (a keyword added to
// dovecot-keywords, a recreated UID list, a COPY into another folder, a
// batch past store::kMaxOwnChanges) counts as a change. Without inotify, a
// failed watch, or after IN_Q_OVERFLOW, every sync is made.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/event/worker_pool.h"
#include "common/store/folder.h"

struct inotify_event;

namespace tern::imapd {

struct SnapMessage {
  uint32_t uid = 0;
  uint32_t keywords = 0;
  uint8_t system = 0;
  bool in_new = false;  // still in new/: not yet seen by any IMAP session
};

struct Snapshot {
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 1;
  uint64_t highestmodseq = 0;
  std::vector<SnapMessage> messages;  // UID order
  std::array<std::string, store::kMaxKeywordLetters> keywords;  // index -> name ("" = none)

  // The names of the keyword bits that have one.
  std::vector<std::string> keyword_names(uint32_t mask) const;
  // Every named keyword (FLAGS, PERMANENTFLAGS).
  std::vector<std::string> all_keywords() const;
  // Index of a UID in messages, or -1.
  long find(uint32_t uid) const;
};

class FolderCache;

class SharedFolder : public std::enable_shared_from_this<SharedFolder> {
 public:
  SharedFolder(FolderCache& cache, std::string dir);
  ~SharedFolder();
  const std::string& dir() const { return dir_; }

  // Runs job on a worker with the Folder to itself, then done on the loop
  // (unless the pool or loop went away). Jobs of one folder run in order,
  // one at a time. After the job a new Snapshot is taken when the folder
  // changed, and listeners hear of it after `done` ran.
  void run(std::function<void(store::Folder&)> job, std::function<void()> done);
  // The latest snapshot (null before the first job finished).
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_; }
  // The folder was found gone by the last job (deleted or renamed away).
  bool gone() const { return gone_; }

  // Listeners run on the loop after a job changed the snapshot; while any
  // is registered the folder is watched for changes from elsewhere.
  int listen(std::function<void()> fn);
  void unlisten(int id);

  // \Recent (RFC 3501 2.3.2): a message is recent in exactly one session,
  // the first to see it in this process; this hands out that claim.
  bool claim_recent(uint32_t uid);

  // Something changed on disk (inotify): sync soon.
  void poke();
  // An inotify event on one of the folder's watches (see above).
  void event(const struct inotify_event& ev);
  // Inside a job: syncs unless the watch proved nothing changed since the
  // last sync (see above).
  Status sync_if_changed(store::Folder& f);
  // A job doing just that, with no answer.
  void refresh();

  struct Key;

 private:
  friend class FolderCache;
  void start_next();
  void finish_job(const store::OwnChanges& own);
  void notify();
  bool watched() const;

  FolderCache* cache_;  // null once the cache is gone (~FolderCache)
  std::string dir_;
  std::unique_ptr<store::Folder> folder_;  // used only inside jobs
  std::unique_ptr<Key> snapshot_key_;      // likewise
  std::deque<std::pair<std::function<void(store::Folder&)>, std::function<void()>>> jobs_;
  bool busy_ = false;
  bool gone_ = false;
  std::shared_ptr<const Snapshot> snapshot_;
  std::map<int, std::function<void()>> listeners_;
  int next_listener_ = 1;
  uint32_t recent_claimed_ = 0;  // UIDs up to this one were claimed
  event::Timer settle_;
  bool sync_queued_ = false;
  std::vector<int> watches_;  // inotify watch descriptors: new/, cur/, the folder
  bool watch_failed_ = false;
  uint64_t changes_ = 0;                 // events seen (loop thread)
  uint64_t synced_changes_ = UINT64_MAX;  // changes_ when the last sync began; never
  bool unchanged_ = false;                // for the running job: nothing since (set before it starts)
  bool running_ = false;                  // a job is on the pool (from submit to its `done`)
  std::vector<store::OwnChange> pending_;  // named events read while it ran
};

class FolderCache {
 public:
  FolderCache(event::Loop& loop, event::WorkerPool& workers);
  ~FolderCache();

  // The shared folder of a directory (made on first use; kept while any
  // session holds it).
  std::shared_ptr<SharedFolder> get(const std::string& dir);
  event::Loop& loop() { return loop_; }
  event::WorkerPool& workers() { return workers_; }

 private:
  friend class SharedFolder;
  void watch(SharedFolder& f);
  void unwatch(SharedFolder& f);
  void forget(const std::string& dir);
  void on_inotify();
  bool active() const { return static_cast<bool>(inotify_); }

  event::Loop& loop_;
  event::WorkerPool& workers_;
  std::map<std::string, std::weak_ptr<SharedFolder>> folders_;
  Fd inotify_;
  event::IoWatch inotify_watch_;
  std::map<int, std::weak_ptr<SharedFolder>> by_watch_;
};

}  // namespace tern::imapd
