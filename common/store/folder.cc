// One folder's view for imapd (folder.h).

#include "common/store/folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/store/message_file.h"

namespace tern::store {
namespace {

// "new/<name>" or "cur/<name>" → (in cur/, name).
std::pair<bool, std::string_view> split_file(std::string_view file) {
  return {file.substr(0, 4) == "cur/", file.substr(4)};
}

// The RFC822.SIZE of a file that may have bare LF line ends, read in
// pieces: messages can be large.
Result<uint64_t> count_crlf_size(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  if (!fd) return fd.take_error();
  uint64_t size = 0;
  bool last_cr = false;
  std::string buf(64 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(fd->get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + path);
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n' && !last_cr) ++size;
      last_cr = buf[i] == '\r';
    }
    size += static_cast<uint64_t>(n);
  }
  return size;
}

}  // namespace

Folder::Folder(std::string folder_dir) : dir_(std::move(folder_dir)), uids_(dir_), keywords_(dir_), index_(dir_) {}

const Message* Folder::find(uint32_t uid) const {
  auto it = std::lower_bound(messages_.begin(), messages_.end(), uid,
                             [](const Message& m, uint32_t u) { return m.uid < u; });
  return it != messages_.end() && it->uid == uid ? &*it : nullptr;
}

const std::string* Folder::cached(uint32_t uid, CacheField field) const {
  if (!index_.valid()) return nullptr;
  const auto& entries = index_.state().entries;
  auto it = entries.find(uid);
  const size_t i = static_cast<size_t>(field);
  if (it == entries.end() || i >= kCacheFields || !(it->second.cached & (1u << i))) return nullptr;
  return &it->second.cache[i];
}

// The index belongs to this UID list and misses no change (index.h). It
// reads only the two, so a result stays true while neither changed: a walk
// of both (every message) per STORE was 10 % of imapd's CPU.
bool Folder::consistent() const {
  const std::pair<uint64_t, uint64_t> now{uids_.generation(), index_.generation()};
  if (now == consistent_at_) return true;
  if (!check_consistent()) return false;
  consistent_at_ = now;
  return true;
}

// After our own writes to both that keep them consistent (a new MODSEQ and
// the frame that uses it, covering up to it): no walk to know it.
void Folder::still_consistent() { consistent_at_ = {uids_.generation(), index_.generation()}; }

bool Folder::check_consistent() const {
  if (!index_.valid()) return false;
  const IndexState& s = index_.state();
  if (s.uidvalidity != uids_.uidvalidity() || s.covered > uids_.highestmodseq()) return false;
  const auto& listed = uids_.entries();
  for (const auto& [uid, e] : s.entries) {
    auto it = listed.find(uid);
    if (it == listed.end() || it->second.base != e.base) return false;
  }
  uint64_t unexplained = uids_.highestmodseq() - s.covered;
  for (const auto& [uid, e] : listed) {
    if (e.modseq <= s.covered) continue;
    if (s.entries.count(uid)) return false;  // in the index before its UID was given?
    if (unexplained == 0) return false;
    --unexplained;
  }
  return unexplained == 0;
}

// Files the last scan found against what the index records.
Folder::Diff Folder::diff() const {
  Diff d;
  const auto& entries = index_.state().entries;
  for (const auto& [uid, u] : uids_.entries()) {
    auto file = uids_.file_of(uid);
    auto it = entries.find(uid);
    if (!file) {
      if (it != entries.end()) d.vanished.push_back(uid);
    } else if (it == entries.end()) {
      d.added.emplace_back(uid, *file);
    } else {
      const IndexEntry& e = it->second;
      auto [in_cur, name] = split_file(*file);
      auto m = parse_message_name(name);
      if (in_cur != e.in_cur || !m || m->has_info != e.has_info || m->flags != e.info)
        d.renamed.emplace_back(uid, *file);
    }
  }
  return d;
}

