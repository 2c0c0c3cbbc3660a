#include "smtp-client/agent.h"

#include "common/base/log.h"
#include "common/ipc/escape.h"
#include "smtp-client/nexthop.h"

namespace tern::smtp_client {

QmgrConnection::QmgrConnection(Agent& agent, Fd fd, std::function<void(QmgrConnection*)> on_closed)
    : agent_(agent), pending_fd_(std::move(fd)), on_closed_(std::move(on_closed)) {}

void QmgrConnection::start() {
  io_ = std::make_unique<ipc::LineIo>(
      agent_.loop, std::move(pending_fd_), ipc::kDeliveryMaxLine, [this](std::string_view l) { on_line(l); },
      [this](const std::string& why) {
        if (closed_) return;
        closed_ = true;
        log::debug("qmgr connection closed: %s", why.c_str());
        if (on_closed_) on_closed_(this);
      });
  io_->send(ipc::Version{std::string(ipc::kDeliveryProto), ipc::kDeliveryMajor, ipc::kDeliveryMinor}.format());
}

void QmgrConnection::close(const std::string& why) {
  if (io_) io_->close(why);
}

void QmgrConnection::stop() {
  stopping_ = true;
  if (!busy_) close("stopping");
}

void QmgrConnection::on_line(std::string_view line) {
  if (busy_) {
    log::warning("qmgr sent a line before the answer to its request: closing");
    return close("protocol error");
  }
  auto got = reader_.feed(line);
  if (!got) {
    log::warning("malformed delivery request: %s", got.error().text.c_str());
    return close("malformed request");
  }
  if (*got) serve(reader_.take());
}

void QmgrConnection::answer_all(const ipc::DeliveryRequest& req, ipc::DeliveryAction action, const std::string& dsn,
                                const std::string& reason) {
  JobOutcome out;
  for (const auto& r : req.recipients) out.results.push_back(result_failure(r.index, action, dsn, "none", reason));
  answer(out);
}

void QmgrConnection::answer(const JobOutcome& out) {
  busy_ = false;
  if (closed_) return;
  std::string text;
  for (const auto& r : out.results) text += r.format();
  ipc::DeliveryDone done;
  done.setup = seconds(out.setup);
  done.xfer = seconds(out.xfer);
  text += done.format();
  io_->send(text);
  if (stopping_) close("stopping");
}

void QmgrConnection::serve(ipc::DeliveryRequest req) {
  busy_ = true;
  const Settings& settings = agent_.settings(req.protocol);
  auto hop = parse_nexthop(req.protocol, req.nexthop, settings.tcp_port);
  if (!hop) {
    log::warning("%s: %s", req.queue_id.c_str(), hop.error().text.c_str());
    return answer_all(req, ipc::DeliveryAction::kDeferred, "4.3.5", hop.error().text);
  }
  std::string path = (agent_.jail_root == "/" ? "" : agent_.jail_root) + "/" + req.queue_file;
  // Weak: a job in flight must not keep a closed connection (and its
  // socket watch) alive, possibly past the loop.
  std::weak_ptr<QmgrConnection> weak = weak_from_this();
  auto file = std::make_shared<Result<queue::QfileReader>>(invalid("not opened"));
  agent_.workers.submit([file, path] { *file = queue::QfileReader::open(path); },
                        [weak, file, req = std::move(req)]() mutable {
                          auto self = weak.lock();
                          if (!self || self->closed_) return;
                          if (!*file) {
                            log::warning("%s: %s", req.queue_id.c_str(), file->error().text.c_str());
                            return self->answer_all(req, ipc::DeliveryAction::kDeferred, "4.3.0",
                                                    "cannot open the queue file: " + file->error().text);
                          }
                          auto reader = std::make_shared<queue::QfileReader>(std::move(**file));
                          self->deliver(std::move(req), std::move(reader));
                        });
}

void QmgrConnection::deliver(ipc::DeliveryRequest req, std::shared_ptr<queue::QfileReader> file) {
  const auto& env = file->envelope();
  Job job;
  job.queue_id = req.queue_id;
  for (const auto& r : req.recipients) {
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      log::warning("%s: recipient %zu <%s> is not what the queue file holds", req.queue_id.c_str(), r.index,
                   r.address.c_str());
      return answer_all(req, ipc::DeliveryAction::kDeferred, "4.3.0",
                        "delivery request does not match the queue file");
    }
    const auto& q = env.recipients[r.index];
    job.rcpts.push_back({r.index, q.address, q.orcpt, q.notify});
  }
  job.file = std::move(file);
  const Settings& settings = agent_.settings(req.protocol);
  std::string key = std::string(ipc::delivery_protocol_name(req.protocol)) + " " + req.nexthop;
  auto session = agent_.cache.take(key);
  if (!session) {
    auto hop = parse_nexthop(req.protocol, req.nexthop, settings.tcp_port);  // checked in serve()
    session = std::make_unique<Session>(agent_.loop, agent_.resolver, settings, req.protocol, std::move(*hop),
                                        agent_.jail_root);
  }
  Session* raw = session.get();
  agent_.running[raw] = std::move(session);
  std::weak_ptr<QmgrConnection> weak = weak_from_this();
  Agent* agent = &agent_;
  Duration idle_limit = settings.cache_time_limit;
  log::debug("%s: delivering to %zu recipients via %s", req.queue_id.c_str(), req.recipients.size(), key.c_str());
  raw->run(std::move(job), [agent, raw, key, idle_limit, weak](JobOutcome out) {
    auto it = agent->running.find(raw);
    if (it != agent->running.end()) {
      auto s = std::move(it->second);
      agent->running.erase(it);
      if (agent->stopping)
        agent->cache.retire(std::move(s));
      else
        agent->cache.put(key, std::move(s), idle_limit);
    }
    if (auto self = weak.lock()) self->answer(out);
  });
}

}  // namespace tern::smtp_client
