#pragma once
// One LMTP session (RFC 2033): LHLO, then transactions of MAIL, RCPT and
// DATA, answered with enhanced status codes (RFC 2034, 3463).
//
//   - Commands are read one at a time (PIPELINING, RFC 2920); while one
//     waits (a userdb lookup at RCPT, the quota check, the deliveries
//     after DATA), reading stops, so pipelined commands keep their order.
//   - RCPT looks the user up in authd's userdb (private/userdb): 550 5.1.1
//     unknown, 451 4.3.0 when authd cannot answer; with a quota, 452 4.2.2
//     when the mailbox is already full. A second RCPT for the same address
//     (compared without regard to case) is accepted and gets one copy
//     (and its own reply after DATA).
//   - DATA streams, dot-unstuffed (common/mail/smtp_data.h), into an
//     unlinked temporary file in lmtp_deliver_temp_directory, never into
//     memory; past message_size_limit the rest is read and dropped. At the
//     end every recipient's copy is written on the worker pool at once, and
//     then one reply per accepted recipient goes out, in RCPT order
//     (RFC 2033 4.2).
//   - Bare LF in the data is stored as CRLF (normalise mode): the message
//     was accepted by an MTA before it reached this final delivery, and
//     refusing it here would only turn it into a bounce.
//   - Hostile input: lines beyond line_length_limit, NUL bytes, unknown
//     commands get a 5xx and the session goes on; a client silent for
//     lmtp_deliver_timeout gets 421 and is closed.

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/auth/userdb_client.h"
#include "common/base/fd.h"
#include "common/event/handles.h"
#include "common/event/line_reader.h"
#include "common/event/loop.h"
#include "common/mail/smtp_data.h"
#include "common/mail/smtp_path.h"
#include "common/server/skeleton.h"
#include "lmtp-deliver/command.h"
#include "lmtp-deliver/delivery.h"
#include "lmtp-deliver/recipient.h"
#include "lmtp-deliver/settings.h"

namespace tern::lmtp {

// A short unique name for a session in the log (no queue ID is known here).
std::string new_session_id();

// An unlinked temporary file in `dir` for one message (O_TMPFILE where the
// file system has it), so a crash leaves nothing behind.
Result<Fd> open_spool(const std::string& dir);

class Session {
 public:
  // on_closed runs (on the loop) once the session is over; it destroys it.
  Session(server::Context& ctx, const Settings& settings, Fd fd, server::Peer peer,
          std::function<void(Session*)> on_closed);
  ~Session();
  void start();
  // The process is stopping (reload, stop): a session between transactions
  // gets 421 4.3.2 and is closed now; one inside a transaction when it ends,
  // so no accepted message is cut short and no client waits for a timeout.
  void shutdown();

 private:
  enum class Phase { kCommands, kData, kWaiting, kClosing };

  // One accepted RCPT.
  struct Rcpt {
    std::string address;  // as given (canonical form), for replies
    RecipientAddress resolved;
    int dup_of = -1;  // index of the first RCPT for the same address
    Mailbox box;
    DeliveryResult result;
  };

  static void on_read(bufferevent* bev, void* self) noexcept;
  static void on_write(bufferevent* bev, void* self) noexcept;
  static void on_event(bufferevent* bev, short what, void* self) noexcept;
  void process_input();
  bool read_command_line(std::string* line);
  void reply(int code, std::string_view enhanced, std::string_view text);
  void send(const Reply& r) { reply(r.code, r.enhanced, r.text); }
  void close_after_reply();
  void finish(const char* why);
  void wait();    // stop reading until resume()
  void resume();  // read again, unless the client left meanwhile

  void dispatch(std::string_view line);
  void cmd_lhlo(const Command& c);
  void cmd_mail(const Command& c);
  void cmd_rcpt(const Command& c);
  void userdb_answered(auth::UserdbReply r);
  void accept_rcpt(const Reply& r);
  void cmd_data(const Command& c);
  void data_input();
  void data_end();
  bool deliver_all();
  void send_data_replies();
  void reset_transaction();
  mail::ArgOptions arg_options() const;
  void arg_error(mail::ArgFault why, bool sender);

  server::Context& ctx_;
  const Settings& settings_;
  server::Peer peer_;
  std::string id_;
  std::function<void(Session*)> on_closed_;
  event::BuffereventPtr bev_;
  event::Timer timeout_;
  Phase phase_ = Phase::kCommands;
  event::LineReader lines_{settings_.line_limit};
  bool closing_after_wait_ = false;
  bool shutting_down_ = false;
  bool idle_then_close();  // shutting down and between transactions: 421 and close
  std::string lhlo_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  int commands_ = 0;
  int deliveries_ = 0;

  // The transaction, cleared by RSET, LHLO and after DATA.
  std::optional<mail::MailArgs> mail_;
  std::vector<Rcpt> rcpts_;
  Rcpt pending_;  // waiting for the userdb or the quota check
  std::unique_ptr<auth::UserdbLookup> lookup_;
  std::optional<mail::DataDecoder> decoder_;
  HeaderScan headers_;
  std::shared_ptr<Fd> spool_;  // shared with the delivery jobs
  uint64_t spool_size_ = 0;
  bool too_big_ = false;
  bool spool_failed_ = false;
  std::string decoded_;
  size_t jobs_left_ = 0;
};

}  // namespace tern::lmtp
