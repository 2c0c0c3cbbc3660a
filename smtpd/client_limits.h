#pragma once
// Per-client limits (Postfix's smtpd_client_*_limit): how many connections
// one client address may have open to one service, and how many
// connections, MAIL and RCPT commands it may make per
// anvil_rate_time_unit. smtpd runs as several processes, so the counting
// is anvil's (anvil(8), common/ipc/anvil_client.h), asked over the
// process's one connection to it.
//
// As in Postfix: clients in smtpd_client_event_limit_exceptions are never
// counted; the connection checks come before the greeting (421 4.7.0 and
// close), the rate checks before MAIL and RCPT are looked at (450 4.7.1);
// a refused event still counts, so a client that keeps trying stays over
// its limit; and when anvil does not answer, every check passes (fail
// open): limits defend against abuse, they never cost legitimate mail.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config/main_cf.h"
#include "common/ipc/anvil_client.h"
#include "smtpd/relay_policy.h"

namespace tern::smtpd {

struct ClientLimits {
  int connection_count = 50;  // smtpd_client_connection_count_limit; 0 = none
  int connection_rate = 0;    // smtpd_client_connection_rate_limit
  int message_rate = 0;       // smtpd_client_message_rate_limit
  int rcpt_rate = 0;          // smtpd_client_recipient_rate_limit
  std::vector<Network> exceptions;  // smtpd_client_event_limit_exceptions
  std::string anvil_socket;         // queue_directory/private/anvil
  // The process's client, from init_unprivileged until the loop ends;
  // null: no limits are checked.
  ipc::AnvilClient* anvil = nullptr;

  static Result<ClientLimits> load(const config::MainCf& cf);
  bool any() const { return connection_count > 0 || connection_rate > 0 || message_rate > 0 || rcpt_rate > 0; }
  bool exempt(const std::string& address) const;
};

// What anvil said about a new connection.
struct ConnectVerdict {
  enum class What { kAccept, kTooMany, kTooFast };
  What what = What::kAccept;
  int value = 0;  // the count or rate that is over its limit
};

enum class RateEvent { kMessage, kRcpt };

// One session's side: counts its connection (released on destruction) and
// its MAIL and RCPT commands. Callbacks run on the loop, never inside the
// call that starts them, and never after the SessionLimits is destroyed.
class SessionLimits {
 public:
  SessionLimits(const ClientLimits& limits, std::string service, std::string address);
  ~SessionLimits();
  SessionLimits(const SessionLimits&) = delete;
  SessionLimits& operator=(const SessionLimits&) = delete;

  // Whether anvil is asked at all: some limit is set and the client is not
  // an exception (for the connection; and for that event).
  bool counted() const { return counted_; }
  bool limited(RateEvent ev) const;
  void connect(std::function<void(ConnectVerdict)> done);
  // done(over, rate): over its limit with `rate` events in this time unit.
  void count(RateEvent ev, std::function<void(bool over, int rate)> done);

 private:
  const ClientLimits& limits_;
  std::string service_, address_;
  bool counted_ = false;
  uint64_t anvil_conn_ = 0;  // the anvil connection that counted our connect
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern::smtpd
