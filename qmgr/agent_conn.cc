#include "qmgr/agent_conn.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "common/base/log.h"
#include "common/ipc/escape.h"

namespace tern::qmgr {

Result<Fd> AgentConn::connect_unix(const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return invalid("socket path too long: " + path);
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return sys_error("socket");
  Fd fd(s);
  for (;;) {
    if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0) return fd;
    if (errno == EINTR) continue;
    return sys_error("connect to " + path);
  }
}

AgentConn::AgentConn(event::Loop& loop, Fd fd, Events events)
    : events_(std::move(events)),
      loop_(loop),
      timer_(loop, [this] { io_.close(greeted_ ? "timed out waiting for the answer" : "timed out waiting for the greeting"); }),
      io_(loop, std::move(fd), ipc::kDeliveryMaxLine, [this](std::string_view l) { on_line(l); },
          [this](const std::string& why) { on_close(why); }) {
  timer_.start(kGreetingTimeout);
}

void AgentConn::send(const ipc::DeliveryRequest& request) {
  busy_ = true;
  expected_.clear();
  results_.clear();
  for (const auto& r : request.recipients) expected_.push_back(r.index);
  timer_.start(kAnswerTimeout);
  io_.send(request.format());
}

void AgentConn::on_line(std::string_view line) {
  if (!greeted_) {
    auto v = ipc::Version::parse(line);
    if (!v) return io_.close("bad greeting: " + v.error().text);
    if (auto st = ipc::check_version(*v, ipc::kDeliveryProto, ipc::kDeliveryMajor); !st)
      return io_.close(st.error().text);
    greeted_ = true;
    timer_.cancel();
    if (events_.ready) events_.ready(*this);
    return;
  }
  if (!busy_) return io_.close("answer without a request");
  auto a = ipc::parse_delivery_answer(line);
  if (!a) return io_.close("malformed answer: " + a.error().text);
  if (a->result) {
    const auto& r = *a->result;
    bool asked = std::find(expected_.begin(), expected_.end(), r.index) != expected_.end();
    bool again = std::any_of(results_.begin(), results_.end(), [&](const auto& x) { return x.index == r.index; });
    if (!asked || again) {
      log::warning("delivery agent answered %s recipient %zu; ignored", again ? "twice for" : "for an unknown",
                   r.index);
      return;
    }
    results_.push_back(std::move(*a->result));
    return;
  }
  busy_ = false;
  timer_.cancel();
  auto results = std::move(results_);
  results_.clear();
  expected_.clear();
  if (events_.answer) events_.answer(*this, std::move(results), std::move(*a->done));
}

void AgentConn::on_close(const std::string& why) {
  timer_.cancel();
  bool outstanding = busy_;
  busy_ = false;
  auto results = std::move(results_);
  results_.clear();
  if (events_.closed) events_.closed(*this, std::move(results), why, outstanding);
}

}  // namespace tern::qmgr