// A message's record from its file (MODSEQ left to the caller). `dirs`,
// when given, holds new/ and cur/ open: fstatat() then resolves one name
// instead of the whole path (100,000 stats in a first SELECT).
Result<IndexEntry> Folder::describe(uint32_t uid, const std::string& file, const SubDirs* dirs) const {
  auto [in_cur, name] = split_file(file);
  auto m = parse_message_name(name);
  if (!m) return invalid("not a message file: " + file);
  IndexEntry e;
  e.uid = uid;
  e.in_cur = in_cur;
  e.has_info = m->has_info;
  e.base = std::string(m->base);
  e.info = std::string(m->flags);
  // Tern's own names (and Dovecot's) carry both sizes: no stat, the date
  // is read when asked (internaldate()). Others are stat()ed and counted.
  if (m->size && m->rfc822_size) {
    e.size = *m->size;
    e.rfc822_size = *m->rfc822_size;
    e.internaldate = kDateUnknown;
    return e;
  }
  const std::string path = dir_ + "/" + file;
  struct stat st;
  // `file` is "new/<name>" or "cur/<name>": name is NUL-terminated in it.
  const int at = dirs ? (in_cur ? dirs->cur.get() : dirs->new_.get()) : -1;
  int rc = at >= 0 ? ::fstatat(at, file.c_str() + 4, &st, 0) : ::stat(path.c_str(), &st);
  if (rc < 0) return sys_error("stat " + path);
  e.size = static_cast<uint64_t>(st.st_size);
  e.internaldate = static_cast<int64_t>(st.st_mtime);
  if (m->rfc822_size) {
    e.rfc822_size = *m->rfc822_size;
  } else {
    auto n = count_crlf_size(path);
    if (!n) return n.take_error();
    e.rfc822_size = *n;
  }
  return e;
}

int64_t Folder::internaldate(const Message& m) {
  if (m.internaldate != kDateUnknown) return m.internaldate;
  int64_t date = 0;
  struct stat st;
  if (::stat((dir_ + "/" + m.file).c_str(), &st) == 0) {
    date = static_cast<int64_t>(st.st_mtime);
  } else if (auto name = parse_message_name(m.base)) {
    date = static_cast<int64_t>(name->seconds);
  }
  // Kept in the view (messages_ is ours; find() hands out its elements).
  if (const Message* mine = find(m.uid)) const_cast<Message*>(mine)->internaldate = date;
  return date;
}

Result<Folder::Observed> Folder::observe() const {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  Observed o;
  struct stat st;
  for (bool cur : {false, true}) {
    const std::string sub = dir_ + (cur ? "/cur" : "/new");
    if (::stat(sub.c_str(), &st) < 0) {
      if (errno == ENOENT) return make_error(Errc::kNotFound, "folder gone: " + sub);
      return sys_error("stat " + sub);
    }
    (cur ? o.stamp.cur_sec : o.stamp.new_sec) = static_cast<int64_t>(st.st_mtim.tv_sec);
    (cur ? o.stamp.cur_nsec : o.stamp.new_nsec) = static_cast<uint32_t>(st.st_mtim.tv_nsec);
    (cur ? o.stamp.cur_ino : o.stamp.new_ino) = static_cast<uint64_t>(st.st_ino);
  }
  const int64_t limit = static_cast<int64_t>(now.tv_sec) - kDirtySeconds;
  o.settled = o.stamp.new_sec < limit && o.stamp.cur_sec < limit;
  return o;
}

// The index's stamp still describes the folder (see folder.h).
bool Folder::quiet(const ScanStamp& dirs) const {
  if (!index_.valid() || !uids_.usable() || !index_.state().scan) return false;
  ScanStamp want = dirs;
  want.uidlist_bytes = uids_.bytes();
  return *index_.state().scan == want && consistent();
}

Status Folder::sync() {
  Status st = sync_once();
  if (st) ++syncs_;
  return st;
}

Status Folder::sync_once() {
  // Before any scan: the stamp a scan may record must predate it.
  auto seen = observe();
  if (!seen) return seen.take_error();
  if (Status st = uids_.load(); !st) return st;
  if (Status st = keywords_.load(); !st) return st;
  if (Status st = index_.refresh(); !st) return st;
  if (quiet(seen->stamp)) {
    build_view();
    return {};
  }
  std::optional<ScanStamp> stamp;
  if (seen->settled) stamp = seen->stamp;
  // No usable UID list or index (the first SELECT of a folder, or a
  // damaged index): it is rebuilt under the lock from a scan made under
  // it, so a scan without the lock first would only be done twice (for
  // 100,000 messages, a readdir of both directories and a map of every
  // name, about a fifth of the first SELECT).
  if (!uids_.usable() || !index_.valid()) {
    auto lock = lock_folder(dir_);
    if (!lock) return lock.take_error();
    if (Status st = reconcile(*lock, stamp); !st) return st;
    build_view();
    return {};
  }
  if (Status st = uids_.sync(); !st) return st;
  if (Status st = index_.refresh(); !st) return st;
  if (!consistent() || !diff().empty()) {
    auto lock = lock_folder(dir_);
    if (!lock) return lock.take_error();
    if (Status st = reconcile(*lock, stamp); !st) return st;
  } else if (stamp) {
    ScanStamp want = *stamp;
    want.uidlist_bytes = uids_.bytes();
    if (index_.state().scan != want) {
      auto lock = lock_folder(dir_);
      if (!lock) return lock.take_error();
      if (Status st = record_scan(*lock, *stamp); !st) return st;
    }
  }
  build_view();
  return {};
}

