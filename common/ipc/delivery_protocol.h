#pragma once
// The delivery protocol: qmgr hands a delivery agent (smtp-client, on
// private/smtp and private/lmtp, or any master.cf service a transport_maps
// entry names) one message's recipients for one next hop, and the agent
// answers one line per recipient (DESIGN.md, "The queue": delivery agents
// never write the queue).
//
// Lines as in escape.h: a command word, then tab-separated key=value
// fields, with tab, CR, LF and '%' written %09, %0D, %0A, %25. The agent
// greets with
//   VERSION<TAB>delivery<TAB>1<TAB>0
// qmgr then sends requests, one at a time on a connection (it waits for an
// answer's done line before sending the next request; a connection may
// carry many requests, so an agent can reuse its session with the next hop):
//
//   deliver<TAB>id=QUEUEID<TAB>queue_file=active/QUEUEID<TAB>transport=lmtp
//          <TAB>protocol=lmtp<TAB>nexthop=unix:private/deliver<TAB>nrcpt=N
//   rcpt<TAB>index=I<TAB>address=ADDR              N times
//   end
//
//   id          the queue ID (log lines start with it)
//   queue_file  the queue file, relative to queue_directory (the agent runs
//               chrooted there); opened read-only, never written
//   transport   the master.cf service qmgr connected to (for log lines)
//   protocol    smtp or lmtp: the dialect to speak to the next hop
//   nexthop     for lmtp: "unix:PATH" (PATH inside the agent's chroot, as in
//               Postfix) or "inet:HOST:PORT" ("inet:[v6]:PORT");
//               for smtp: "[host]:port" or "[host]" (no MX lookup), or
//               "domain" / "domain:port" (MX lookup)
//   index       the recipient's position in the queue file's RCPT records
//               (0-based); the agent takes ORCPT and NOTIFY from the file,
//               and refuses the request if ADDR is not what the file has
//
// The agent answers every recipient of the request, in any order, then one
// done line:
//
//   result<TAB>index=I<TAB>action=ACTION<TAB>dsn=X.Y.Z<TAB>relay=RELAY
//         <TAB>reason=TEXT[<TAB>reply=TEXT]
//   done<TAB>setup=SECONDS<TAB>xfer=SECONDS[<TAB>tls=TEXT]
//
//   action  delivered (the next hop took it and will deliver or has),
//           relayed (taken by a host without DSN support: RFC 3461
//           "relayed"), deferred (try again later), bounced (permanent)
//   dsn     the enhanced status code (RFC 3463) of the outcome
//   relay   "host[address]:port", "private/deliver" for a unix socket, or
//           "none" when no connection was made
//   reason  what qmgr logs in status=...(reason) and shows in mailq:
//           "250 2.0.0 Ok: queued as X", "host x[1.2.3.4] said: 550 5.1.1
//           ... (in reply to RCPT TO command)", "connect to x[1.2.3.4]:25:
//           Connection refused"
//   reply   the remote server's own reply when it gave one (for the DSN's
//           Diagnostic-Code: smtp; ...)
//   setup   seconds spent connecting and greeting (delays=a/b/c/d: c)
//   xfer    seconds spent sending the message (delays: d)
//   tls     the TLS details of the session, as logged ("TLSv1.3 with cipher
//           TLS_AES_256_GCM_SHA384 (256/256 bits)"), absent without TLS
//
// A recipient the agent does not answer before done, or before the
// connection ends, is deferred by qmgr ("delivery agent went away"). A
// malformed request is answered with a result line per recipient it could
// parse (deferred, 4.3.0) when possible, then done, or by closing the
// connection. Fields a side does not know are ignored, so a later minor
// version may add some.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::ipc {

inline constexpr std::string_view kDeliveryProto = "delivery";
inline constexpr int kDeliveryMajor = 1;
inline constexpr int kDeliveryMinor = 0;
// Longest line either side sends or accepts (an address or a remote reply,
// escaped, stays far below it).
inline constexpr size_t kDeliveryMaxLine = 16 * 1024;
// Most recipients one request may carry (qmgr splits larger batches).
inline constexpr size_t kDeliveryMaxRecipients = 1000;

enum class DeliveryProtocol { kSmtp, kLmtp };
std::string_view delivery_protocol_name(DeliveryProtocol p);

struct DeliveryRequest {
  struct Recipient {
    size_t index = 0;
    std::string address;
  };
  std::string queue_id;
  std::string queue_file;
  std::string transport;
  DeliveryProtocol protocol = DeliveryProtocol::kSmtp;
  std::string nexthop;
  std::vector<Recipient> recipients;

  // Every line of the request, the end line included.
  std::string format() const;
};

// Takes a request line by line (the agent's side).
class DeliveryRequestReader {
 public:
  // One line, without or with its "\n". Returns true when the end line
  // completed a request (take it with take()), false when more lines are
  // needed, an error for a malformed line (the request is then dropped and
  // the reader starts over).
  Result<bool> feed(std::string_view line);
  DeliveryRequest take();

 private:
  std::optional<DeliveryRequest> current_;
  size_t expected_ = 0;
};

enum class DeliveryAction { kDelivered, kRelayed, kDeferred, kBounced };
std::string_view delivery_action_name(DeliveryAction a);

struct DeliveryResult {
  size_t index = 0;
  DeliveryAction action = DeliveryAction::kDeferred;
  std::string dsn;     // "4.4.1"
  std::string relay;   // "mx.example[192.0.2.1]:25", "none"
  std::string reason;  // for the log and mailq
  std::string reply;   // the remote reply, "" when none

  std::string format() const;  // one line, with its "\n"
};

struct DeliveryDone {
  double setup = 0;
  double xfer = 0;
  std::string tls;

  std::string format() const;  // one line, with its "\n"
};

// One line of an answer (qmgr's side): a result or the done line.
struct DeliveryAnswerLine {
  std::optional<DeliveryResult> result;
  std::optional<DeliveryDone> done;
};
Result<DeliveryAnswerLine> parse_delivery_answer(std::string_view line);

// True for "X.Y.Z" as RFC 3463 writes it (class 2, 4 or 5; subject and
// detail 0-999).
bool is_enhanced_status(std::string_view s);

}  // namespace tern::ipc
