#include "imapd/folder_cache.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/base/fault.h"
#include "common/base/log.h"

namespace tern::imapd {
namespace {

// Events closer together than this make one sync: a delivery is a create
// in tmp/ (not watched) and a rename into new/; a STORE of many messages
// is many renames in cur/.
constexpr auto kSettle = std::chrono::milliseconds(20);

constexpr uint32_t kWatchMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR;
// The folder's own directory: the UID list and keyword names are appended
// to (IN_MODIFY) or replaced (IN_MOVED_TO); only those names count (the
// index changes with every cached field; subfolders are other folders).
constexpr uint32_t kDirWatchMask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                   IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

bool counts_in_folder_dir(const struct inotify_event& ev) {
  if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) return true;
  if (ev.len == 0) return false;
  std::string_view name(ev.name);
  return name == "tern-uidlist" || name == store::kKeywordsName;
}

}  // namespace

// What decides whether a folder changed since the last snapshot.
struct SharedFolder::Key {
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 0;
  uint64_t highestmodseq = 0;
  size_t count = 0;
  std::array<std::string, store::kMaxKeywordLetters> keywords;
  bool operator==(const Key&) const = default;
};

namespace {

SharedFolder::Key key_of(const store::Folder& f) {
  SharedFolder::Key k;
  k.uidvalidity = f.uidvalidity();
  k.uidnext = f.uidnext();
  k.highestmodseq = f.highestmodseq();
  k.count = f.messages().size();
  k.keywords = f.keywords().table().names;
  return k;
}

std::shared_ptr<const Snapshot> take_snapshot(const store::Folder& f) {
  auto s = std::make_shared<Snapshot>();
  s->uidvalidity = f.uidvalidity();
  s->uidnext = f.uidnext();
  s->highestmodseq = f.highestmodseq();
  s->keywords = f.keywords().table().names;
  s->messages.reserve(f.messages().size());
  for (const auto& m : f.messages()) {
    SnapMessage sm;
    sm.uid = m.uid;
    sm.system = m.flags.system;
    sm.keywords = m.flags.keywords & f.keywords().table().known();
    sm.in_new = m.file.rfind("new/", 0) == 0;
    s->messages.push_back(sm);
  }
  return s;
}

}  // namespace

std::vector<std::string> Snapshot::keyword_names(uint32_t mask) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < keywords.size() && mask; ++i) {
    if ((mask >> i) & 1u) {
      if (!keywords[i].empty()) out.push_back(keywords[i]);
      mask &= ~(1u << i);
    }
  }
  return out;
}

std::vector<std::string> Snapshot::all_keywords() const {
  std::vector<std::string> out;
  for (const auto& k : keywords)
    if (!k.empty()) out.push_back(k);
  return out;
}

long Snapshot::find(uint32_t uid) const {
  auto it = std::lower_bound(messages.begin(), messages.end(), uid,
                             [](const SnapMessage& m, uint32_t u) { return m.uid < u; });
  if (it == messages.end() || it->uid != uid) return -1;
  return it - messages.begin();
}

// ---------------------------------------------------------------------------

SharedFolder::SharedFolder(FolderCache& cache, std::string dir)
    : cache_(&cache), dir_(std::move(dir)), folder_(std::make_unique<store::Folder>(dir_)) {
  settle_ = event::Timer(cache.loop(), [this] {
    if (sync_queued_) return;
    sync_queued_ = true;
    auto gone = std::make_shared<bool>(false);
    SharedFolder* me = this;  // lives while its job runs (start_next)
    // A sync that began after these events were read (the next command's,
    // usually, as a client answers faster than kSettle) already saw them.
    run(
        [gone, me](store::Folder& f) {
          auto st = me->sync_if_changed(f);
          *gone = !st && st.error().code == Errc::kNotFound;
        },
        [this, gone] {
          sync_queued_ = false;
          if (*gone) gone_ = true;
        });
  });
}

SharedFolder::~SharedFolder() {
  // A folder can outlive its cache: a job queued on a pool that is
  // destroyed after the cache (at exit) holds the last reference.
  if (!cache_) return;
  cache_->unwatch(*this);
  cache_->forget(dir_);
}

void SharedFolder::run(std::function<void(store::Folder&)> job, std::function<void()> done) {
  jobs_.emplace_back(std::move(job), std::move(done));
  if (!busy_) start_next();
}

bool SharedFolder::watched() const {
  return cache_ && cache_->active() && watches_.size() == 3 && !watch_failed_;
}

