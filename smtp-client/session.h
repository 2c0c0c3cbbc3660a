#pragma once
// One SMTP or LMTP session with one next hop, driven by the event loop.
//
//   Session s(loop, resolver, settings, protocol, hop, jail_root);
//   s.run(job, [](JobOutcome o) { ... });   // connects first when needed
//   ... later, to the same next hop, from any qmgr connection:
//   s.run(next_job, ...);                   // RSET first (reused session)
//   s.quit();                               // QUIT, then closed
//
// A run: connect (unix socket, or TCP to each target of the next hop in
// turn, each within connect_timeout: an SMTP domain's MX hosts, a host's
// addresses; mx.h), greeting, EHLO (HELO when EHLO gets 5xx) or LHLO,
// STARTTLS when the TLS level asks for it (below), then MAIL FROM, one RCPT TO per recipient, DATA, the message dot-stuffed
// from the queue file in chunks, and the end-of-data reply: one for SMTP,
// one per accepted recipient for LMTP (RFC 2033 4.2). With PIPELINING
// (RFC 2920) MAIL, the RCPTs and DATA go in one write, DATA last; the
// replies are then read in order. A reused session first gets RSET; if that
// fails, the session is reconnected once.
//
// Every recipient gets exactly one result. A reply answers the recipients it
// concerns (outcome.h); a failure without one (connect, timeout, lost
// connection, a malformed reply, a 421) answers every recipient still
// without a result, deferred, with a reason naming the stage, as Postfix
// words it: "connect to h[a]:25: Connection refused", "conversation with
// h[a] timed out while sending RCPT TO", "lost connection with h[a] while
// sending message body". After such a failure the session is closed and
// usable() is false; otherwise it may be cached for the next request.
//
// The next target (Postfix's fallback to the next MX, RFC 5321 5.1): a
// connection that fails or times out, a greeting that is not 2xx, a failed
// EHLO/HELO, STARTTLS or TLS handshake the level requires, a lost
// connection or timeout before MAIL FROM, and a 4xx (or 421) to MAIL FROM
// move on to the next target, while smtp_mx_session_limit sessions that got
// past EHLO and the targets last; then the last failure answers everyone.
// A reply to RCPT, DATA or the end of data is final for this attempt.
//
// TLS (SMTP only; smtp_tls_security_level, smtp_tls_policy_maps,
// tls_policy.h): none; may: STARTTLS when offered, plain text when not
// offered or refused, and when the handshake fails the same address is
// tried again once in plain text (as Postfix does; the failure is logged);
// encrypt: TLS required, any certificate; verify: TLS required, the chain
// must end at a trust anchor (smtp_tls_CAfile, else the system's) and
// match a name of the policy (the MX host name by default). What TLS
// requires and does not get defers with 4.7.4/4.7.5 once no target is
// left. Each handshake is logged as Postfix logs it: "Verified TLS
// connection established to mx.example[192.0.2.1]:25: TLSv1.3 with cipher
// ...". Replies that arrive with the 220 to STARTTLS (a plain-text
// injection, CVE-2011-0411) fail the session.
//
// The Session must outlive its callbacks' scheduling: the owner destroys it
// only outside its callbacks (or after run()'s callback, which is the last
// thing a run does).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/tls/tls.h"
#include "common/dns/resolver.h"
#include "common/event/loop.h"
#include "common/ipc/delivery_protocol.h"
#include "common/queue/qfile_reader.h"
#include "smtp-client/message_stream.h"
#include "smtp-client/mx.h"
#include "smtp-client/nexthop.h"
#include "smtp-client/outcome.h"
#include "smtp-client/sasl_client.h"
#include "common/mail/smtp_reply.h"
#include "smtp-client/settings.h"
#include "smtp-client/tls_policy.h"

namespace tern::smtp_client {

using mail::ReplyReader;

inline constexpr size_t kChunk = 64 * 1024;

struct Job {
  struct Rcpt {
    size_t index = 0;
    std::string address;
    std::string orcpt;    // "type;address", decoded; "" when none
    unsigned notify = 0;  // queue::NotifyFlags
  };
  std::string queue_id;
  std::shared_ptr<queue::QfileReader> file;
  std::vector<Rcpt> rcpts;
};

struct JobOutcome {
  std::vector<ipc::DeliveryResult> results;  // one per recipient, in Job order
  Duration setup{};                          // connect, greeting, EHLO or RSET
  Duration xfer{};                           // MAIL FROM to the last reply
};

struct Features {
  bool pipelining = false;
  bool size = false;
  unsigned long long size_limit = 0;  // 0: none given
  bool dsn = false;
  bool eightbit = false;
  bool smtputf8 = false;
  bool starttls = false;
  std::vector<std::string> auth;  // AUTH mechanisms (RFC 4954), upper case
};

class Session {
 public:
  using Done = std::function<void(JobOutcome)>;

  Session(event::Loop& loop, dns::Resolver* resolver, const Settings& settings, ipc::DeliveryProtocol protocol,
          Nexthop hop, std::string jail_root);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void run(Job job, Done done);
  // Sends QUIT and closes once it is answered, the server closes, or
  // quit_timeout passes; then on_gone (if set) runs. Immediate when not
  // connected.
  void quit(std::function<void()> on_gone = nullptr);
  // Closes at once (process exit): QUIT is written if the socket takes it.
  void close_now();

