// ternsuper's operations on messages (queue_admin.h).

#include "common/queue/queue_admin.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "common/base/durable.h"
#include "common/queue/queue_id.h"

namespace tern::queue {
namespace {

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Unlinks a file and makes the removal durable; kNotFound when it is not
// there.
Status remove_durably(const std::string& path, std::string_view id, Queue q) {
  if (::unlink(path.c_str()) < 0) {
    if (errno == ENOENT) return make_error(Errc::kNotFound, std::string(id) + ": not in " + std::string(queue_name(q)) + "/");
    return sys_error("unlink " + path);
  }
  return fsync_dir(parent_of(path));
}

// One operation on the file id in queue q. kNotFound when it is not there.
Status act(std::string_view queue_dir, AdminOp op, std::string_view id, Queue q) {
  switch (op) {
    case AdminOp::kDelete: {
      if (Status st = remove_durably(path_of(queue_dir, q, id), id, q); !st) return st;
      // The message's defer/ log, if any: it describes nothing now.
      Status log = remove_durably(path_of(queue_dir, Queue::kDefer, id), id, Queue::kDefer);
      if (!log && log.error().code != Errc::kNotFound) return log;
      return {};
    }
    case AdminOp::kHold:
      if (q == Queue::kHold) return {};
      return move(queue_dir, id, q, Queue::kHold);
    case AdminOp::kRelease:
      if (q != Queue::kHold) return make_error(Errc::kNotFound, std::string(id) + ": not on hold");
      return move(queue_dir, id, q, Queue::kIncoming);
    case AdminOp::kRequeue:
      if (q == Queue::kIncoming) {
        // Already waiting for qmgr; only check that it is there.
        if (::access(path_of(queue_dir, q, id).c_str(), F_OK) < 0)
          return make_error(Errc::kNotFound, std::string(id) + ": not in incoming/");
        return {};
      }
      return move(queue_dir, id, q, Queue::kIncoming);
  }
  return invalid("unknown operation");
}

}  // namespace

std::vector<Queue> default_admin_queues(AdminOp op) {
  switch (op) {
    case AdminOp::kDelete: return {Queue::kHold, Queue::kIncoming, Queue::kActive, Queue::kDeferred};
    case AdminOp::kHold: return {Queue::kIncoming, Queue::kActive, Queue::kDeferred};
    case AdminOp::kRelease: return {Queue::kHold};
    case AdminOp::kRequeue: return {Queue::kHold, Queue::kIncoming, Queue::kActive, Queue::kDeferred};
  }
  return {};
}

bool admin_queue_allowed(AdminOp op, Queue q) {
  if (op == AdminOp::kRelease) return q == Queue::kHold;
  switch (q) {
    case Queue::kIncoming:
    case Queue::kActive:
    case Queue::kDeferred:
    case Queue::kHold: return true;
    case Queue::kCorrupt: return op == AdminOp::kDelete;
    default: return false;
  }
}

Result<Queue> admin_one(std::string_view queue_dir, AdminOp op, std::string_view id, const std::vector<Queue>& queues) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + std::string(id) + "\"");
  // A message qmgr moves between two queues while we look can be missed by
  // one round; look again.
  for (int round = 0; round < kSearchRounds; ++round) {
    for (Queue q : queues) {
      Status st = act(queue_dir, op, id, q);
      if (st) return q;
      if (st.error().code != Errc::kNotFound) return st.take_error();
    }
  }
  return make_error(Errc::kNotFound, std::string(id) + ": no such message");
}

Result<int> admin_all(std::string_view queue_dir, AdminOp op, const std::vector<Queue>& queues,
                      std::vector<std::pair<Queue, std::string>>* done, std::vector<AdminFailure>* failed) {
  std::set<std::string> seen;  // a requeued message shows up again in incoming/
  std::vector<std::string> vanished;
  int count = 0;
  auto record = [&](Queue q, const std::string& id) {
    seen.insert(id);
    ++count;
    if (done) done->emplace_back(q, id);
  };
  for (Queue q : queues) {
    auto ids = scan(queue_dir, q);
    if (!ids) return ids.take_error();
    for (const auto& id : *ids) {
      if (seen.count(id)) continue;
      Status st = act(queue_dir, op, id, q);
      if (st) {
        record(q, id);
      } else if (st.error().code == Errc::kNotFound) {
        vanished.push_back(id);  // moved by qmgr meanwhile: followed below
      } else if (failed) {
        failed->push_back({id, st.error().text});
      }
    }
  }
  for (const auto& id : vanished) {
    if (seen.count(id)) continue;
    auto where = admin_one(queue_dir, op, id, queues);
    if (where) record(*where, id);
    else if (where.error().code != Errc::kNotFound && failed) failed->push_back({id, where.error().text});
  }
  return count;
}

}  // namespace tern::queue
