#pragma once
// The client side of the auth-master USER lookup (master_protocol.h), for
// the daemons that ask authd whether a user exists and where its mail
// lives: smtpd at RCPT time, lmtp-deliver and imapd later.
//
// One connection per lookup, never blocking the loop: a non-blocking
// connect, the handshake and the USER line, one reply, then close. A
// lookup that has no answer within its timeout, or any protocol surprise,
// is a temporary failure: the caller answers 4xx, never "unknown user".

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/base/clock.h"
#include "common/event/loop.h"

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
  UserdbLookup() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tern::auth