Status SharedFolder::sync_if_changed(store::Folder& f) {
  if (unchanged_) return {};
  return f.sync();
}

void SharedFolder::refresh() {
  SharedFolder* me = this;  // lives while its job runs (start_next)
  run([me](store::Folder& f) { (void)me->sync_if_changed(f); }, nullptr);
}

void SharedFolder::start_next() {
  if (jobs_.empty() || !cache_) return;  // no cache: exiting, nothing runs any more
  busy_ = true;
  // Events already queued count before this job (see folder_cache.h).
  if (watched()) cache_->on_inotify();
  running_ = true;
  unchanged_ = watched() && changes_ == synced_changes_ && !gone_;
  // Only a sync that began with the watch in place proves anything: a
  // change between an unwatched sync and the watch would make no event.
  const bool watching = watched();
  const uint64_t changes = changes_;
  auto synced = std::make_shared<bool>(false);
  auto [job, done] = std::move(jobs_.front());
  jobs_.pop_front();
  auto self = shared_from_this();
  auto fresh = std::make_shared<std::shared_ptr<const Snapshot>>();
  auto own = std::make_shared<store::OwnChanges>();
  // The job holds a raw pointer: `done` (run on the loop, or dropped with
  // the pool) holds the reference, so the last one never goes on a worker
  // thread, and the folder lives until the job is over.
  SharedFolder* me = this;
  cache_->workers().submit(
      [me, job = std::move(job), fresh, synced, own] {
        SharedFolder* self = me;
        store::Folder& f = *self->folder_;
        const uint64_t syncs = f.sync_count();
        job(f);
        *synced = f.sync_count() != syncs;
        *own = f.take_own_changes();
        // The key of the last snapshot lives with the Folder: only jobs
        // touch either.
        Key k = key_of(f);
        if (!self->snapshot_key_ || !(*self->snapshot_key_ == k)) {
          self->snapshot_key_ = std::make_unique<Key>(std::move(k));
          *fresh = take_snapshot(f);
        }
      },
      [self, done = std::move(done), fresh, synced, changes, watching, own] {
        if (*synced && watching) self->synced_changes_ = changes;
        self->finish_job(*own);
        bool changed = static_cast<bool>(*fresh);
        if (changed) self->snapshot_ = std::move(*fresh);
        if (done) done();
        if (changed) self->notify();
        self->busy_ = false;
        self->start_next();
      });
}

void SharedFolder::notify() {
  // A listener may unlisten (or listen) while we walk: copy the ids.
  std::vector<int> ids;
  for (auto& [id, fn] : listeners_) ids.push_back(id);
  for (int id : ids) {
    auto it = listeners_.find(id);
    if (it != listeners_.end()) it->second();
  }
}

int SharedFolder::listen(std::function<void()> fn) {
  if (listeners_.empty() && cache_) cache_->watch(*this);
  int id = next_listener_++;
  listeners_[id] = std::move(fn);
  return id;
}

// The watch stays when the last listener goes: a client re-selecting the
// folder (or another session selecting it) then finds it still proven
// unchanged; the SharedFolder itself goes with its last user.
void SharedFolder::unlisten(int id) { listeners_.erase(id); }

bool SharedFolder::claim_recent(uint32_t uid) {
  if (uid <= recent_claimed_) return false;
  recent_claimed_ = uid;
  return true;
}

void SharedFolder::event(const struct inotify_event& ev) {
  // While a job runs, a named event may be its own doing: kept until the
  // job's journal is known (finish_job), but only so many.
  if (!running_ || !watched() || ev.len == 0 || pending_.size() >= store::kMaxOwnChanges) return poke();
  store::OwnChange c;
  if (ev.mask & (IN_CREATE | IN_MOVED_TO)) c.kind = store::OwnChange::Kind::kAdded;
  else if (ev.mask & (IN_DELETE | IN_MOVED_FROM)) c.kind = store::OwnChange::Kind::kRemoved;
  else if (ev.mask & IN_MODIFY) c.kind = store::OwnChange::Kind::kModified;
  else return poke();
  c.where = ev.wd == watches_[0]   ? store::OwnChange::Where::kNew
            : ev.wd == watches_[1] ? store::OwnChange::Where::kCur
                                   : store::OwnChange::Where::kFolder;
  c.name = ev.name;
  pending_.push_back(std::move(c));
}

