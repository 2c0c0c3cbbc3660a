#include "common/ipc/anvil_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/ipc/escape.h"

namespace tern::ipc {

AnvilClient::AnvilClient(event::Loop& loop, std::string socket_path, Duration timeout)
    : loop_(loop), path_(std::move(socket_path)), timeout_(timeout) {
  deadline_ = event::Timer(loop_, [this] {
    lose("no answer within " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()) +
             "s",
         true);
  });
  later_ = event::Timer(loop_, [this] { run_later(); });
}

AnvilClient::~AnvilClient() = default;

bool AnvilClient::connect_now() {
  if (io_) return true;
  MonoTime now = loop_.clock().now();
  if (now < retry_at_) return false;
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    lose(std::string("socket: ") + std::strerror(errno), true);
    return false;
  }
  Fd fd(s);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path_.size() >= sizeof sun.sun_path) {
    lose("socket path too long", true);
    return false;
  }
  std::memcpy(sun.sun_path, path_.c_str(), path_.size() + 1);
  // A unix stream connect completes or fails at once; EAGAIN means the
  // listener's backlog is full, which is a failure to try again later.
  if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0) {
    lose(std::string("connect: ") + std::strerror(errno), true);
    return false;
  }
  serial_ = next_serial_++;
  greeted_ = false;
  io_ = std::make_unique<LineIo>(
      loop_, std::move(fd), kAnvilMaxLine, [this](std::string_view line) { on_line(line); },
      [this](const std::string& why) { lose(why, false); });
  return true;
}

uint64_t AnvilClient::request(const AnvilRequest& r, Done done) {
  if (!connect_now()) {
    failed_.push_back(std::move(done));
    if (!later_.pending()) later_.start(Duration::zero());
    return 0;
  }
  pending_.push_back({std::move(done), loop_.clock().now() + timeout_});
  uint64_t serial = serial_;
  io_->send(r.format());  // a failed write closes: lose() takes the request with it
  if (!io_) return 0;
  arm_deadline();
  return serial;
}

void AnvilClient::send_if(uint64_t serial, const AnvilRequest& r) {
  if (serial == 0 || serial != serial_ || !io_) return;
  request(r, nullptr);
}

void AnvilClient::on_line(std::string_view line) {
  if (!greeted_) {
    auto v = Version::parse(line);
    Status s = v ? check_version(*v, kAnvilProto, kAnvilMajor) : Status(v.take_error());
    if (!s) return io_->close("bad greeting: " + s.error().text);
    greeted_ = true;
    return;
  }
  if (pending_.empty()) return io_->close("a reply to no request");
  auto reply = AnvilReply::parse(line);
  if (!reply) return io_->close("bad reply: " + reply.error().text);
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  arm_deadline();
  down_ = false;
  retry_delay_ = kMinRetryDelay;
  if (!reply->ok) warn("anvil refused a request: " + reply->reason);
  // May send more requests, or close this connection (a failed write):
  // both are safe here, the LineIo stays until later_ frees it.
  if (p.done) p.done(reply->ok ? &*reply : nullptr);
}

void AnvilClient::lose(const std::string& why, bool back_off) {
  bool had_requests = !pending_.empty();
  for (auto& p : pending_) failed_.push_back(std::move(p.done));
  pending_.clear();
  deadline_.cancel();
  if (io_) {
    io_->close(why);  // no-op when it closed itself; on_close re-enters with io_ already null
    if (io_) dead_.push_back(std::move(io_));
  }
  serial_ = 0;
  if (back_off) {
    retry_at_ = loop_.clock().now() + retry_delay_;
    retry_delay_ = std::min(retry_delay_ * 2, kMaxRetryDelay);
  }
  // An idle connection that anvil closed (a restart, a reload) is simply
  // opened again by the next request: nothing to warn about.
  if (back_off || had_requests) warn(why);
  if (!failed_.empty() || !dead_.empty()) later_.start(Duration::zero());
}

void AnvilClient::warn(const std::string& why) {
  MonoTime now = loop_.clock().now();
  if (down_ && now - last_warning_ < kWarningInterval) return;
  down_ = true;
  last_warning_ = now;
  log::warning("problem talking to server %s: %s; per-client limits are not enforced until it answers",
               path_.c_str(), why.c_str());
}

void AnvilClient::arm_deadline() {
  if (pending_.empty()) return deadline_.cancel();
  deadline_.start(pending_.front().deadline - loop_.clock().now());
}

void AnvilClient::run_later() {
  dead_.clear();
  std::vector<Done> failed;
  failed.swap(failed_);
  for (auto& done : failed)
    if (done) done(nullptr);  // may send new requests (which may fail into failed_ again)
}

}  // namespace tern::ipc
