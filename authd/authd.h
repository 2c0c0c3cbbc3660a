#pragma once
// authd's process state: the users file as loaded at start, the connections
// of both protocols, the password checks in flight and the logins that the
// auth-master REQUEST may still confirm. One Authd per process; the service
// name picks the protocol its listener speaks (protocol_for_service).
//
// Password checks run on the worker pool (the loop never blocks), at most
// kMaxParallelChecks at once per process: an ARGON2ID check takes 64 MiB,
// and a burst of logins must not take worker_threads times that. The rest
// wait in a FIFO.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "authd/login_failures.h"
#include "common/auth/master_protocol.h"
#include "common/auth/passwd_file.h"
#include "common/base/clock.h"
#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/event/worker_pool.h"

namespace tern::authd {

enum class Protocol { kClient, kMaster };
// "userdb", "…/userdb" and names ending in "auth-master" or "auth-userdb"
// serve the auth-master protocol; every other name the auth client protocol.
Protocol protocol_for_service(std::string_view service_name);

struct Settings {
  Duration failure_delay = std::chrono::seconds(2);
  FailureLimits failure_limits;  // auth_failure_limit, _window, _ban_time
  std::string service_name = "auth";
  // Who may confirm logins with REQUEST on the auth client protocol
  // (client_protocol.h): peers running as this uid (vmail_owner: imapd) or
  // root. Unset: anyone (unit tests).
  std::optional<uid_t> confirm_uid;
};

class ClientConn;
class MasterConn;

class Authd {
 public:
  static constexpr int kMaxParallelChecks = 4;

  Authd(event::Loop& loop, event::WorkerPool& workers, std::shared_ptr<const auth::PasswdFile> users,
        Settings settings, std::function<void()> client_done);
  ~Authd();
  Authd(const Authd&) = delete;
  Authd& operator=(const Authd&) = delete;

  void accept(Fd fd, Protocol protocol, const std::string& peer);
  // Graceful stop (a changed users file, a reload): connections close as
  // soon as no request of theirs is in flight; their clients (smtpd,
  // Postfix, imap-login) reconnect to the new process.
  void stop();
  bool stopping() const { return stopping_; }
  size_t connections() const { return conns_.size(); }

  event::Loop& loop() { return loop_; }
  const Settings& settings() const { return settings_; }
  const std::shared_ptr<const auth::PasswdFile>& users() const { return users_; }
  // Failed logins per client address, for this process (login_failures.h).
  LoginFailures& failures() { return failures_; }

  // Checks plain against the user's password on the worker pool; done(ok)
  // runs on the loop, unless the connection `serial` is gone by then.
  // An unknown user (entry == nullptr) is checked against a dummy hash, so
  // the time taken does not tell which users exist.
  void check_password(uint64_t serial, const auth::PasswdEntry* entry, std::string plain,
                      std::function<void(bool ok)> done);

  // The auth client connection with this CPID and cookie, if any.
  ClientConn* find_client(unsigned pid, const std::string& cookie_hex);
  // The answer to a USER lookup or a confirmed REQUEST for `user`: USER
  // with home, uid, gid and the userdb fields, or NOTFOUND.
  std::string user_reply(unsigned id, std::string_view user) const;
  // REQUEST, from either protocol: the USER reply for the login it names,
  // taken once, or FAIL.
  std::string confirm(const auth::RequestCommand& r, const std::string& peer);

  // Connections end through here: removed from the tables now, destroyed
  // on the next loop turn (never inside their own callbacks).
  void connection_closed(uint64_t serial);

 private:
  struct Check {
    uint64_t serial;
    std::optional<auth::StoredPassword> stored;
    std::string plain;
    std::function<void(bool)> done;
  };
  void start_checks();

  event::Loop& loop_;
  event::WorkerPool& workers_;
  std::shared_ptr<const auth::PasswdFile> users_;
  Settings settings_;
  LoginFailures failures_;
  std::function<void()> client_done_;
  uint64_t next_serial_ = 1;
  unsigned next_cuid_ = 1;
  std::map<uint64_t, std::unique_ptr<ClientConn>> clients_;
  std::map<uint64_t, std::unique_ptr<MasterConn>> masters_;
  std::map<uint64_t, int> conns_;  // serial -> 0 client, 1 master (live ones)
  std::deque<Check> waiting_;
  int running_checks_ = 0;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern::authd
