#include "qmgr/incoming.h"

#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "common/base/durable.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"

namespace tern::qmgr {
namespace {

using queue::Queue;

bool vanished(const Error& e) {
  return e.code == Errc::kNotFound || (e.code == Errc::kSystem && e.err == ENOENT);
}

// Files in active/ that this qmgr does not know go back to incoming/.
int return_unknown(const std::string& queue_dir, const std::set<std::string>& known) {
  auto ids = queue::scan(queue_dir, Queue::kActive);
  if (!ids) {
    log::warning("scan of active/: %s", ids.error().text.c_str());
    return 0;
  }
  int n = 0;
  for (const auto& id : *ids) {
    if (known.count(id)) continue;
    if (auto s = queue::move(queue_dir, id, Queue::kActive, Queue::kIncoming); !s) {
      if (!vanished(s.error())) log::error("%s: cannot move back to incoming/: %s", id.c_str(), s.error().text.c_str());
      continue;
    }
    log::debug("%s: back to incoming/ from active/", id.c_str());
    ++n;
  }
  return n;
}

// Every file is renamed into active/ first, then active/ and incoming/ are
// fsynced once for the whole batch (not twice per file: the disk is shared
// with smtpd, whose fsyncs decide how fast mail is taken in). The "queue
// active" lines are written after those fsyncs. A file is durable in
// incoming/ before qmgr sees it, so a crash before the batch's fsyncs leaves
// each file in incoming/ or in active/, both of which a restarted qmgr takes
// in again.
void take_incoming(const std::string& queue_dir, ScanResult& out, size_t& room) {
  auto ids = queue::scan(queue_dir, Queue::kIncoming);
  if (!ids) {
    log::warning("scan of incoming/: %s", ids.error().text.c_str());
    return;
  }
  size_t first = out.taken.size();
  for (const auto& id : *ids) {
    if (room == 0) {
      out.more = true;
      break;
    }
    auto reader = queue::QfileReader::open(queue::path_of(queue_dir, Queue::kIncoming, id));
    if (!reader) {
      if (vanished(reader.error())) continue;  // held or deleted meanwhile
      log::warning("%s: cannot read the queue file, moving it to corrupt/: %s", id.c_str(),
                   reader.error().text.c_str());
      if (auto s = queue::move(queue_dir, id, Queue::kIncoming, Queue::kCorrupt); !s)
        log::error("%s: cannot move to corrupt/: %s", id.c_str(), s.error().text.c_str());
      continue;
    }
    const auto& env = reader->envelope();
    if (auto s = queue::move_unsynced(queue_dir, id, Queue::kIncoming, Queue::kActive); !s) {
      // ternsuper held or deleted it between our read and our rename: it won.
      if (!vanished(s.error())) log::error("%s: cannot move into active/: %s", id.c_str(), s.error().text.c_str());
      continue;
    }
    ActiveEntry e;
    e.sender = env.sender;
    e.size = env.message_size;
    e.nrcpt = env.recipients.size();
    struct stat sb;
    if (::stat(queue::path_of(queue_dir, Queue::kActive, id).c_str(), &sb) == 0) e.file = {sb.st_dev, sb.st_ino};
    out.taken.emplace_back(id, std::move(e));
    --room;
  }
  if (out.taken.size() == first) return;
  for (Queue q : {Queue::kActive, Queue::kIncoming}) {
    if (auto s = fsync_dir(queue_dir + "/" + std::string(queue::queue_name(q))); !s)
      log::error("moves into active/ may not survive a crash: %s", s.error().text.c_str());
  }
  for (size_t i = first; i < out.taken.size(); ++i) {
    const auto& [id, e] = out.taken[i];
    log::info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id.c_str(), e.sender.c_str(),
              static_cast<unsigned long long>(e.size), e.nrcpt);
  }
}

// Deferred messages whose time has come (or all, for a flush) go back to
// active/ (queue::move: synced one by one; retries are few next to new
// mail). Their from= line was logged when they arrived, as Postfix does.
void take_deferred(const std::string& queue_dir, ScanResult& out, size_t& room, const ScanOptions& opt) {
  auto ids = queue::scan(queue_dir, Queue::kDeferred);
  if (!ids) {
    log::warning("scan of deferred/: %s", ids.error().text.c_str());
    return;
  }
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(opt.now.time_since_epoch()).count();
  for (const auto& id : *ids) {
    std::string path = queue::path_of(queue_dir, Queue::kDeferred, id);
    struct stat sb;
    if (::stat(path.c_str(), &sb) != 0) continue;
    bool take = opt.deferred == DeferredScan::kAll;
    if (opt.deferred == DeferredScan::kDue) {
      long long mtime_ns = static_cast<long long>(sb.st_mtim.tv_sec) * 1000000000LL + sb.st_mtim.tv_nsec;
      take = mtime_ns <= now_ns;
    }
    if (!take && opt.sites.empty()) continue;
    if (room == 0) {
      out.more = true;
      return;
    }
    auto reader = queue::QfileReader::open(path);
    if (!take && reader) {
      // ternqueue -s: only mail with a recipient still to go to the site.
      for (const auto& r : reader->envelope().recipients)
        take = take || (!queue::is_final(r.status) && opt.sites.count(address_domain(r.address)));
      if (!take) continue;
    }
    if (!reader) {
      if (vanished(reader.error())) continue;
      log::warning("%s: cannot read the queue file, moving it to corrupt/: %s", id.c_str(),
                   reader.error().text.c_str());
      if (auto s = queue::move(queue_dir, id, Queue::kDeferred, Queue::kCorrupt); !s)
        log::error("%s: cannot move to corrupt/: %s", id.c_str(), s.error().text.c_str());
      continue;
    }
    if (auto s = queue::move(queue_dir, id, Queue::kDeferred, Queue::kActive); !s) {
      if (!vanished(s.error())) log::error("%s: cannot move into active/: %s", id.c_str(), s.error().text.c_str());
      continue;
    }
    ActiveEntry e;
    e.sender = reader->envelope().sender;
    e.size = reader->envelope().message_size;
    e.nrcpt = reader->envelope().recipients.size();
    e.file = {sb.st_dev, sb.st_ino};
    out.taken.emplace_back(id, std::move(e));
    --room;
  }
}

void list_active(const std::string& queue_dir, ScanResult& out) {
  auto ids = queue::scan(queue_dir, Queue::kActive);
  if (!ids) {
    log::warning("scan of active/: %s", ids.error().text.c_str());
    return;
  }
  for (const auto& id : *ids) {
    struct stat sb;
    if (::stat(queue::path_of(queue_dir, Queue::kActive, id).c_str(), &sb) == 0)
      out.active[id] = FileKey{sb.st_dev, sb.st_ino};
  }
  out.active_listed = true;
}

}  // namespace

