#pragma once
// One qmgr connection to smtp-client: the delivery protocol
// (common/ipc/delivery_protocol.h, which is its specification) on private/smtp or
// private/lmtp.
//
//   greeting VERSION delivery 1 0; then requests, one at a time: each is
//   checked (nexthop, queue file path), its queue file opened read-only on
//   the worker pool, every rcpt's index and address compared with the
//   file's RCPT records, and the message delivered over a session taken
//   from the process's SessionCache or opened anew; then one result line per
//   recipient and the done line, and the session goes back to the cache.
//
// A malformed request, or a line while a request is being served (qmgr
// waits for done), closes the connection with a warning; a delivery in
// flight still completes and its session is kept, its answer dropped (qmgr
// defers recipients it got no answer for). A request this agent cannot
// serve is answered, every recipient deferred: a bad nexthop (4.3.5), a
// queue file that cannot be opened or does not match the request (4.3.0).
// Sessions are cached per protocol and next hop as qmgr gave it ("smtp
// example.org"): a domain's session is reused whichever MX it reached.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/dns/resolver.h"
#include "common/event/loop.h"
#include "common/event/worker_pool.h"
#include "common/ipc/delivery_protocol.h"
#include "common/ipc/line_io.h"
#include "smtp-client/session.h"
#include "smtp-client/session_cache.h"
#include "smtp-client/settings.h"

namespace tern::smtp_client {

// What every connection of the process shares.
struct Agent {
  Agent(event::Loop& l, event::WorkerPool& w, dns::Resolver* r, Settings s, Settings lm, std::string root)
      : loop(l), workers(w), resolver(r), smtp(std::move(s)), lmtp(std::move(lm)), jail_root(std::move(root)),
        cache(l) {}
  event::Loop& loop;
  event::WorkerPool& workers;
  dns::Resolver* resolver;
  Settings smtp, lmtp;
  std::string jail_root;  // the queue directory as seen in the jail ("/")
  SessionCache cache;
  // Sessions delivering now (owned here, not by a connection, so a
  // connection closing mid-delivery leaves the session intact).
  std::map<Session*, std::unique_ptr<Session>> running;
  bool stopping = false;
  const Settings& settings(ipc::DeliveryProtocol p) const {
    return p == ipc::DeliveryProtocol::kLmtp ? lmtp : smtp;
  }
};

class QmgrConnection : public std::enable_shared_from_this<QmgrConnection> {
 public:
  QmgrConnection(Agent& agent, Fd fd, std::function<void(QmgrConnection*)> on_closed);
  void start();
  void close(const std::string& why);
  // Graceful stop: close now when idle, else after the answer.
  void stop();
  bool busy() const { return busy_; }
  // The loop is ending: drop the socket and its watch now, silently (a
  // worker job in flight may keep this object past the loop).
  void release() {
    closed_ = true;
    io_.reset();
  }

 private:
  void on_line(std::string_view line);
  void serve(ipc::DeliveryRequest req);
  void deliver(ipc::DeliveryRequest req, std::shared_ptr<queue::QfileReader> file);
  void answer_all(const ipc::DeliveryRequest& req, ipc::DeliveryAction action, const std::string& dsn,
                  const std::string& reason);
  void answer(const JobOutcome& out);

  Agent& agent_;
  Fd pending_fd_;
  std::unique_ptr<ipc::LineIo> io_;
  std::function<void(QmgrConnection*)> on_closed_;
  ipc::DeliveryRequestReader reader_;
  bool busy_ = false;
  bool stopping_ = false;
  bool closed_ = false;
};

}  // namespace tern::smtp_client