  // Connected, idle, not broken, and within the reuse limits.
  bool usable() const;
  bool busy() const { return done_ != nullptr; }
  // While idle in a cache: the server closed or said something (a 421
  // before its idle timeout). The session is then closed.
  void set_on_broken(std::function<void()> fn) { on_broken_ = std::move(fn); }
  const Peer& peer() const { return peer_; }
  const Features& features() const { return features_; }
  int uses() const { return uses_; }
  bool tls_active() const { return ssl_ != nullptr; }

 private:
  enum class State { kClosed, kResolving, kConnecting, kGreeting, kHelo, kHeloFallback, kStarttls, kTlsHandshake,
                     kReady, kRset, kAuth, kScanning, kCommands, kBody, kDataDone, kQuit };
  struct Command {
    enum class Kind { kMail, kRcpt, kData } kind;
    std::string text;
    size_t rcpt = 0;  // for kRcpt: the position in job_.rcpts
  };

  void begin();
  void on_destination(Destination d);
  void connect_next();
  // The current target failed before the transaction: the next one, or
  // (none left, the session limit reached, or a unix socket) this failure
  // for everyone.
  void try_next(ipc::DeliveryAction action, const std::string& dsn, const std::string& reason,
                const std::string& reply = "");
  bool before_transaction() const;
  void start_tls();
  void on_starttls_reply(const Reply& r);
  void drive_handshake();
  void on_tls_established();
  void tls_failed(const std::string& why);
  ssize_t raw_send(const char* data, size_t n);
  ssize_t raw_recv(char* data, size_t n);
  void on_connected();
  void send_hello(bool helo);
  void on_hello_reply(const Reply& r);
  // After EHLO: AUTH when smtp_sasl_* ask for it (session_auth.cc), then
  // start_transaction().
  void after_hello();
  void on_auth_reply(const Reply& r);
  void auth_failed(ipc::DeliveryAction action, const std::string& dsn, const std::string& reason,
                   const std::string& reply = "");
  std::string sasl_nexthop() const;
  void start_transaction();
  void queue_commands();
  // 8-bit downgrade (downgrade.cc): scans the message for a next hop
  // without 8BITMIME, a chunk per loop turn, then queue_commands().
  bool needs_downgrade_scan() const;
  void begin_downgrade_scan();
  void scan_step();
  void send_commands();
  void on_command_reply(const Reply& r);
  void start_body();
  void pump_body();
  void on_end_reply(const Reply& r);
  void finish();
  // Answers every recipient still without a result, closes the session.
  void fail_all(ipc::DeliveryAction action, const std::string& dsn, const std::string& reason,
                const std::string& reply = "");
  void fail_reply(const Reply& r, const std::string& command);
  // A reply that ends this target: the next one, or this reply for everyone.
  void next_after_reply(const Reply& r, const std::string& command);
  TlsLevel tls_level() const;
  void close_socket();
  void on_events(short ev);
  void read_some();
  void on_reply(const Reply& r);
  void on_eof(const std::string& why);
  void on_timeout();
  void flush();
  void send(std::string_view text);
  void wait(Duration timeout);
  std::string stage() const;
  std::string mail_command() const;
  std::string rcpt_command(const Job::Rcpt& r) const;
  bool has_result(size_t i) const { return results_[i].has_value(); }

  event::Loop& loop_;
  dns::Resolver* resolver_;
  const Settings& settings_;
  ipc::DeliveryProtocol protocol_;
  Nexthop hop_;
  std::string jail_root_;
  Peer peer_;
  Features features_;

  State state_ = State::kClosed;
  Fd fd_;
  event::IoWatch watch_;
  event::Timer timer_;
  MxResolver mx_;
  std::vector<Target> targets_;
  size_t next_target_ = 0;
  int sessions_ = 0;               // past EHLO in this attempt (smtp_mx_session_limit)
  struct Failure {
    ipc::DeliveryAction action = ipc::DeliveryAction::kDeferred;
    std::string dsn, reason, reply;
  } last_failure_;
  std::optional<Result<TlsPolicy>> policy_;  // SMTP: this next hop's, computed once
  tls::SslPtr ssl_;
  size_t plain_target_ = SIZE_MAX;  // "may": this target again, without TLS
  bool tls_wants_write_ = false;   // SSL_read said WANT_WRITE
  bool tls_names_ = false;         // names to verify were given to this handshake
  uint64_t conn_gen_ = 0;          // counts close_socket(): a callback's socket is gone
  std::string in_, out_;
  ReplyReader replies_;
  bool broken_ = false;  // a 421, an error: never reused
  bool reconnected_ = false;
  int uses_ = 0;
  MonoTime connected_at_{};

  Job job_;
  Done done_;
  std::vector<std::optional<ipc::DeliveryResult>> results_;
  std::vector<size_t> accepted_;  // positions in job_.rcpts, in RCPT order
  std::vector<Command> unsent_, pending_;
  size_t end_replies_ = 0;  // end-of-data replies received
  bool data_accepted_ = false;
  std::unique_ptr<MessageStream> body_;
  std::unique_ptr<SaslClient> sasl_;
  std::unique_ptr<mail::MimeDowngrade> scanner_;
  uint64_t scan_pos_ = 0;
  std::optional<mail::DowngradePlan> downgrade_;  // set: convert the body by it
  std::shared_ptr<int> guard_ = std::make_shared<int>(0);  // posted steps check it
  MonoTime started_{}, xfer_started_{};
  Duration setup_{};
  bool in_xfer_ = false;
  std::function<void()> on_broken_, on_quit_;
};

}  // namespace tern::smtp_client
