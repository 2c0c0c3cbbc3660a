#pragma once
// qmgr's scheduling and delivery: from a message in active/ to every
// recipient final, or the message in deferred/ until its next attempt.
//
// For each message taken into active/ (Incoming, incoming.h):
//   1. load (worker pool): open the queue file read-write, copy its
//      envelope, count its Received: fields (hopcount_limit), route each
//      recipient not yet final (routing.h);
//   2. queue: the recipients are grouped by destination (transport and next
//      hop) into batches of at most <transport>_destination_recipient_limit,
//      one message per batch, and queued per destination (FIFO);
//   3. deliver: each destination has at most
//      <transport>_destination_concurrency_limit connections to its agent's
//      socket (queue_directory/private/<transport>), each carrying one
//      request at a time and reused for the next batch of the same
//      destination; idle ones close after kIdleClose. An agent that cannot
//      be reached throttles its transport for transport_retry_time: its
//      messages wait in active/ (as Postfix's qmgr does), nothing is
//      deferred for it;
//   4. record (worker pool): an answer's final outcomes are written into the
//      queue file's status fields at once (one fsync per answer), except
//      those a notice must be queued for first, and those of the answer
//      that completes the pass, which the finish step records (or makes
//      moot by removing the file);
//   5. finish (worker pool), once every recipient of the pass has an
//      outcome: queue the failure notice (bounced recipients, and every
//      deferred one when the message is past its lifetime) and the success
//      notice (NOTIFY=SUCCESS), then mark those recipients final; then
//      either remove the message (every recipient final: unlink active/ID
//      and its defer/ log; active/ is not synced, so a crash can repeat a
//      delivery but never lose one) or record the deferral reasons,
//      set the file's mtime to the next attempt (backoff.h) and move it to
//      deferred/.
//
// A recipient left without an answer (the agent closed the connection,
// sent something that does not parse, timed out) is deferred: "lost
// connection with delivery agent".
//
// Log lines, as Postfix writes them:
//   ID: to=<bob@example.test>, orig_to=<alias@example.test>, relay=private/deliver,
//       delay=0.12, delays=0.01/0.02/0.03/0.06, dsn=2.0.0, status=sent (250 2.0.0 Ok)
//   ID: to=<...>, relay=none, delay=..., dsn=4.3.0, status=deferred (lost connection with delivery agent)
//   ID: to=<...>, relay=none, delay=..., dsn=5.4.6, status=bounced (hop count exceeded - possible mail loop)
//   ID: from=<alice@example.org>, status=expired, returned to sender
//   ID: sender non-delivery notification: NOTICEID
//   ID: sender delivery status notification: NOTICEID
//   ID: removed
// delays=a/b/c/d: a from arrival until qmgr took the message in (this
// pass), b until the request went to the agent, c and d the agent's
// connection set-up and transmission (its done line).
//
// Loop thread only; blocking work goes to the worker pool. Each message's
// queue file is written by one job at a time (a mutex), and the finish step
// waits for the message's other jobs.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/event/loop.h"
#include "common/event/worker_pool.h"
#include "qmgr/active_set.h"
#include "qmgr/agent_conn.h"
#include "qmgr/settings.h"

namespace tern::qmgr {

inline constexpr Duration kIdleClose = std::chrono::seconds(10);

// Postfix's delay format: "0" below 0.005, two decimals below 1, one below
// 10, whole seconds above; trailing zeros dropped (0.1, 1.5, 42).
std::string format_delay(double seconds);

struct SchedulerStats {
  uint64_t delivered = 0;
  uint64_t bounced = 0;
  uint64_t deferred = 0;
  uint64_t removed = 0;
  int max_connections = 0;  // the most connections to one destination at once
};

class Scheduler {
 public:
  Scheduler(event::Loop& loop, event::WorkerPool& pool, const Settings& settings, ActiveSet& active);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // A message now in active/ (taken in by a scan).
  void take(const std::string& id, const FileKey& file);
  // The administrator took it out of active/: stop working on it. Answers
  // still outstanding are recorded (through the open file), nothing moved.
  void forget(const std::string& id);
  // ternqueue -f: connect again to every throttled transport now.
  void flush();
  // Closes every connection (stopping).
  void stop();

  // Called when a message left the set (room for the intake).
  std::function<void()> on_room;
  // The socket of a transport; default queue_dir/private/<transport>.
  std::function<std::string(const std::string& transport)> socket_path;

  size_t messages() const { return messages_.size(); }
  const SchedulerStats& stats() const { return stats_; }
  int connections() const { return static_cast<int>(conns_.size()); }

  struct Message;
  struct Destination;
  struct Batch;
  struct Conn;

 private:
  void loaded(std::shared_ptr<Message> m);
  void enqueue(const std::shared_ptr<Message>& m);
  void dispatch(Destination& d);
  bool open_conn(Destination& d);
  void conn_ready(AgentConn& c);
  void conn_answer(AgentConn& c, std::vector<ipc::DeliveryResult> results, ipc::DeliveryDone done);
  void conn_closed(AgentConn& c, std::vector<ipc::DeliveryResult> results, const std::string& why, bool outstanding);
  void settle_batch(const Batch& b, MonoTime sent_at, std::vector<ipc::DeliveryResult> results,
                    const ipc::DeliveryDone* done, const std::string& lost);
  void outcome(Message& m, size_t index, ipc::DeliveryResult r, double b_delay, double c, double d,
               std::vector<std::pair<size_t, int>>& write_now);
  void write_statuses(const std::shared_ptr<Message>& m, std::vector<std::pair<size_t, int>> changes);
  void maybe_finish(const std::shared_ptr<Message>& m);
  void finished(const std::shared_ptr<Message>& m, struct FinishResult& r);
  void sweep();
  void throttle(const std::string& transport, const std::string& why);
  std::string path_for(const std::string& transport) const;

  event::Loop& loop_;
  event::WorkerPool& pool_;
  const Settings& settings_;
  ActiveSet& active_;
  std::map<std::string, std::shared_ptr<Message>> messages_;
  std::map<std::string, std::unique_ptr<Destination>> dests_;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> graveyard_;  // closed, destroyed by the next sweep
  std::map<std::string, MonoTime> dead_until_;  // throttled transports
  event::Timer retry_timer_;
  event::Timer sweep_timer_;
  uint64_t next_tag_ = 1;
  bool stopped_ = false;
  SchedulerStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern::qmgr
