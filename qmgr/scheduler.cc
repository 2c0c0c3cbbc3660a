#include "qmgr/scheduler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <mutex>
#include <optional>

#include "common/base/durable.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"
#include "qmgr/backoff.h"
#include "qmgr/delay_warning.h"
#include "qmgr/notices.h"
#include "qmgr/routing.h"

namespace tern::qmgr {

using ipc::DeliveryAction;
using ipc::DeliveryResult;
using queue::Queue;
using queue::RcptStatus;

// The queue file, shared by the jobs of one message: one job at a time.
struct MessageFile {
  std::mutex mu;
  std::optional<queue::QfileReader> reader;
};

struct Scheduler::Batch {
  std::shared_ptr<Message> msg;
  std::vector<size_t> idx;
};

struct Scheduler::Message {
  struct Rcpt {
    bool final_at_load = false;  // nothing to do this pass
    bool has = false;            // an outcome this pass
    DeliveryResult result;
    WallTime at{};               // when the outcome came
    bool hold = false;           // final, but waits for its notice (finish step)
    bool write_failed = false;   // final, but its status write failed: again at finish
    bool unrecorded = false;     // final, status left to the finish step (the last answer)
    Route route;
  };
  std::string id;
  FileKey key;
  std::shared_ptr<MessageFile> file = std::make_shared<MessageFile>();
  queue::Envelope env;
  WallTime taken_wall{};
  MonoTime taken_mono{};
  std::vector<Rcpt> rcpts;
  int unresolved = 0;  // recipients of this pass without an outcome
  int io = 0;          // worker jobs running for it
  bool gone = false;   // the administrator took the file
  bool finishing = false;
  bool retake = false;  // taken in again while finishing
  FileKey retake_key;
};

struct Scheduler::Destination {
  std::string transport;
  std::string nexthop;
  ipc::DeliveryProtocol protocol = ipc::DeliveryProtocol::kSmtp;
  TransportLimits limits;
  std::deque<Batch> queue;
  std::set<uint64_t> conns;
  size_t connecting = 0;
};

struct Scheduler::Conn {
  std::unique_ptr<AgentConn> agent;
  Destination* dest = nullptr;
  std::optional<Batch> batch;
  MonoTime sent_at{};
  MonoTime idle_since{};
};

std::string format_delay(double s) {
  if (s < 0.005) return "0";
  char buf[32];
  if (s >= 9.95) {
    std::snprintf(buf, sizeof buf, "%.0f", s);
    return buf;
  }
  std::snprintf(buf, sizeof buf, s < 0.995 ? "%.2f" : "%.1f", s);
  std::string out = buf;
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

namespace {

bool vanished(const Error& e) { return e.code == Errc::kNotFound || (e.code == Errc::kSystem && e.err == ENOENT); }

// Received: fields in the header section, read in bounded chunks (at most
// kMaxHeaderScan bytes: a header block past it was refused at intake).
constexpr size_t kMaxHeaderScan = 1 << 20;
int count_received(const queue::QfileReader& reader) {
  int count = 0;
  std::string line;
  char buf[8192];
  uint64_t pos = 0;
  bool at_start = true;
  while (pos < kMaxHeaderScan) {
    auto n = reader.read_message(pos, buf, sizeof buf);
    if (!n || *n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      char c = buf[i];
      if (at_start) {
        if (c == '\r' || c == '\n') return count;  // the empty line: end of the header
        line.clear();
        at_start = false;
      }
      if (c == '\n') {
        if (starts_with_nocase(line, "received:")) ++count;
        at_start = true;
      } else if (line.size() < 16) {
        line.push_back(c);
      }
    }
    pos += *n;
  }
  return count;
}

struct RouteOut {
  bool ok = false;
  Route route;
  Error error;
};

struct LoadOut {
  bool ok = false;
  bool gone = false;
  std::string error;
  queue::Envelope env;
  int received = 0;
  std::vector<RouteOut> routes;
};

bool same_file(const std::string& path, const FileKey& key) {
  struct stat sb;
  return ::stat(path.c_str(), &sb) == 0 && sb.st_dev == key.dev && sb.st_ino == key.ino;
}

}  // namespace

struct FinishPlan {
  std::vector<NoticeRecipient> failed;     // to mark bounced after the failure notice
  std::vector<NoticeRecipient> succeeded;  // to mark delivered/relayed after the success notice
  std::vector<std::pair<size_t, RcptStatus>> plain;  // final without a notice (a failed write, again)
  std::vector<DeferReason> deferred;
  bool delay_warning = false;  // a delay report is due if the message stays deferred
  bool all_final = false;
  bool gone = false;
  WallTime next_attempt{};
};

struct FinishResult {
  std::string failure_notice, success_notice, delay_notice;
  std::string failure_error, success_error, delay_error, write_error, move_error;
  bool failed_marked = false;
  bool removed = false;
  bool moved = false;
  bool vanished = false;
};

Scheduler::Scheduler(event::Loop& loop, event::WorkerPool& pool, const Settings& settings, ActiveSet& active)
    : loop_(loop), pool_(pool), settings_(settings), active_(active) {
  retry_timer_ = event::Timer(loop_, [this] {
    auto now = loop_.clock().now();
    for (auto it = dead_until_.begin(); it != dead_until_.end();) it = it->second <= now ? dead_until_.erase(it) : std::next(it);
    for (auto& [k, d] : dests_) dispatch(*d);
    if (!dead_until_.empty()) {
      MonoTime next = MonoTime::max();
      for (auto& [t, when] : dead_until_) next = std::min(next, when);
      retry_timer_.start(next - now);
    }
  });
  sweep_timer_ = event::Timer(loop_, [this] { sweep(); });
  sweep_timer_.start_every(std::chrono::seconds(1));
}

Scheduler::~Scheduler() {
  *alive_ = false;
  stop();
}

void Scheduler::stop() {
  stopped_ = true;
  retry_timer_ = event::Timer();
  sweep_timer_ = event::Timer();
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& [tag, c] : conns) {
    if (c->agent) c->agent->close("qmgr stopping");
  }
  conns.clear();
  graveyard_.clear();
}

std::string Scheduler::path_for(const std::string& transport) const {
  if (socket_path) return socket_path(transport);
  return settings_.queue_dir + "/private/" + transport;
}

void Scheduler::take(const std::string& id, const FileKey& file) {
  if (auto it = messages_.find(id); it != messages_.end()) {
    if (it->second->finishing) {
      it->second->retake = true;
      it->second->retake_key = file;
      return;
    }
    forget(id);
  }
  auto m = std::make_shared<Message>();
  m->id = id;
  m->key = file;
  m->taken_wall = loop_.clock().wall_now();
  m->taken_mono = loop_.clock().now();
  messages_[id] = m;
  m->io++;
  auto out = std::make_shared<LoadOut>();
  std::string path = queue::path_of(settings_.queue_dir, Queue::kActive, id);
  const Settings* s = &settings_;
  std::string qdir = settings_.queue_dir;
  pool_.submit(
      [out, path, s, qdir, id, file = m->file] {
        auto r = queue::QfileReader::open(path, queue::OpenMode::kReadWrite);
        if (!r) {
          if (vanished(r.error())) {
            out->gone = true;
            return;
          }
          out->error = r.error().text;
          if (r.error().code == Errc::kCorrupt) {
            log::warning("%s: cannot read the queue file, moving it to corrupt/: %s", id.c_str(),
                         r.error().text.c_str());
            if (auto st = queue::move(qdir, id, Queue::kActive, Queue::kCorrupt); !st)
              log::error("%s: cannot move to corrupt/: %s", id.c_str(), st.error().text.c_str());
            out->gone = true;
          }
          return;
        }
        out->env = r->envelope();
        out->received = count_received(*r);
        for (const auto& rc : out->env.recipients) {
          RouteOut ro;
          if (!queue::is_final(rc.status)) {
            auto route = qmgr::route(rc.address, s->routing);
            if (route) {
              ro.ok = true;
              ro.route = std::move(*route);
            } else {
              ro.error = route.take_error();
            }
          }
          out->routes.push_back(std::move(ro));
        }
        std::lock_guard<std::mutex> lock(file->mu);
        file->reader.emplace(std::move(*r));
        out->ok = true;
      },
      [this, alive = std::weak_ptr<bool>(alive_), m, out] {
        if (alive.expired()) return;
        m->io--;
        if (m->gone) return maybe_finish(m);
        if (!out->ok) {
          if (!out->gone) log::error("%s: cannot open the queue file: %s", m->id.c_str(), out->error.c_str());
          messages_.erase(m->id);
          active_.forget(m->id);  // a file still there goes back to incoming/ with the next scan
          if (on_room) on_room();
          return;
        }
        m->env = std::move(out->env);
        m->rcpts.resize(m->env.recipients.size());
        for (size_t i = 0; i < m->rcpts.size(); ++i) {
          auto& rc = m->rcpts[i];
          rc.final_at_load = queue::is_final(m->env.recipients[i].status);
          if (rc.final_at_load) continue;
          const auto& ro = out->routes[i];
          if (ro.ok) {
            rc.route = ro.route;
          } else {
            // A table that failed, or a value that names nothing: the
            // configuration is wrong, not the recipient; try again later.
            rc.route.kind = RouteKind::kError;
            rc.route.dsn = ro.error.code == Errc::kTemporary ? "4.3.0" : "4.3.5";
            rc.route.text = (ro.error.code == Errc::kTemporary ? "transport_maps lookup failure: "
                                                                : "mail system configuration error: ") +
                            ro.error.text;
          }
        }
        if (settings_.hopcount_limit > 0 && out->received > settings_.hopcount_limit) {
          for (auto& rc : m->rcpts) {
            if (rc.final_at_load) continue;
            rc.route.kind = RouteKind::kError;
            rc.route.dsn = "5.4.6";
            rc.route.text = "hop count exceeded - possible mail loop";
          }
        }
        loaded(m);
      });
}

void Scheduler::loaded(std::shared_ptr<Message> m) {
  std::vector<std::pair<size_t, int>> write_now;
  double b = seconds(loop_.clock().now() - m->taken_mono);
  for (size_t i = 0; i < m->rcpts.size(); ++i) {
    auto& rc = m->rcpts[i];
    if (rc.final_at_load) continue;
    if (rc.route.kind == RouteKind::kDeliver) {
      m->unresolved++;
      continue;
    }
    DeliveryResult r;
    r.index = i;
    r.relay = "none";
    if (rc.route.kind == RouteKind::kDiscard) {
      r.action = DeliveryAction::kDelivered;
      r.dsn = "2.0.0";
      r.reason = rc.route.text;
    } else {
      r.action = rc.route.dsn[0] == '5' ? DeliveryAction::kBounced : DeliveryAction::kDeferred;
      r.dsn = rc.route.dsn;
      r.reason = rc.route.text;
    }
    outcome(*m, i, std::move(r), b, 0, 0, write_now);
  }
  if (!write_now.empty()) write_statuses(m, std::move(write_now));
  enqueue(m);
  maybe_finish(m);
}

void Scheduler::enqueue(const std::shared_ptr<Message>& m) {
  // Per destination, in recipient order.
  std::map<std::string, std::vector<size_t>> groups;
  std::vector<std::string> order;
  for (size_t i = 0; i < m->rcpts.size(); ++i) {
    auto& rc = m->rcpts[i];
    if (rc.final_at_load || rc.has || rc.route.kind != RouteKind::kDeliver) continue;
    std::string key = rc.route.transport + "\t" + rc.route.nexthop;
    auto [it, fresh] = groups.try_emplace(key);
    if (fresh) order.push_back(key);
    it->second.push_back(i);
  }
  for (const auto& key : order) {
    auto& idx = groups[key];
    const Route& route = m->rcpts[idx[0]].route;
    auto& dp = dests_[key];
    if (!dp) {
      dp = std::make_unique<Destination>();
      dp->transport = route.transport;
      dp->nexthop = route.nexthop;
      dp->protocol = route.protocol;
      dp->limits = settings_.limits(route.transport);
    }
    size_t per = std::clamp<size_t>(dp->limits.recipients, 1, ipc::kDeliveryMaxRecipients);
    for (size_t start = 0; start < idx.size(); start += per) {
      Batch b;
      b.msg = m;
      b.idx.assign(idx.begin() + static_cast<long>(start), idx.begin() + static_cast<long>(std::min(idx.size(), start + per)));
      dp->queue.push_back(std::move(b));
    }
    dispatch(*dp);
  }
}

void Scheduler::dispatch(Destination& d) {
  if (stopped_) return;
  if (auto it = dead_until_.find(d.transport); it != dead_until_.end()) return;
  while (!d.queue.empty()) {
    Batch& front = d.queue.front();
    if (front.msg->gone) {
      auto m = front.msg;
      m->unresolved -= static_cast<int>(front.idx.size());
      d.queue.pop_front();
      maybe_finish(m);
      continue;
    }
    Conn* idle = nullptr;
    for (uint64_t tag : d.conns) {
      auto& c = conns_.at(tag);
      if (c->agent->ready() && !c->batch) {
        idle = c.get();
        break;
      }
    }
    if (idle) {
      Batch b = std::move(d.queue.front());
      d.queue.pop_front();
      ipc::DeliveryRequest req;
      req.queue_id = b.msg->id;
      req.queue_file = queue::relative_path_of(Queue::kActive, b.msg->id);
      req.transport = d.transport;
      req.protocol = d.protocol;
      req.nexthop = d.nexthop;
      for (size_t i : b.idx) req.recipients.push_back({i, b.msg->env.recipients[i].address});
      idle->batch = std::move(b);
      idle->sent_at = loop_.clock().now();
      idle->agent->send(req);
      continue;
    }
    if (d.connecting < d.queue.size() && d.conns.size() < static_cast<size_t>(std::max(1, d.limits.concurrency))) {
      if (!open_conn(d)) return;
      continue;
    }
    break;
  }
}

bool Scheduler::open_conn(Destination& d) {
  std::string path = path_for(d.transport);
  auto fd = AgentConn::connect_unix(path);
  if (!fd) {
    throttle(d.transport, fd.error().text);
    return false;
  }
  uint64_t tag = next_tag_++;
  auto c = std::make_unique<Conn>();
  c->dest = &d;
  AgentConn::Events ev;
  ev.ready = [this](AgentConn& a) { conn_ready(a); };
  ev.answer = [this](AgentConn& a, std::vector<DeliveryResult> r, ipc::DeliveryDone done) {
    conn_answer(a, std::move(r), std::move(done));
  };
  ev.closed = [this](AgentConn& a, std::vector<DeliveryResult> r, const std::string& why, bool outstanding) {
    conn_closed(a, std::move(r), why, outstanding);
  };
  c->agent = std::make_unique<AgentConn>(loop_, std::move(*fd), std::move(ev));
  c->agent->tag = tag;
  d.conns.insert(tag);
  d.connecting++;
  stats_.max_connections = std::max(stats_.max_connections, static_cast<int>(d.conns.size()));
  conns_[tag] = std::move(c);
  return true;
}

void Scheduler::throttle(const std::string& transport, const std::string& why) {
  auto now = loop_.clock().now();
  log::warning("delivery agent private/%s: %s; its mail waits %g s", transport.c_str(), why.c_str(),
               seconds(settings_.transport_retry));
  dead_until_[transport] = now + settings_.transport_retry;
  if (!retry_timer_.pending()) retry_timer_.start(settings_.transport_retry);
}

void Scheduler::flush() {
  dead_until_.clear();
  for (auto& [k, d] : dests_) dispatch(*d);
}

void Scheduler::conn_ready(AgentConn& a) {
  auto it = conns_.find(a.tag);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  c.dest->connecting--;
  c.idle_since = loop_.clock().now();
  dispatch(*c.dest);
}

void Scheduler::conn_answer(AgentConn& a, std::vector<DeliveryResult> results, ipc::DeliveryDone done) {
  auto it = conns_.find(a.tag);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (c.batch) {
    Batch b = std::move(*c.batch);
    c.batch.reset();
    settle_batch(b, c.sent_at, std::move(results), &done, "");
  }
  c.idle_since = loop_.clock().now();
  dispatch(*c.dest);
}

void Scheduler::conn_closed(AgentConn& a, std::vector<DeliveryResult> results, const std::string& why, bool outstanding) {
  auto it = conns_.find(a.tag);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> c = std::move(it->second);
  conns_.erase(it);
  Destination& d = *c->dest;
  d.conns.erase(a.tag);
  if (!a.greeted()) {
    d.connecting--;
    throttle(d.transport, "closed before its greeting: " + why);
  }
  if (c->batch) {
    Batch b = std::move(*c->batch);
    c->batch.reset();
    if (outstanding) {
      settle_batch(b, c->sent_at, std::move(results), nullptr, why);
    } else {
      d.queue.push_front(std::move(b));
    }
  }
  graveyard_.push_back(std::move(c));  // destroyed later, not inside its own callback
  dispatch(d);
}

void Scheduler::settle_batch(const Batch& b, MonoTime sent_at, std::vector<DeliveryResult> results,
                             const ipc::DeliveryDone* done, const std::string& lost) {
  auto m = b.msg;
  double bdelay = seconds(sent_at - m->taken_mono);
  double c = done ? done->setup : 0, d = done ? done->xfer : 0;
  std::vector<std::pair<size_t, int>> write_now;
  for (size_t i : b.idx) {
    auto r = std::find_if(results.begin(), results.end(), [&](const DeliveryResult& x) { return x.index == i; });
    DeliveryResult res;
    if (r != results.end()) {
      res = std::move(*r);
    } else {
      res.index = i;
      res.action = DeliveryAction::kDeferred;
      res.dsn = "4.3.0";
      res.relay = "none";
      res.reason = lost.empty() ? "delivery agent gave no answer for this recipient"
                                : "lost connection with delivery agent private/" +
                                      m->rcpts[i].route.transport + " (" + lost + ")";
    }
    outcome(*m, i, std::move(res), bdelay, c, d, write_now);
  }
  m->unresolved -= static_cast<int>(b.idx.size());
  if (!write_now.empty()) {
    if (m->unresolved > 0 || m->io > 0) {
      write_statuses(m, std::move(write_now));
    } else {
      // The last answer of the pass: the finish step comes next, and it
      // either removes the file (then the unlink is the record, as in
      // Postfix: a crash before it can only repeat a delivery) or writes
      // these statuses before the file moves on. One fsync saved per
      // message.
      for (auto& [i, st] : write_now) m->rcpts[i].unrecorded = true;
    }
  }
  maybe_finish(m);
}

void Scheduler::outcome(Message& m, size_t index, DeliveryResult r, double b, double c, double d,
                        std::vector<std::pair<size_t, int>>& write_now) {
  auto& rc = m.rcpts[index];
  const auto& q = m.env.recipients[index];
  WallTime now = loop_.clock().wall_now();
  double a = std::max(0.0, seconds(m.taken_wall - m.env.arrival));
  double delay = std::max(0.0, seconds(now - m.env.arrival));
  const char* status = "deferred";
  switch (r.action) {
    case DeliveryAction::kDelivered:
    case DeliveryAction::kRelayed: status = "sent"; break;
    case DeliveryAction::kBounced: status = "bounced"; break;
    case DeliveryAction::kDeferred: status = "deferred"; break;
  }
  std::string orig = q.original.empty() || q.original == q.address ? "" : ", orig_to=<" + q.original + ">";
  log::info("%s: to=<%s>%s, relay=%s, delay=%s, delays=%s/%s/%s/%s, dsn=%s, status=%s (%s)", m.id.c_str(),
            q.address.c_str(), orig.c_str(), r.relay.empty() ? "none" : r.relay.c_str(), format_delay(delay).c_str(),
            format_delay(a).c_str(), format_delay(std::max(0.0, b)).c_str(), format_delay(c).c_str(),
            format_delay(d).c_str(), r.dsn.empty() ? "4.0.0" : r.dsn.c_str(), status, r.reason.c_str());
  rc.has = true;
  rc.at = now;
  rc.result = std::move(r);
  switch (rc.result.action) {
    case DeliveryAction::kDelivered:
    case DeliveryAction::kRelayed:
      stats_.delivered++;
      if (wants_notice(m.env, q, NoticeKind::kSuccess)) {
        rc.hold = true;
      } else {
        write_now.emplace_back(index, static_cast<int>(rc.result.action == DeliveryAction::kRelayed
                                                           ? RcptStatus::kRelayed
                                                           : RcptStatus::kDelivered));
      }
      break;
    case DeliveryAction::kBounced:
      stats_.bounced++;
      rc.hold = true;
      break;
    case DeliveryAction::kDeferred: break;
  }
}

void Scheduler::write_statuses(const std::shared_ptr<Message>& m, std::vector<std::pair<size_t, int>> changes) {
  m->io++;
  auto err = std::make_shared<std::string>();
  std::vector<std::pair<size_t, RcptStatus>> ch;
  for (auto& [i, s] : changes) ch.emplace_back(i, static_cast<RcptStatus>(s));
  pool_.submit(
      [file = m->file, ch, err] {
        std::lock_guard<std::mutex> lock(file->mu);
        if (auto st = file->reader->set_recipient_statuses(ch); !st) *err = st.error().text;
      },
      [this, alive = std::weak_ptr<bool>(alive_), m, ch, err] {
        if (alive.expired()) return;
        m->io--;
        if (!err->empty()) {
          log::error("%s: cannot record delivery status: %s", m->id.c_str(), err->c_str());
          for (auto& [i, s] : ch) m->rcpts[i].write_failed = true;
        }
        maybe_finish(m);
      });
}

void Scheduler::forget(const std::string& id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return;
  auto m = it->second;
  messages_.erase(it);
  m->gone = true;
  for (auto& [k, d] : dests_) {
    for (auto b = d->queue.begin(); b != d->queue.end();) {
      if (b->msg == m) {
        m->unresolved -= static_cast<int>(b->idx.size());
        b = d->queue.erase(b);
      } else {
        ++b;
      }
    }
  }
  maybe_finish(m);
}

void Scheduler::maybe_finish(const std::shared_ptr<Message>& m) {
  if (m->unresolved > 0 || m->io > 0 || m->finishing) return;
  if (m->rcpts.empty() && m->gone) return;  // never loaded
  m->finishing = true;
  auto plan = std::make_shared<FinishPlan>();
  plan->gone = m->gone;
  WallTime now = loop_.clock().wall_now();
  bool any_deferred = false;
  for (size_t i = 0; i < m->rcpts.size(); ++i) {
    const auto& rc = m->rcpts[i];
    if (rc.final_at_load) continue;
    if (!rc.has || rc.result.action == DeliveryAction::kDeferred) {
      any_deferred = true;
      if (rc.has)
        plan->deferred.push_back({i, m->env.recipients[i].address, rc.result.dsn, rc.result.relay, rc.result.reason,
                                  rc.result.reply, rc.at});
    }
  }
  bool expire = any_deferred && !m->gone && expired(m->env.arrival, now, m->env.sender.empty(), settings_.backoff);
  if (expire) log::info("%s: from=<%s>, status=expired, returned to sender", m->id.c_str(), m->env.sender.c_str());
  for (size_t i = 0; i < m->rcpts.size(); ++i) {
    const auto& rc = m->rcpts[i];
    if (rc.final_at_load) continue;
    const auto& r = rc.result;
    NoticeRecipient n;
    n.index = i;
    n.status = r.dsn;
    n.relay = r.relay;
    n.reason = r.reason;
    n.reply = r.reply;
    n.last_attempt = rc.has ? rc.at : now;
    bool deferred = !rc.has || r.action == DeliveryAction::kDeferred;
    if (deferred && expire && rc.has) {
      // RFC 3463: a failure is class 5; the subject and detail of the last
      // deferral say why.
      n.status = (r.dsn.size() > 1 && r.dsn[0] == '4') ? "5" + r.dsn.substr(1) : "5.4.7";
      plan->failed.push_back(n);
    } else if (rc.has && r.action == DeliveryAction::kBounced) {
      plan->failed.push_back(n);
    } else if (rc.has && rc.hold) {
      n.relayed = r.action == DeliveryAction::kRelayed;
      plan->succeeded.push_back(n);
    } else if (rc.has && (rc.write_failed || rc.unrecorded)) {
      plan->plain.emplace_back(i, r.action == DeliveryAction::kRelayed ? RcptStatus::kRelayed : RcptStatus::kDelivered);
    }
  }
  plan->all_final = !any_deferred || expire;
  plan->delay_warning = !plan->all_final && !m->gone && delay_warning_due(m->env, now, settings_.delay_warning);
  plan->next_attempt = now + backoff_delay(m->env.arrival, now, settings_.backoff);
  if (!m->gone) active_.pin(m->id, true);
  auto res = std::make_shared<FinishResult>();
  const Settings* s = &settings_;
  Clock* clock = &loop_.clock();
  std::string id = m->id;
  FileKey key = m->key;
  pool_.submit(
      [plan, res, s, clock, id, key, file = m->file] {
        std::lock_guard<std::mutex> lock(file->mu);
        auto& reader = *file->reader;
        const auto& env = reader.envelope();
        std::vector<std::pair<size_t, RcptStatus>> changes = plan->plain;
        bool all_final = plan->all_final;
        if (!plan->failed.empty()) {
          std::vector<NoticeRecipient> tell;
          for (const auto& n : plan->failed) {
            if (env.sender.empty() || wants_notice(env, env.recipients[n.index], NoticeKind::kFailure)) tell.push_back(n);
          }
          auto r = tell.empty() ? Result<std::string>(std::string()) : queue_notice(NoticeKind::kFailure, reader, tell, *s, *clock);
          if (r) {
            res->failure_notice = *r;
            res->failed_marked = true;
            for (const auto& n : plan->failed) changes.emplace_back(n.index, RcptStatus::kBounced);
          } else {
            // Not marked: the recipients are tried again, and bounce again.
            res->failure_error = r.error().text;
            all_final = false;
          }
        }
        if (!plan->succeeded.empty()) {
          auto r = queue_notice(NoticeKind::kSuccess, reader, plan->succeeded, *s, *clock);
          if (r) res->success_notice = *r;
          else res->success_error = r.error().text;  // delivered all the same: a lost report beats a duplicate
          for (const auto& n : plan->succeeded)
            changes.emplace_back(n.index, n.relayed ? RcptStatus::kRelayed : RcptStatus::kDelivered);
        }
        // Statuses of a message about to be removed need no write of their
        // own (the unlink records them), unless notices were queued for
        // them: then they are marked before anything else can happen.
        bool removing = all_final && !plan->gone && plan->failed.empty() && plan->succeeded.empty();
        if (!removing) {
          if (plan->delay_warning && all_final == plan->all_final) {
          // The message stays deferred (no failure notice failed): the one
          // delay report, then its recipients marked "delayed".
          std::vector<size_t> marked;
          auto r = queue_delay_warning(reader, plan->deferred, *s, *clock, marked);
          if (r) {
            res->delay_notice = *r;
            for (size_t i : marked) changes.emplace_back(i, RcptStatus::kDelayed);
          } else {
            res->delay_error = r.error().text;
          }
        }
        if (auto st = reader.set_recipient_statuses(changes); !st) {
            res->write_error = st.error().text;
            all_final = false;
          }
        }
        if (plan->gone) return;
        std::string path = queue::path_of(s->queue_dir, Queue::kActive, id);
        if (!same_file(path, key)) {
          res->vanished = true;
          return;
        }
        if (all_final) {
          if (::unlink(path.c_str()) != 0) {
            if (errno == ENOENT) {
              res->vanished = true;
            } else {
              res->move_error = std::string("unlink: ") + std::strerror(errno);
              // The file stays: its statuses must say what was done.
              if (auto st = reader.set_recipient_statuses(changes); !st) res->write_error = st.error().text;
            }
            return;
          }
          // No fsync of active/: an unlink lost in a crash brings the
          // message back, and the recipients already done get it again (a
          // duplicate, never a loss; Postfix does not sync it either).
          if (auto st = remove_defer_log(s->queue_dir, id); !st) res->move_error = st.error().text;
          res->removed = true;
          return;
        }
        if (auto st = write_defer_log(s->queue_dir, id, plan->deferred); !st)
          log::warning("%s: cannot write the defer log: %s", id.c_str(), st.error().text.c_str());
        auto secs = std::chrono::duration_cast<std::chrono::nanoseconds>(plan->next_attempt.time_since_epoch()).count();
        struct timespec times[2];
        times[0].tv_sec = static_cast<time_t>(secs / 1000000000);
        times[0].tv_nsec = static_cast<long>(secs % 1000000000);
        times[1] = times[0];
        if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0)
          log::warning("%s: cannot set the next attempt time: %s", id.c_str(), std::strerror(errno));
        if (auto st = queue::move(s->queue_dir, id, Queue::kActive, Queue::kDeferred); !st) {
          if (vanished(st.error())) res->vanished = true;
          else res->move_error = st.error().text;
          return;
        }
        res->moved = true;
      },
      [this, alive = std::weak_ptr<bool>(alive_), m, res] {
        if (alive.expired()) return;
        finished(m, *res);
      });
}

