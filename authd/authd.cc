#include "authd/authd.h"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include "authd/client_conn.h"
#include "authd/master_conn.h"
#include "common/base/log.h"

namespace tern::authd {
namespace {

// Checked for users that do not exist, so a failure takes as long as with a
// real ARGON2ID hash (the default scheme): no one can tell from the timing
// which users exist. Nobody's password; the salt is fixed and public.
constexpr const char* kDummyHash =
    "$argon2id$v=19$m=65536,t=3,p=1$dGVybi1kdW1teS1zYWx0IQ$nI7eXNvrdFXL4w+SRxN2GfF4bqGAI9x2nL+M+n5gZzE";

}  // namespace

Protocol protocol_for_service(std::string_view name) {
  size_t slash = name.rfind('/');
  std::string_view last = slash == std::string_view::npos ? name : name.substr(slash + 1);
  auto ends_with = [&](std::string_view suffix) {
    return last.size() >= suffix.size() && last.substr(last.size() - suffix.size()) == suffix;
  };
  if (last == "userdb" || ends_with("auth-master") || ends_with("auth-userdb")) return Protocol::kMaster;
  return Protocol::kClient;
}

Authd::Authd(event::Loop& loop, event::WorkerPool& workers, std::shared_ptr<const auth::PasswdFile> users,
             Settings settings, std::function<void()> client_done)
    : loop_(loop),
      workers_(workers),
      users_(std::move(users)),
      settings_(std::move(settings)),
      failures_(loop.clock(), settings_.failure_limits),
      client_done_(std::move(client_done)) {}

Authd::~Authd() {
  *alive_ = false;
  for (auto& c : waiting_) OPENSSL_cleanse(c.plain.data(), c.plain.size());
}

void Authd::accept(Fd fd, Protocol protocol, const std::string& peer) {
  uint64_t serial = next_serial_++;
  if (protocol == Protocol::kClient) {
    conns_[serial] = 0;
    bool may_confirm = true;
    if (settings_.confirm_uid) {
      ucred cred{};
      socklen_t len = sizeof cred;
      may_confirm = ::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
                    (cred.uid == 0 || cred.uid == *settings_.confirm_uid);
    }
    auto c = std::make_unique<ClientConn>(*this, serial, std::move(fd), next_cuid_++, peer);
    c->set_may_confirm(may_confirm);
    clients_[serial] = std::move(c);
  } else {
    conns_[serial] = 1;
    masters_[serial] = std::make_unique<MasterConn>(*this, serial, std::move(fd), peer);
  }
}

void Authd::stop() {
  stopping_ = true;
  std::vector<ClientConn*> clients;
  std::vector<MasterConn*> masters;
  for (auto& [serial, c] : clients_) clients.push_back(c.get());
  for (auto& [serial, m] : masters_) masters.push_back(m.get());
  for (auto* c : clients) c->close_if_idle();
  for (auto* m : masters) m->close("stopping");
}

void Authd::connection_closed(uint64_t serial) {
  auto it = conns_.find(serial);
  if (it == conns_.end()) return;
  conns_.erase(it);
  // Destroyed on the next loop turn: we may be inside its callback now.
  loop_.post([this, serial, alive = alive_] {
    if (!*alive) return;
    clients_.erase(serial);
    masters_.erase(serial);
    if (client_done_) client_done_();
  });
}

ClientConn* Authd::find_client(unsigned pid, const std::string& cookie_hex) {
  for (auto& [serial, c] : clients_) {
    if (!conns_.count(serial)) continue;
    if (c->pid() == pid && CRYPTO_memcmp(c->cookie_hex().data(), cookie_hex.data(),
                                         std::min(c->cookie_hex().size(), cookie_hex.size())) == 0 &&
        c->cookie_hex().size() == cookie_hex.size())
      return c.get();
  }
  return nullptr;
}

std::string Authd::user_reply(unsigned id, std::string_view user) const {
  const auth::PasswdEntry* e = users_->find(user);
  if (!e) return auth::format_notfound(id);
  std::vector<std::pair<std::string, std::string>> fields;
  if (!e->home.empty()) fields.emplace_back("home", e->home);
  fields.emplace_back("uid", std::to_string(e->uid));
  fields.emplace_back("gid", std::to_string(e->gid));
  for (const auto& f : e->userdb_fields) fields.push_back(f);
  return auth::format_user_reply(id, e->user, fields);
}

std::string Authd::confirm(const auth::RequestCommand& r, const std::string& peer) {
  ClientConn* c = find_client(r.client_pid, r.cookie_hex);
  std::optional<std::string> user = c ? c->take_login(r.client_id) : std::nullopt;
  if (!user) {
    log::warning("%s: REQUEST %u.%u does not name a finished login", peer.c_str(), r.client_pid, r.client_id);
    return auth::format_master_fail(r.id);
  }
  return user_reply(r.id, *user);
}

void Authd::check_password(uint64_t serial, const auth::PasswdEntry* entry, std::string plain,
                           std::function<void(bool ok)> done) {
  Check c;
  c.serial = serial;
  if (entry) {
    c.stored = entry->password;  // none: a userdb-only entry, which cannot log in
  } else {
    c.stored = auth::StoredPassword{auth::Scheme::kArgon2id, kDummyHash};
  }
  c.plain = std::move(plain);
  c.done = std::move(done);
  waiting_.push_back(std::move(c));
  start_checks();
}

void Authd::start_checks() {
  while (running_checks_ < kMaxParallelChecks && !waiting_.empty()) {
    auto check = std::make_shared<Check>(std::move(waiting_.front()));
    waiting_.pop_front();
    running_checks_++;
    auto ok = std::make_shared<bool>(false);
    workers_.submit(
        [check, ok] {
          if (check->stored) {
            auto r = auth::verify_password(*check->stored, check->plain);
            if (!r) log::error("password check: %s", r.error().text.c_str());
            *ok = r.ok() && *r;
          }
          OPENSSL_cleanse(check->plain.data(), check->plain.size());
        },
        [this, check, ok, alive = alive_] {
          if (!*alive) return;
          running_checks_--;
          if (conns_.count(check->serial)) check->done(*ok);
          start_checks();
        });
  }
}

}  // namespace tern::authd