// Under the lock, after a scan that began after `stamp` was observed: the
// stamp, when the index (as it is now, under the lock) still equals what
// that scan found.
Status Folder::record_scan(const FolderLock& lock, const ScanStamp& stamp) {
  const size_t scanned_with = uids_.bytes();
  if (Status st = uids_.reload(lock); !st) return st;
  if (Status st = index_.refresh(); !st) return st;
  // Changed meanwhile (new UIDs, other files): the next sync scans.
  if (uids_.bytes() != scanned_with || !consistent() || !diff().empty()) return {};
  ScanStamp s = stamp;
  s.uidlist_bytes = uids_.bytes();
  IndexFrame frame;
  frame.scan(s);
  return index_.append(frame, index_.state().covered, lock);
}

// Under the lock: rescan, then bring the index up to date in one frame, or
// rebuild it.
Status Folder::reconcile(const FolderLock& lock, std::optional<ScanStamp> stamp) {
  if (Status st = uids_.sync(lock); !st) return st;
  if (Status st = index_.refresh(); !st) return st;
  if (!consistent()) return rebuild(lock, stamp);
  Diff d = diff();
  if (d.empty()) return stamp ? record_scan(lock, *stamp) : Status{};
  IndexFrame frame;
  for (const auto& [uid, file] : d.added) {
    auto e = describe(uid, file);
    if (!e) continue;  // gone since the scan: the next sync sees what became of it
    e->modseq = uids_.entries().at(uid).modseq;
    frame.message(*e);
  }
  if (!d.renamed.empty() || !d.vanished.empty()) {
    auto modseq = uids_.next_modseq(lock);
    if (!modseq) return modseq.take_error();
    for (const auto& [uid, file] : d.renamed) {
      auto [in_cur, name] = split_file(file);
      auto m = parse_message_name(name);
      frame.flags(uid, *modseq, in_cur, m->has_info, m->flags);
    }
    for (uint32_t uid : d.vanished) frame.expunge(uid);
  }
  if (frame.empty()) return {};
  // Last in the frame, with the UID list as this frame leaves it. A file
  // describe() found gone makes the index differ from the scan, but its
  // removal came after the stamp's stat, so the mtime no longer matches.
  if (stamp) {
    stamp->uidlist_bytes = uids_.bytes();
    frame.scan(*stamp);
  }
  return index_.append(frame, uids_.highestmodseq(), lock);
}

// Under the lock: a new index, every message at one new MODSEQ.
Status Folder::rebuild(const FolderLock& lock, std::optional<ScanStamp> stamp) {
  auto modseq = uids_.next_modseq(lock);
  if (!modseq) return modseq.take_error();
  // What the old index knew of a message that did not change is still
  // true (a message's content never changes): keep it when readable.
  const bool reuse = index_.valid() && index_.state().uidvalidity == uids_.uidvalidity();
  const auto& old = index_.state().entries;
  SubDirs dirs;
  for (bool cur : {false, true}) {
    auto fd = open_fd(dir_ + (cur ? "/cur" : "/new"), O_RDONLY | O_DIRECTORY);
    if (fd) (cur ? dirs.cur : dirs.new_) = std::move(*fd);  // else describe() stats by path
  }
  IndexState next;
  next.uidvalidity = uids_.uidvalidity();
  next.covered = uids_.highestmodseq();
  for (const auto& [uid, u] : uids_.entries()) {
    auto file = uids_.file_of(uid);
    if (!file) continue;
    auto e = describe(uid, *file, &dirs);
    if (!e) continue;
    auto it = reuse ? old.find(uid) : old.end();
    if (it != old.end() && it->second.base == e->base) {
      e->cache = it->second.cache;
      e->cached = it->second.cached;
    }
    e->modseq = *modseq;
    next.entries.emplace_hint(next.entries.end(), uid, std::move(*e));
  }
  if (stamp) {
    stamp->uidlist_bytes = uids_.bytes();
    next.scan = stamp;
  }
  return index_.rewrite(std::move(next), lock);
}

