#include "qmgr/incoming.h"

#include <sys/stat.h>

#include <memory>

#include "common/base/durable.h"
#include "common/base/log.h"
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
void take_incoming(const std::string& queue_dir, ScanResult& out) {
  auto ids = queue::scan(queue_dir, Queue::kIncoming);
  if (!ids) {
    log::warning("scan of incoming/: %s", ids.error().text.c_str());
    return;
  }
  size_t first = out.taken.size();
  for (const auto& id : *ids) {
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

ScanResult scan_queue(const std::string& queue_dir, const std::set<std::string>& known, ScanKind kind) {
  ScanResult out;
  if (kind == ScanKind::kFull) out.returned = return_unknown(queue_dir, known);
  take_incoming(queue_dir, out);
  if (kind == ScanKind::kFull) list_active(queue_dir, out);
  return out;
}

void Incoming::request_scan(ScanKind kind) {
  if (running_) {
    again_ = true;
    again_full_ |= kind == ScanKind::kFull;
    return;
  }
  running_ = true;
  auto result = std::make_shared<ScanResult>();
  std::string dir = queue_dir_;
  pool_.submit([dir, result, kind, known = active_.ids()] { *result = scan_queue(dir, known, kind); },
               [this, result] { scan_done(std::move(*result)); });
}

void Incoming::scan_done(ScanResult result) {
  for (auto& [id, entry] : result.taken) active_.add(id, std::move(entry));
  moved_ += static_cast<int>(result.taken.size());
  if (result.active_listed) {
    for (const auto& id : active_.reconcile(result.active))
      log::info("%s: no longer in active/ (held, requeued or deleted by the administrator)", id.c_str());
  }
  running_ = false;
  if (again_) {
    ScanKind kind = again_full_ ? ScanKind::kFull : ScanKind::kIncoming;
    again_ = again_full_ = false;
    request_scan(kind);
  }
}

}  // namespace tern::qmgr
