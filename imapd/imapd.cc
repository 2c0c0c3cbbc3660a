#include "imapd/imapd.h"

#include <sys/socket.h>

#include "common/base/log.h"
#include "imapd/folder_cache.h"

namespace tern::imapd {

Imapd::Imapd(event::Loop& loop, event::WorkerPool& workers, Settings settings)
    : loop_(loop), workers_(workers), settings_(std::move(settings)), folders_(std::make_unique<FolderCache>(loop, workers)) {}

Imapd::~Imapd() = default;

bool Imapd::full(int out_fd, const std::string& user) {
  if (sessions_.size() < static_cast<size_t>(settings_.client_limit)) return false;
  // The skeleton counts connections on login/imap; sessions past
  // client_limit still get a clear answer, never silence.
  static constexpr std::string_view kBye = "* BYE Too many connections on this server, try again later\r\n";
  (void)::send(out_fd, kBye.data(), kBye.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  log::warning("client_limit %d reached: refusing a session of %s", settings_.client_limit, user.c_str());
  if (on_end_) loop_.post([this] {
    if (on_end_) on_end_();
  });
  return true;
}

void Imapd::serve(Fd client, UserInfo user, ClientInfo info, std::optional<std::string> login_tag,
                  std::string pending) {
  if (full(client.get(), user.user)) return;
  auto s = std::make_unique<Session>(*this, std::move(client), Fd(), std::move(user), std::move(info));
  start_session(std::move(s), std::move(login_tag), std::move(pending));
}

void Imapd::serve(Fd in, Fd out, UserInfo user, ClientInfo info) {
  auto s = std::make_unique<Session>(*this, std::move(in), std::move(out), std::move(user), std::move(info));
  start_session(std::move(s), std::nullopt, "");
}

void Imapd::start_session(std::unique_ptr<Session> s, std::optional<std::string> login_tag, std::string pending) {
  Session* raw = s.get();
  sessions_[raw] = std::move(s);
  raw->start(std::move(login_tag), std::move(pending));
}

void Imapd::session_ended(Session* s) {
  // Destroyed from a posted function: the session's own callback is
  // still on the stack here.
  loop_.post([this, s] {
    if (sessions_.erase(s) && on_end_) on_end_();
  });
}

void Imapd::shutdown() {
  std::vector<Session*> open;
  for (auto& [raw, owned] : sessions_) open.push_back(raw);
  for (auto* s : open) s->shutdown();
}

}  // namespace tern::imapd