namespace {

Message message_of(uint32_t uid, const IndexEntry& e) {
  Message m;
  m.uid = uid;
  m.base = e.base;
  m.file = e.file();
  m.flags = e.has_info ? parse_flags(e.info) : MessageFlags{};
  m.modseq = e.modseq;
  m.size = e.size;
  m.rfc822_size = e.rfc822_size;
  m.internaldate = e.internaldate;
  return m;
}

}  // namespace

void Folder::build_view() {
  // Dates internaldate() stat()ed go on to the new view (a rename keeps a
  // file's mtime; both lists are in UID order).
  std::vector<Message> before = std::move(messages_);
  size_t j = 0;
  messages_.clear();
  view_at_ = index_.generation();
  if (!index_.valid()) return;
  messages_.reserve(index_.state().entries.size());
  for (const auto& [uid, e] : index_.state().entries) {
    Message m = message_of(uid, e);
    if (m.internaldate == kDateUnknown) {
      while (j < before.size() && before[j].uid < uid) ++j;
      if (j < before.size() && before[j].uid == uid) m.internaldate = before[j].internaldate;
    }
    messages_.push_back(std::move(m));
  }
}

// After our own change to these UIDs' index records: when the view was
// built from the index as it was just before (generation `before`), only
// their messages are redone (a STORE of one message no longer rebuilds a
// view of 100,000); otherwise the whole view is.
void Folder::update_view(std::vector<uint32_t> uids, uint64_t before) {
  if (view_at_ != before || !index_.valid()) return build_view();
  std::sort(uids.begin(), uids.end());
  const auto& entries = index_.state().entries;
  for (uint32_t uid : uids) {
    auto at = std::lower_bound(messages_.begin(), messages_.end(), uid,
                               [](const Message& m, uint32_t u) { return m.uid < u; });
    const bool shown = at != messages_.end() && at->uid == uid;
    auto e = entries.find(uid);
    if (e == entries.end()) {
      if (shown) messages_.erase(at);
      continue;
    }
    Message m = message_of(uid, e->second);
    if (!shown) {
      messages_.insert(at, std::move(m));
      continue;
    }
    if (m.internaldate == kDateUnknown) m.internaldate = at->internaldate;
    *at = std::move(m);
  }
  view_at_ = index_.generation();
}

Status Folder::add(std::span<const std::string> files) {
  {
    auto lock = lock_folder(dir_);
    if (!lock) return lock.take_error();
    if (Status st = uids_.reload(*lock); !st) return st;
    if (Status st = keywords_.load(); !st) return st;
    if (Status st = index_.refresh(); !st) return st;
    // Every UID given so far is in the index (or was expunged from it):
    // the index's frame for ours then covers exactly what it records.
    if (consistent() && index_.state().covered == uids_.highestmodseq()) {
      if (Status st = uids_.assign_files(files, *lock); !st) return st;
      IndexFrame frame;
      std::vector<uint32_t> added;
      bool described = true;
      for (const std::string& file : files) {
        auto uid = uids_.uid_of(parse_message_name(split_file(file).second)->base);
        if (!uid || index_.state().entries.count(*uid)) continue;
        auto e = describe(*uid, file);
        if (!e) {
          described = false;  // gone already, or not named as ours are: sync() finds out
          break;
        }
        e->modseq = uids_.entries().at(*uid).modseq;
        frame.message(*e);
        added.push_back(*uid);
      }
      if (described) {
        const uint64_t view_before = index_.generation();
        if (!frame.empty()) {
          if (Status st = index_.append(frame, uids_.highestmodseq(), *lock); !st) return st;
          still_consistent();  // checked above; our A records and their frame keep it
        }
        update_view(std::move(added), view_before);
        return {};
      }
    }
  }
  // The lock is released: sync() takes it again when it must.
  return sync();
}

Result<size_t> Folder::keyword(std::string_view name) {
  if (auto i = keywords_.find(name)) return *i;
  auto lock = lock_folder(dir_);
  if (!lock) return lock.take_error();
  return keywords_.add(name, *lock);
}