void Scheduler::finished(const std::shared_ptr<Message>& m, FinishResult& r) {
  const char* id = m->id.c_str();
  if (!r.failure_notice.empty()) log::info("%s: sender non-delivery notification: %s", id, r.failure_notice.c_str());
  if (!r.success_notice.empty()) log::info("%s: sender delivery status notification: %s", id, r.success_notice.c_str());
  if (!r.delay_notice.empty()) log::info("%s: sender delay notification: %s", id, r.delay_notice.c_str());
  if (!r.delay_error.empty())
    log::warning("%s: cannot queue the delay notification (tried again next time): %s", id, r.delay_error.c_str());
  if (!r.failure_error.empty())
    log::warning("%s: cannot queue the non-delivery notification, the recipients stay deferred: %s", id,
                 r.failure_error.c_str());
  if (!r.success_error.empty())
    log::warning("%s: cannot queue the delivery status notification: %s", id, r.success_error.c_str());
  if (!r.write_error.empty()) log::error("%s: cannot record delivery status: %s", id, r.write_error.c_str());
  if (!r.move_error.empty()) log::error("%s: %s", id, r.move_error.c_str());
  if (r.removed) {
    log::info("%s: removed", id);
    stats_.removed++;
  }
  if (r.moved) stats_.deferred++;
  auto it = messages_.find(m->id);
  bool current = it != messages_.end() && it->second == m;
  if (current) messages_.erase(it);
  if (!m->gone) {
    if (m->retake) {
      active_.pin(m->id, false);
      if (active_.contains(m->id)) take(m->id, m->retake_key);
    } else {
      active_.forget(m->id);
    }
  }
  if (on_room) on_room();
}

void Scheduler::sweep() {
  graveyard_.clear();
  auto now = loop_.clock().now();
  std::vector<AgentConn*> idle;
  for (auto& [tag, c] : conns_) {
    if (c->agent->ready() && !c->batch && c->dest->queue.empty() && now - c->idle_since > kIdleClose)
      idle.push_back(c->agent.get());
  }
  for (auto* a : idle) a->close("idle");
}

}  // namespace tern::qmgr
