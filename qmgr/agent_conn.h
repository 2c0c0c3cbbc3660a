#pragma once
// One connection from qmgr to a delivery agent's socket
// (queue_directory/private/<transport>), speaking the delivery protocol
// (common/ipc/delivery_protocol.h): the agent's VERSION greeting, then one
// request at a time, each answered by result lines and a done line.
//
// The connection reports through its Events: ready once the greeting is
// read (idle, may take a request), answer when a done line completes a
// request (idle again, reused for the next request to the same
// destination), closed when it ends for any reason (the agent went away, a
// line it sent does not parse, a timeout, qmgr closed it): with the results
// read so far when a request was outstanding, so the caller defers the
// recipients left without an answer.
//
// Hostile or broken agents cost bounded memory (lines of at most
// kDeliveryMaxLine) and bounded time: kGreetingTimeout for the greeting,
// kAnswerTimeout for a whole answer. Loop thread only; the owner destroys a
// closed connection later (a posted task), never from inside its events.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/ipc/delivery_protocol.h"
#include "common/ipc/line_io.h"

namespace tern::qmgr {

inline constexpr Duration kGreetingTimeout = std::chrono::seconds(60);
inline constexpr Duration kAnswerTimeout = std::chrono::hours(1);

class AgentConn {
 public:
  struct Events {
    std::function<void(AgentConn&)> ready;
    std::function<void(AgentConn&, std::vector<ipc::DeliveryResult>, ipc::DeliveryDone)> answer;
    // request_outstanding: a request was sent and not completely answered.
    std::function<void(AgentConn&, std::vector<ipc::DeliveryResult>, const std::string& why,
                       bool request_outstanding)>
        closed;
  };

  // Connects to a unix socket without blocking (a unix connect either
  // succeeds at once or fails: ENOENT, ECONNREFUSED, EAGAIN when the
  // agent's backlog is full).
  static Result<Fd> connect_unix(const std::string& path);

  AgentConn(event::Loop& loop, Fd fd, Events events);
  AgentConn(const AgentConn&) = delete;
  AgentConn& operator=(const AgentConn&) = delete;

  bool ready() const { return greeted_ && !busy_ && !io_.closed(); }
  bool busy() const { return busy_; }
  bool greeted() const { return greeted_; }
  bool closed() const { return io_.closed(); }
  // Sends one request; the connection must be ready().
  void send(const ipc::DeliveryRequest& request);
  void close(const std::string& why) { io_.close(why); }

  // The caller's bookkeeping: which destination and batch this serves.
  uint64_t tag = 0;
  MonoTime idle_since{};

 private:
  void on_line(std::string_view line);
  void on_close(const std::string& why);

  Events events_;
  event::Loop& loop_;
  event::Timer timer_;
  ipc::LineIo io_;
  bool greeted_ = false;
  bool busy_ = false;
  std::vector<size_t> expected_;  // indices of the outstanding request
  std::vector<ipc::DeliveryResult> results_;
};

}  // namespace tern::qmgr
