#include "imapd/login/handoff_client.h"

#include <sys/socket.h>

#include <cerrno>

#include "common/ipc/escape.h"

namespace tern::imap_login {

HandoffClient::HandoffClient(event::Loop& loop, const std::string& socket_path, ipc::HandoffRequest request,
                             int client, Duration timeout, Done done)
    : loop_(loop), client_(client), line_(request.format()), done_(std::move(done)) {
  timer_ = event::Timer(loop_, [this] {
    finish(sent_ > 0 ? HandoffOutcome::kServed : HandoffOutcome::kUnavailable, "imapd did not answer in time");
  });
  auto fd = ipc::connect_unix(socket_path);
  if (!fd) {
    std::string why = fd.error().text;
    timer_ = event::Timer(loop_, [this, why] { finish(HandoffOutcome::kUnavailable, why); });
    timer_.start(Duration::zero());
    return;
  }
  fd_ = std::move(*fd);
  timer_.start(timeout);
  watch_ = event::IoWatch(loop_, fd_.get(), event::IoWatch::kRead, [this](short ev) { on_io(ev); });
}

HandoffClient::~HandoffClient() = default;

void HandoffClient::finish(HandoffOutcome outcome, const std::string& why) {
  watch_.cancel();
  timer_.cancel();
  fd_.reset();
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(outcome, why);  // may destroy *this
}

void HandoffClient::on_io(short events) {
  if (events & event::IoWatch::kWrite) {
    std::string_view rest = std::string_view(line_).substr(sent_);
    Result<size_t> n = sent_ == 0 ? ipc::send_with_fd(fd_.get(), rest, client_) : [&]() -> Result<size_t> {
      ssize_t k = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (k < 0) return sys_error("send");
      return static_cast<size_t>(k);
    }();
    if (!n) {
      if (n.error().err == EAGAIN || n.error().err == EINTR) return;
      return finish(sent_ > 0 ? HandoffOutcome::kServed : HandoffOutcome::kUnavailable, "imapd: " + n.error().text);
    }
    sent_ += *n;
    if (sent_ == line_.size()) watch_.set_events(event::IoWatch::kRead);
  }
  if (!(events & event::IoWatch::kRead)) return;
  char buf[1024];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // Once the descriptor went out, imapd's copy decides what happens.
    return finish(sent_ > 0 ? HandoffOutcome::kServed : HandoffOutcome::kUnavailable,
                  "imapd closed the handoff connection");
  }
  in_.append(buf, static_cast<size_t>(n));
  if (in_.size() > 4096) return finish(HandoffOutcome::kServed, "imapd: reply too long");
  size_t nl;
  while ((nl = in_.find('\n')) != std::string::npos) {
    std::string line = in_.substr(0, nl + 1);
    in_.erase(0, nl + 1);
    if (!greeted_) {
      auto v = ipc::Version::parse(line);
      if (!v) return finish(HandoffOutcome::kUnavailable, "imapd: " + v.error().text);
      if (auto st = ipc::check_version(*v, ipc::kHandoffProto, ipc::kHandoffMajor); !st)
        return finish(HandoffOutcome::kUnavailable, "imapd: " + st.error().text);
      greeted_ = true;
      watch_.set_events(event::IoWatch::kRead | event::IoWatch::kWrite);
      continue;
    }
    if (sent_ < line_.size()) return finish(HandoffOutcome::kUnavailable, "imapd answered before the request");
    auto l = ipc::Line::parse(line);
    if (l && l->command == "OK") return finish(HandoffOutcome::kServed, "");
    const std::string* reason = l ? l->get("reason") : nullptr;
    return finish(HandoffOutcome::kRefused, reason ? *reason : "imapd refused the handoff");
  }
}

}  // namespace tern::imap_login
