#pragma once
// One showq(8) client: the protocol of common/queue/showq_protocol.h on one
// connection.
//
//   greeting; one request line (at most kMaxRequestLine bytes, within
//   kRequestTimeout); the queue's IDs listed on the worker pool; then the
//   entries, read from the queue files in batches on the worker pool, each
//   batch only once the client has taken all but kLowWater bytes of the last
//   one; END (or ERROR); shutdown of our side, and close once the client
//   has closed (at most kLingerTimeout later).
//
// Bounded: at most kLowWater bytes plus one batch (kBatchEntries messages,
// or kBatchBytes and the message that crosses it) wait for a client at any
// time, so a client that stops reading costs little memory, and one that
// makes no progress for kIdleTimeout is dropped. The loop never reads a
// queue file itself.
//
// Lifetime: owned through a shared_ptr by the service (showq/main.cc) and by
// each worker job in flight, so a completion after a close finds a live,
// closed session and does nothing. on_closed runs once, from the loop.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/event/worker_pool.h"
#include "common/queue/queue_dirs.h"

namespace tern::showq {

class Session : public std::enable_shared_from_this<Session> {
 public:
  static constexpr size_t kLowWater = 64 * 1024;
  static constexpr size_t kBatchBytes = 256 * 1024;
  static constexpr size_t kBatchEntries = 256;
  static constexpr std::chrono::seconds kRequestTimeout{30};
  static constexpr std::chrono::seconds kIdleTimeout{60};
  static constexpr std::chrono::seconds kLingerTimeout{5};

  Session(event::Loop& loop, event::WorkerPool& pool, Fd fd, std::string queue_dir,
          std::function<void(Session*)> on_closed);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Ends the conversation now (graceful stop of the service).
  void close(const std::string& why);
  size_t sent() const { return sent_; }
  // Bytes waiting for the client (for tests of the bound).
  size_t buffered() const { return out_.size(); }

 private:
  void on_events(short events);
  void read_request();
  void list_ids(std::string only_id);
  void next_batch();
  void flush();
  void want_write();
  void linger();

  event::Loop& loop_;
  event::WorkerPool& pool_;
  Fd fd_;
  std::string queue_dir_;
  std::function<void(Session*)> on_closed_;
  event::IoWatch watch_;
  event::Timer timer_;
  std::string in_, out_;
  bool have_request_ = false;
  bool job_running_ = false;
  bool finished_ = false;  // END or ERROR is in out_
  bool closed_ = false;
  bool read_closed_ = false;  // the client shut down its side after the request
  bool lingering_ = false;    // all sent, our side shut down: waiting for the client to close
  std::vector<std::pair<queue::Queue, std::string>> ids_;
  size_t next_ = 0;  // index into ids_ of the next entry to read
  size_t sent_ = 0;  // entries formatted so far
};

}  // namespace tern::showq