Result<StoreResult> Folder::store(std::span<const FlagChange> changes) {
  StoreResult out;
  if (changes.empty()) return out;
  auto lock = lock_folder(dir_);
  if (!lock) return lock.take_error();
  if (Status st = uids_.reload(*lock); !st) return st.take_error();
  if (Status st = keywords_.load(); !st) return st.take_error();
  if (Status st = index_.refresh(); !st) return st.take_error();
  if (!consistent()) {
    if (Status st = reconcile(*lock); !st) return st.take_error();
  }
  const bool was_consistent = consistent();
  const uint32_t known = keywords_.table().known();

  // Several changes to one message apply in order, as one rename.
  std::map<uint32_t, std::vector<const FlagChange*>> by_uid;
  for (const FlagChange& c : changes) by_uid[c.uid].push_back(&c);

  struct Planned {
    uint32_t uid;
    std::string from;  // relative to the folder
    std::string to;
  };
  std::vector<Planned> plan;
  auto plan_one = [&](uint32_t uid, const std::string& from) {
    auto [in_cur, name] = split_file(from);
    const MessageFlags now = flags_of_name(name);
    MessageFlags next = now;
    for (const FlagChange* c : by_uid[uid]) {
      uint32_t kw = c->keywords & known;
      if (c->op == FlagOp::kReplace) kw |= next.keywords & ~known;  // letters without a name survive
      next = apply_flags(next, c->op, c->system, kw);
    }
    if (next.same_imap(now)) return;  // nothing to do, wherever the file is
    plan.push_back({uid, from, "cur/" + name_with_flags(name, next)});
  };
  const auto& entries = index_.state().entries;
  for (const auto& [uid, list] : by_uid) {
    auto it = entries.find(uid);
    if (it == entries.end()) {
      out.gone.push_back(uid);
      continue;
    }
    plan_one(uid, it->second.file());
  }

  std::vector<Planned> done;
  std::vector<uint32_t> retry;
  auto run = [&](std::vector<Planned>& list, bool first) -> Status {
    for (Planned& p : list) {
      if (::rename((dir_ + "/" + p.from).c_str(), (dir_ + "/" + p.to).c_str()) == 0) {
        auto [from_cur, from_name] = split_file(p.from);
        own_change(from_cur ? OwnChange::Where::kCur : OwnChange::Where::kNew, OwnChange::Kind::kRemoved,
                   std::string(from_name));
        own_change(OwnChange::Where::kCur, OwnChange::Kind::kAdded, p.to.substr(4));
        done.push_back(std::move(p));
        continue;
      }
      if (errno != ENOENT) return sys_error("rename " + dir_ + "/" + p.from);
      if (first) {
        retry.push_back(p.uid);
      } else {
        out.gone.push_back(p.uid);
      }
    }
    return {};
  };
  if (Status st = run(plan, true); !st) return st.take_error();
  if (!retry.empty()) {
    // Renamed or removed by another program: one rescan finds out which.
    if (Status st = uids_.sync(*lock); !st) return st.take_error();
    plan.clear();
    for (uint32_t uid : retry) {
      auto file = uids_.file_of(uid);
      if (!file) {
        out.gone.push_back(uid);
        continue;
      }
      plan_one(uid, *file);
    }
    if (Status st = run(plan, false); !st) return st.take_error();
  }
  if (done.empty()) return out;
  // No fsync of cur/ (nor new/): a flag change lost in a crash is not mail
  // lost, and Dovecot (mail_fsync = optimized) does not sync one either.
  // Nothing that must agree with the files can be damaged by it: after a
  // crash that undid a rename, the file's name differs from what the index
  // records, and the next sync gives it a new MODSEQ (diff()). The MODSEQ
  // itself is durable in the UID list before the index frame uses it.
  auto modseq = uids_.next_modseq(*lock);
  if (!modseq) return modseq.take_error();
  IndexFrame frame;
  for (const Planned& p : done) {
    auto m = parse_message_name(split_file(p.to).second);
    frame.flags(p.uid, *modseq, true, true, m->flags);
  }
  const uint64_t view_before = index_.generation();
  if (Status st = index_.append(frame, uids_.highestmodseq(), *lock); !st) return st.take_error();
  if (was_consistent) still_consistent();
  out.modseq = *modseq;
  for (const Planned& p : done) out.changed.push_back(p.uid);
  std::sort(out.changed.begin(), out.changed.end());
  std::sort(out.gone.begin(), out.gone.end());
  out.gone.erase(std::unique(out.gone.begin(), out.gone.end()), out.gone.end());
  update_view(out.changed, view_before);
  return out;
}

