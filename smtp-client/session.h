#pragma once
// One SMTP or LMTP session with one next hop, driven by the event loop.
//
//   Session s(loop, resolver, settings, protocol, hop, jail_root);
//   s.run(job, [](JobOutcome o) { ... });   // connects first when needed
//   ... later, to the same next hop, from any qmgr connection:
//   s.run(next_job, ...);                   // RSET first (reused session)
//   s.quit();                               // QUIT, then closed
//
// A run: connect (unix socket, or TCP to each address of the host in turn,
// at most kMaxAddresses, each within connect_timeout; names resolved with
// c-ares, A then AAAA), greeting, EHLO (HELO when EHLO gets 5xx) or LHLO,
// then MAIL FROM, one RCPT TO per recipient, DATA, the message dot-stuffed
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
// The Session must outlive its callbacks' scheduling: the owner destroys it
// only outside its callbacks (or after run()'s callback, which is the last
// thing a run does).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/dns/resolver.h"
#include "common/event/loop.h"
#include "common/ipc/delivery_protocol.h"
#include "common/queue/qfile_reader.h"
#include "smtp-client/message_stream.h"
#include "smtp-client/nexthop.h"
#include "smtp-client/outcome.h"
#include "common/mail/smtp_reply.h"
#include "smtp-client/settings.h"

namespace tern::smtp_client {

using mail::ReplyReader;

inline constexpr size_t kMaxAddresses = 5;
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

 private:
  enum class State { kClosed, kResolving, kConnecting, kGreeting, kHelo, kHeloFallback, kReady, kRset,
                     kCommands, kBody, kDataDone, kQuit };
  struct Command {
    enum class Kind { kMail, kRcpt, kData } kind;
    std::string text;
    size_t rcpt = 0;  // for kRcpt: the position in job_.rcpts
  };

  void begin();
  void connect_next();
  void on_connected();
  void send_hello(bool helo);
  void on_hello_reply(const Reply& r);
  void start_transaction();
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
  dns::Lookup lookup_;
  std::vector<std::string> addresses_;
  size_t next_address_ = 0;
  std::string last_connect_error_;
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
  MonoTime started_{}, xfer_started_{};
  Duration setup_{};
  bool in_xfer_ = false;
  std::function<void()> on_broken_, on_quit_;
};

}  // namespace tern::smtp_client