// On the loop, once a job is over: every event it caused is in the inotify
// queue by now (the kernel queues it within the rename, unlink or write
// itself), so after reading the queue the events kept while it ran are
// matched against what the job did; any other counts as a change from
// elsewhere. A name is matched at most as many times as the journal has it.
void SharedFolder::finish_job(const store::OwnChanges& own) {
  if (watched()) cache_->on_inotify();
  running_ = false;
  if (pending_.empty()) return;
  std::vector<store::OwnChange> mine;
  if (own.complete) mine = own.changes;
  std::sort(mine.begin(), mine.end());
  std::vector<bool> used(mine.size(), false);
  bool foreign = false;
  for (const auto& c : pending_) {
    auto it = std::lower_bound(mine.begin(), mine.end(), c);
    size_t i = static_cast<size_t>(it - mine.begin());
    while (i < mine.size() && mine[i] == c && used[i]) ++i;
    if (i < mine.size() && mine[i] == c) {
      used[i] = true;
    } else {
      foreign = true;
    }
  }
  pending_.clear();
  if (foreign) poke();
}

void SharedFolder::poke() {
  ++changes_;
  if (!listeners_.empty() && !settle_.pending()) settle_.start(kSettle);
}

// ---------------------------------------------------------------------------

FolderCache::FolderCache(event::Loop& loop, event::WorkerPool& workers) : loop_(loop), workers_(workers) {
  int fd = -1;
  if (int err = fault::check(fault::Point::kInotify)) errno = err;  // tests: a process without inotify
  else fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    // Without inotify (the per-user instance limit, fs.inotify.
    // max_user_instances, is reached), changes from elsewhere show at the
    // next command (every NOOP and IDLE syncs) and IDLE polls every
    // imapd_idle_check_interval (cmd_idle.cc).
    log::warning("inotify_init1: %s; changes by other processes show at the next command, or within "
                 "imapd_idle_check_interval during IDLE", std::strerror(errno));
    return;
  }
  inotify_ = Fd(fd);
  inotify_watch_ = event::IoWatch(loop_, fd, event::IoWatch::kRead, [this](short) { on_inotify(); });
}

FolderCache::~FolderCache() {
  for (auto& [dir, weak] : folders_)
    if (auto f = weak.lock()) f->cache_ = nullptr;
}

std::shared_ptr<SharedFolder> FolderCache::get(const std::string& dir) {
  auto it = folders_.find(dir);
  if (it != folders_.end()) {
    if (auto f = it->second.lock()) return f;
  }
  auto f = std::make_shared<SharedFolder>(*this, dir);
  folders_[dir] = f;
  return f;
}

void FolderCache::forget(const std::string& dir) {
  auto it = folders_.find(dir);
  if (it != folders_.end() && it->second.expired()) folders_.erase(it);
}

void FolderCache::watch(SharedFolder& f) {
  if (!inotify_ || !f.watches_.empty()) return;
  for (const char* sub : {"/new", "/cur", ""}) {
    std::string path = f.dir_ + sub;
    int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), *sub ? kWatchMask : kDirWatchMask);
    if (wd < 0) {
      log::warning("inotify_add_watch %s: %s", path.c_str(), std::strerror(errno));
      f.watch_failed_ = true;
      continue;
    }
    f.watches_.push_back(wd);
    by_watch_[wd] = f.weak_from_this();
  }
}

void FolderCache::unwatch(SharedFolder& f) {
  for (int wd : f.watches_) {
    // Two folders never share a watch descriptor: inotify gives the same
    // one only for the same inode, and folders are distinct directories.
    if (inotify_) (void)::inotify_rm_watch(inotify_.get(), wd);
    by_watch_.erase(wd);
  }
  f.watches_.clear();
}

void FolderCache::on_inotify() {
  alignas(struct inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        // Events were lost: every watched folder syncs.
        for (auto& [wd, weak] : by_watch_)
          if (auto f = weak.lock()) f->poke();
        continue;
      }
      auto it = by_watch_.find(ev->wd);
      if (it == by_watch_.end()) continue;
      if (auto f = it->second.lock()) {
        const bool folder_dir = f->watches_.size() == 3 && f->watches_[2] == ev->wd;
        if (!folder_dir || counts_in_folder_dir(*ev)) f->event(*ev);
        // The watch is gone (its directory was): no more proof.
        if (ev->mask & IN_IGNORED) f->watch_failed_ = true;
      }
      if (ev->mask & IN_IGNORED) by_watch_.erase(ev->wd);
    }
  }
}

}  // namespace tern::imapd