Result<StoreResult> Folder::expunge(std::span<const uint32_t> uids) {
  StoreResult out;
  if (uids.empty()) return out;
  auto lock = lock_folder(dir_);
  if (!lock) return lock.take_error();
  if (Status st = uids_.reload(*lock); !st) return st.take_error();
  if (Status st = index_.refresh(); !st) return st.take_error();
  if (!consistent()) {
    if (Status st = reconcile(*lock); !st) return st.take_error();
  }
  const bool was_consistent = consistent();
  std::vector<uint32_t> wanted(uids.begin(), uids.end());
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  bool rescanned = false;
  bool touched_new = false;
  for (uint32_t uid : wanted) {
    const auto& entries = index_.state().entries;
    auto it = entries.find(uid);
    if (it == entries.end()) {
      out.gone.push_back(uid);
      continue;
    }
    std::string file = it->second.file();
    for (;;) {
      if (::unlink((dir_ + "/" + file).c_str()) == 0) {
        touched_new |= file.compare(0, 4, "new/") == 0;
        auto [in_cur, name] = split_file(file);
        own_change(in_cur ? OwnChange::Where::kCur : OwnChange::Where::kNew, OwnChange::Kind::kRemoved,
                   std::string(name));
        out.changed.push_back(uid);
        break;
      }
      if (errno != ENOENT) return sys_error("unlink " + dir_ + "/" + file);
      // Renamed by another program, or removed: one rescan tells which.
      if (!rescanned) {
        if (Status st = uids_.sync(*lock); !st) return st.take_error();
        rescanned = true;
      }
      auto now = uids_.file_of(uid);
      if (!now || *now == file) {
        out.gone.push_back(uid);
        break;
      }
      file = *now;
    }
  }
  if (out.changed.empty()) return out;
  if (Status st = fsync_dir(dir_ + "/cur"); !st) return st.take_error();
  if (touched_new) {
    if (Status st = fsync_dir(dir_ + "/new"); !st) return st.take_error();
  }
  auto modseq = uids_.next_modseq(*lock);
  if (!modseq) return modseq.take_error();
  IndexFrame frame;
  for (uint32_t uid : out.changed) frame.expunge(uid);
  const uint64_t view_before = index_.generation();
  if (Status st = index_.append(frame, uids_.highestmodseq(), *lock); !st) return st.take_error();
  if (was_consistent) still_consistent();
  out.modseq = *modseq;
  update_view(out.changed, view_before);
  return out;
}

void Folder::own_change(OwnChange::Where where, OwnChange::Kind kind, std::string name) {
  if (!own_.complete) return;
  if (own_.changes.size() >= kMaxOwnChanges) {
    own_.changes.clear();
    own_.complete = false;
    return;
  }
  own_.changes.push_back(OwnChange{where, kind, std::move(name)});
}

OwnChanges Folder::take_own_changes() {
  // Each append to the UID list is one write(2) (a torn tail cut first is
  // one more IN_MODIFY, which inotify merges with the write's when they
  // are next to each other in its queue; an unmerged one simply counts as
  // foreign).
  for (; uidlist_appends_taken_ < uids_.appends(); ++uidlist_appends_taken_)
    own_change(OwnChange::Where::kFolder, OwnChange::Kind::kModified, std::string(kUidListName));
  OwnChanges out = std::move(own_);
  own_ = OwnChanges{};
  return out;
}

Status Folder::cache(std::span<const CacheFill> fills) {
  for (const CacheFill& f : fills) {
    if (f.value.size() > kMaxCacheValue) return make_error(Errc::kLimit, "cached value too large");
    if (static_cast<size_t>(f.field) >= kCacheFields) return invalid("no such cached field");
  }
  if (fills.empty()) return {};
  auto lock = lock_folder(dir_);
  if (!lock) return lock.take_error();
  if (Status st = index_.refresh(); !st) return st;
  if (!index_.valid() || index_.state().uidvalidity != uids_.uidvalidity()) return {};
  IndexFrame frame;
  const auto& entries = index_.state().entries;
  for (const CacheFill& f : fills) {
    auto it = entries.find(f.uid);
    if (it == entries.end()) continue;
    frame.cache(f.uid, f.field, f.value);
  }
  if (frame.empty()) return {};
  // Cached fields change neither the view nor consistency: what held for
  // the index just before still holds.
  const uint64_t before = index_.generation();
  const bool was_consistent = consistent_at_ == std::pair{uids_.generation(), before};
  if (Status st = index_.append(frame, index_.state().covered, *lock); !st) return st;
  if (view_at_ == before) view_at_ = index_.generation();
  if (was_consistent) still_consistent();
  return {};
}

}  // namespace tern::store
