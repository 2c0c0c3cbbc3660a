#pragma once
// The client side of the auth-master USER lookup (master_protocol.h), for
// the daemons that ask authd whether a user exists and where its mail
// lives: smtpd at RCPT time, lmtp-deliver and imapd later.
//
// Two ways, never blocking the loop:
//  - UserdbLookup::start: one connection per lookup (a non-blocking
//    connect, the handshake and the USER line, one reply, then close);
//  - UserdbClient: one persistent connection per process (smtpd, which
//    looks up every recipient of every message), the handshake once, USER
//    requests pipelined on it with increasing IDs; authd answers them in
//    order (master_protocol.h). It is opened by the first lookup and again
//    by the next one after authd closed it; a request that was waiting
//    when the connection closed (authd restarting) is sent once more on a
//    new connection before it counts as failed.
// A lookup that has no answer within its timeout, or any protocol surprise,
// is a temporary failure: the caller answers 4xx, never "unknown user". A
// timeout or a protocol surprise on the persistent connection fails every
// lookup waiting on it and closes it; the next lookup opens a new one.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/event/loop.h"
#include "common/ipc/line_io.h"

namespace tern::auth {

enum class UserdbStatus { kFound, kNotFound, kTempFail };

struct UserdbReply {
  UserdbStatus status = UserdbStatus::kTempFail;
  std::string user;
  std::map<std::string, std::string> fields;  // home, uid, gid, quota_rule, ...
  std::string reason;                         // for kTempFail, for the log
};

class UserdbLookup {
 public:
  // `done` runs once on the loop, unless the lookup is destroyed first
  // (which cancels it).
  static std::unique_ptr<UserdbLookup> start(event::Loop& loop, const std::string& socket_path, std::string user,
                                             std::string service, Duration timeout,
                                             std::function<void(UserdbReply)> done);
  ~UserdbLookup();
  UserdbLookup(const UserdbLookup&) = delete;
  UserdbLookup& operator=(const UserdbLookup&) = delete;

 private:
  friend class UserdbClient;
  UserdbLookup() = default;
  struct State;
  std::unique_ptr<State> state_;
};

class UserdbClient {
 public:
  UserdbClient(event::Loop& loop, std::string socket_path, Duration timeout);
  ~UserdbClient();
  UserdbClient(const UserdbClient&) = delete;
  UserdbClient& operator=(const UserdbClient&) = delete;

  // `done` runs once, later, on the loop (never inside lookup()), unless
  // the returned handle is destroyed first (which cancels it).
  std::unique_ptr<UserdbLookup> lookup(const std::string& user, const std::string& service,
                                       std::function<void(UserdbReply)> done);

 private:
  // The lookup's callback, shared with its handle, which empties it when
  // destroyed (a cancelled lookup still takes its reply off the connection).
  using Slot = std::function<void(UserdbReply)>;
  struct Pending {
    unsigned id = 0;
    std::string line;  // the USER request, for the one resend
    std::shared_ptr<Slot> slot;
    MonoTime deadline;
    bool resent = false;
  };
  bool connect_now(std::string* why);
  void send(Pending p);
  void on_line(std::string_view line);
  void lose(const std::string& why, bool resend);
  void fail(std::shared_ptr<Slot> slot, const std::string& why);
  void arm_deadline();
  void run_later();

  event::Loop& loop_;
  std::string path_;
  Duration timeout_;
  std::unique_ptr<ipc::LineIo> io_;
  std::vector<std::unique_ptr<ipc::LineIo>> dead_;  // closed; freed from later_, never in their callbacks
  bool greeted_ = false;
  unsigned next_id_ = 1;
  std::deque<Pending> pending_;   // sent on io_, oldest first
  std::vector<Pending> resend_;   // to send again on a new connection
  std::vector<std::pair<std::shared_ptr<Slot>, std::string>> failed_;  // answered kTempFail from later_
  event::Timer deadline_;
  event::Timer later_;
};

}  // namespace tern::auth