ScanResult scan_queue(const std::string& queue_dir, const std::set<std::string>& known, const ScanOptions& opt) {
  ScanResult out;
  bool full = opt.kind == ScanKind::kFull;
  if (full) out.returned = return_unknown(queue_dir, known);
  size_t room = opt.room;
  take_incoming(queue_dir, out, room);
  if (full && (opt.deferred != DeferredScan::kNone || !opt.sites.empty())) take_deferred(queue_dir, out, room, opt);
  if (full) list_active(queue_dir, out);
  return out;
}

ScanResult scan_queue(const std::string& queue_dir, const std::set<std::string>& known, ScanKind kind) {
  ScanOptions opt;
  opt.kind = kind;
  return scan_queue(queue_dir, known, opt);
}

std::string address_domain(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : to_lower(address.substr(at + 1));
}

void Incoming::request_site(const std::string& domain) {
  sites_.insert(to_lower(domain));
  request_scan(ScanKind::kFull);
}

void Incoming::request_scan(ScanKind kind, DeferredScan deferred) {
  if (deferred != DeferredScan::kNone || !sites_.empty()) kind = ScanKind::kFull;
  if (running_) {
    again_ = true;
    again_full_ |= kind == ScanKind::kFull;
    again_deferred_ = std::max(again_deferred_, deferred);
    return;
  }
  running_ = true;
  auto result = std::make_shared<ScanResult>();
  std::string dir = queue_dir_;
  ScanOptions opt;
  opt.kind = kind;
  opt.room = active_.size() >= limit_ ? 0 : limit_ - active_.size();
  opt.deferred = deferred;
  opt.now = clock_.wall_now();
  if (kind == ScanKind::kFull) opt.sites = std::exchange(sites_, {});
  // Only a full scan compares active/ with the active set; the frequent
  // incoming-only scan (one per wake-up from smtpd or pickup) must not copy
  // an id set as large as the active set each time.
  std::set<std::string> known;
  if (kind == ScanKind::kFull) known = active_.ids();
  pool_.submit([dir, result, opt, known = std::move(known)] { *result = scan_queue(dir, known, opt); },
               [this, result, kind, deferred] { scan_done(std::move(*result), kind, deferred); });
}

void Incoming::room_freed() {
  if (more_ && !running_) request_scan(more_kind_, more_deferred_);
}

void Incoming::scan_done(ScanResult result, ScanKind kind, DeferredScan deferred) {
  for (auto& [id, entry] : result.taken) active_.add(id, entry);
  moved_ += static_cast<int>(result.taken.size());
  if (result.active_listed) {
    for (const auto& id : active_.reconcile(result.active)) {
      log::info("%s: no longer in active/ (held, requeued or deleted by the administrator)", id.c_str());
      if (on_gone) on_gone(id);
    }
  }
  more_ = result.more;
  more_kind_ = kind;
  more_deferred_ = result.more ? deferred : DeferredScan::kNone;
  running_ = false;
  if (on_taken) {
    for (auto& [id, entry] : result.taken) {
      if (const ActiveEntry* e = active_.find(id); e && e->file == entry.file) on_taken(id, *e);
    }
  }
  if (again_) {
    ScanKind next = again_full_ ? ScanKind::kFull : ScanKind::kIncoming;
    DeferredScan d = again_deferred_;
    again_ = again_full_ = false;
    again_deferred_ = DeferredScan::kNone;
    request_scan(next, d);
  }
}

}  // namespace tern::qmgr
