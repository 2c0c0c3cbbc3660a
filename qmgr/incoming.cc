#include "qmgr/incoming.h"

#include <memory>

#include "common/base/log.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"

namespace tern::qmgr {

int move_incoming(const std::string& queue_dir) {
  auto ids = queue::scan(queue_dir, queue::Queue::kIncoming);
  if (!ids) {
    log::warning("scan of incoming/: %s", ids.error().text.c_str());
    return 0;
  }
  int moved = 0;
  for (const auto& id : *ids) {
    auto reader = queue::QfileReader::open(queue::path_of(queue_dir, queue::Queue::kIncoming, id));
    if (!reader) {
      if (reader.error().code == Errc::kSystem && reader.error().err == ENOENT) continue;  // moved meanwhile
      log::warning("%s: cannot read the queue file, moving it to corrupt/: %s", id.c_str(),
                   reader.error().text.c_str());
      if (auto s = queue::move(queue_dir, id, queue::Queue::kIncoming, queue::Queue::kCorrupt); !s)
        log::error("%s: cannot move to corrupt/: %s", id.c_str(), s.error().text.c_str());
      continue;
    }
    const auto& env = reader->envelope();
    if (auto s = queue::move(queue_dir, id, queue::Queue::kIncoming, queue::Queue::kActive); !s) {
      log::error("%s: cannot move into active/: %s", id.c_str(), s.error().text.c_str());
      continue;
    }
    log::info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id.c_str(), env.sender.c_str(),
              static_cast<unsigned long long>(env.message_size), env.recipients.size());
    ++moved;
  }
  return moved;
}

void Incoming::request_scan() {
  if (running_) {
    again_ = true;
    return;
  }
  running_ = true;
  auto moved = std::make_shared<int>(0);
  std::string dir = queue_dir_;
  pool_.submit([dir, moved] { *moved = move_incoming(dir); }, [this, moved] { scan_done(*moved); });
}

void Incoming::scan_done(int moved) {
  moved_ += moved;
  running_ = false;
  if (again_) {
    again_ = false;
    request_scan();
  }
}

}  // namespace tern::qmgr
