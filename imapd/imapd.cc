#include "imapd/imapd.h"

#include <sys/socket.h>

#include "common/base/log.h"
#include "imapd/folder_cache.h"

namespace tern::imapd {

Imapd::Imapd(event::Loop& loop, event::WorkerPool& workers, Settings settings)
    : loop_(loop), workers_(workers), settings_(std::move(settings)), folders_(std::make_unique<FolderCache>(loop, workers)) {}

Imapd::~Imapd() {
  *alive_ = false;
  // Sessions destroyed with the process: anvil forgets them when our
  // connection to it closes.
}

namespace {
// The service name imapd counts under in anvil (smtpd's are master.cf's
// service names: 25, submission, ...).
constexpr std::string_view kAnvilService = "imap";
}  // namespace

bool Imapd::full(int out_fd, const std::string& user) {
  if (sessions_.size() + waiting_.size() < static_cast<size_t>(settings_.client_limit)) return false;
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
  if (!anvil_ || settings_.max_userip <= 0) {
    auto s = std::make_unique<Session>(*this, std::move(client), Fd(), std::move(user), std::move(info));
    start_session(std::move(s), std::move(login_tag), std::move(pending));
    return;
  }
  // Dovecot's mail_max_userip_connections: count this session with anvil
  // first (every imapd process shares the count); serve it once anvil
  // answers, or at once if anvil is away (fail open).
  uint64_t id = next_waiting_++;
  Waiting& w = waiting_[id];
  w.key = (user.user + "/" + info.rip).substr(0, ipc::kAnvilMaxName);
  w.client = std::move(client);
  w.user = std::move(user);
  w.info = std::move(info);
  w.login_tag = std::move(login_tag);
  w.pending = std::move(pending);
  std::weak_ptr<bool> alive = alive_;
  w.anvil_conn = anvil_->request({ipc::AnvilCommand::kConnect, std::string(kAnvilService), w.key},
                                 [this, alive, id](const ipc::AnvilReply* r) {
                                   if (!alive.expired()) counted(id, r);
                                 });
}

void Imapd::counted(uint64_t id, const ipc::AnvilReply* reply) {
  auto it = waiting_.find(id);
  if (it == waiting_.end()) return;
  Waiting w = std::move(it->second);
  waiting_.erase(it);
  auto release = [&] {
    if (w.anvil_conn != 0)
      anvil_->send_if(w.anvil_conn, {ipc::AnvilCommand::kDisconnect, std::string(kAnvilService), w.key});
  };
  auto refuse = [&](const std::string& bye) {
    release();
    (void)::send(w.client.get(), bye.data(), bye.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (on_end_) on_end_();
  };
  if (stopping_) return refuse("* BYE Server shutting down.\r\n");
  if (reply && reply->count && *reply->count > settings_.max_userip) {
    log::info("imap(%s): Disconnected: Maximum number of connections from user+IP exceeded "
              "(mail_max_userip_connections=%d): rip=%s, lip=%s",
              w.user.user.c_str(), settings_.max_userip, w.info.rip.c_str(), w.info.lip.c_str());
    // RFC 5530 LIMIT: the user's own other connections are the cause.
    return refuse("* BYE [LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=" +
                  std::to_string(settings_.max_userip) + ")\r\n");
  }
  bool was_counted = reply != nullptr && w.anvil_conn != 0;
  auto s = std::make_unique<Session>(*this, std::move(w.client), Fd(), std::move(w.user), std::move(w.info));
  Session* raw = start_session(std::move(s), std::move(w.login_tag), std::move(w.pending));
  if (was_counted) counted_[raw] = {w.anvil_conn, std::move(w.key)};
}

void Imapd::serve(Fd in, Fd out, UserInfo user, ClientInfo info) {
  auto s = std::make_unique<Session>(*this, std::move(in), std::move(out), std::move(user), std::move(info));
  start_session(std::move(s), std::nullopt, "");
}

Session* Imapd::start_session(std::unique_ptr<Session> s, std::optional<std::string> login_tag, std::string pending) {
  Session* raw = s.get();
  sessions_[raw] = std::move(s);
  raw->start(std::move(login_tag), std::move(pending));
  return raw;
}

void Imapd::session_ended(Session* s) {
  // Destroyed from a posted function: the session's own callback is
  // still on the stack here.
  if (auto it = counted_.find(s); it != counted_.end()) {
    if (anvil_)
      anvil_->send_if(it->second.anvil_conn, {ipc::AnvilCommand::kDisconnect, std::string(kAnvilService), it->second.key});
    counted_.erase(it);
  }
  loop_.post([this, s] {
    if (sessions_.erase(s) && on_end_) on_end_();
  });
}

void Imapd::shutdown() {
  stopping_ = true;
  std::vector<Session*> open;
  for (auto& [raw, owned] : sessions_) open.push_back(raw);
  for (auto* s : open) s->shutdown();
}

}  // namespace tern::imapd
