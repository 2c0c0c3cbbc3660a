#include "showq/session.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/base/log.h"
#include "common/ipc/escape.h"
#include "common/queue/queue_listing.h"
#include "common/queue/showq_protocol.h"

namespace tern::showq {

namespace proto = queue::showq;

Session::Session(event::Loop& loop, event::WorkerPool& pool, Fd fd, std::string queue_dir,
                 std::function<void(Session*)> on_closed)
    : loop_(loop), pool_(pool), fd_(std::move(fd)), queue_dir_(std::move(queue_dir)), on_closed_(std::move(on_closed)) {}

void Session::start() {
  (void)set_nonblocking(fd_.get());
  watch_ = event::IoWatch(loop_, fd_.get(), event::IoWatch::kRead, [this](short ev) { on_events(ev); });
  timer_ = event::Timer(loop_, [this] {
    close(lingering_ ? "done" : have_request_ ? "client does not read" : "no request in time");
  });
  timer_.start(kRequestTimeout);
  out_ = ipc::Version{std::string(proto::kProto), proto::kMajor, proto::kMinor}.format();
  flush();
}

void Session::close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  log::debug("showq: client closed: %s (%zu messages listed)", why.c_str(), sent_);
  // Destroyed, not only cancelled (safe from inside their own callbacks):
  // a worker job in flight keeps this session alive, possibly past the
  // loop, which must not outlive a watch.
  watch_ = event::IoWatch();
  timer_ = event::Timer();
  fd_.reset();
  in_.clear();
  out_.clear();
  ids_.clear();
  if (on_closed_) on_closed_(this);
}

void Session::on_events(short events) {
  if (closed_) return;
  if (events & event::IoWatch::kWrite) flush();
  if (!closed_ && (events & event::IoWatch::kRead)) read_request();
}

void Session::read_request() {
  char buf[2048];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return close(std::string("read: ") + std::strerror(errno));
  }
  if (n == 0) {
    if (!have_request_ || lingering_) return close(lingering_ ? "done" : "disconnected");
    // Half-closed after its request (shutdown(SHUT_WR)): still listening.
    read_closed_ = true;
    return want_write();
  }
  if (have_request_) return;  // one request per connection: the rest is discarded
  in_.append(buf, static_cast<size_t>(n));
  size_t nl = in_.find('\n');
  if (nl == std::string::npos) {
    if (in_.size() > proto::kMaxRequestLine) {
      have_request_ = true;
      finished_ = true;
      out_ += proto::format_error("request line too long");
      flush();
    }
    return;
  }
  have_request_ = true;
  auto req = proto::Request::parse(std::string_view(in_).substr(0, nl));
  in_.clear();
  if (!req) {
    finished_ = true;
    out_ += proto::format_error(req.error().text);
    return flush();
  }
  timer_.start(kIdleTimeout);
  list_ids(req->id);
}

void Session::list_ids(std::string only_id) {
  job_running_ = true;
  auto self = shared_from_this();
  auto result = std::make_shared<Result<std::vector<std::pair<queue::Queue, std::string>>>>(
      std::vector<std::pair<queue::Queue, std::string>>{});
  std::string dir = queue_dir_;
  pool_.submit([dir, only_id, result] { *result = queue::listed_ids(dir, only_id); },
               [self, result] {
                 self->job_running_ = false;
                 if (self->closed_) return;
                 if (!*result) {
                   log::warning("showq: %s", result->error().text.c_str());
                   self->finished_ = true;
                   self->out_ += proto::format_error("cannot read the queue");
                   return self->flush();
                 }
                 self->ids_ = std::move(**result);
                 self->next_batch();
               });
}

void Session::next_batch() {
  if (closed_ || job_running_ || finished_) return;
  if (next_ >= ids_.size()) {
    finished_ = true;
    out_ += proto::format_end(sent_);
    return flush();
  }
  job_running_ = true;
  struct Batch {
    std::string text;
    size_t consumed = 0;  // ids read (listed or skipped)
    size_t entries = 0;
  };
  auto batch = std::make_shared<Batch>();
  std::vector<std::pair<queue::Queue, std::string>> todo(
      ids_.begin() + static_cast<long>(next_),
      ids_.begin() + static_cast<long>(std::min(ids_.size(), next_ + kBatchEntries)));
  std::string dir = queue_dir_;
  auto self = shared_from_this();
  pool_.submit(
      [dir, todo = std::move(todo), batch] {
        for (const auto& [q, id] : todo) {
          ++batch->consumed;
          auto e = queue::read_listing_entry(dir, q, id);
          if (!e) continue;  // delivered or moved meanwhile, or corrupt
          batch->text += proto::format_entry(*e);
          ++batch->entries;
          if (batch->text.size() >= kBatchBytes) break;
        }
      },
      [self, batch] {
        self->job_running_ = false;
        if (self->closed_) return;
        self->next_ += batch->consumed;
        self->sent_ += batch->entries;
        self->out_ += batch->text;
        self->flush();
      });
}

void Session::flush() {
  while (!out_.empty() && !closed_) {
    ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close(std::string("write: ") + std::strerror(errno));
    }
    out_.erase(0, static_cast<size_t>(n));
    if (have_request_ && !lingering_) timer_.start(kIdleTimeout);  // progress
  }
  if (closed_) return;
  if (out_.empty() && finished_) return linger();
  if (have_request_ && out_.size() < kLowWater) next_batch();
  if (closed_) return;
  want_write();
}

// Everything is sent. Closing now with unread input in the socket (more
// than the request, or an over-long one) would make the kernel reset the
// connection, and the client could lose the reply it has not read yet: shut
// down our side and let the client close first (or kLingerTimeout pass).
void Session::linger() {
  if (read_closed_) return close("done");
  if (lingering_) return;
  lingering_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  timer_.start(kLingerTimeout);
  watch_.set_events(event::IoWatch::kRead);
}

void Session::want_write() {
  short events = (read_closed_ ? 0 : event::IoWatch::kRead) | (out_.empty() ? 0 : event::IoWatch::kWrite);
  watch_.set_events(events);
}

}  // namespace tern::showq
