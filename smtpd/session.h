#pragma once
// One SMTP session (RFC 5321): reads command lines (pipelined, RFC 2920),
// answers each with an enhanced status code (RFC 2034, 3463), and takes a
// message in through the cleanup step (common/queue/cleanup.h), answering
// 250 only once the queue file is durable.
//
// Replies on a plain connection are written by the session itself, once
// per loop turn (flush_output): every reply made while handling what
// arrived, a pipelined batch's included, leaves in one write(2), and the
// socket's write interest is registered with epoll only when the kernel
// cannot take them at once. (A bufferevent that writes by itself adds the
// interest for each reply and removes it once written: two epoll_ctl per
// reply.) Under TLS the OpenSSL bufferevent writes, as before.
//
// Input is consumed one command at a time; while a command waits for the
// worker pool (the queue file's fsync and rename) or another process
// (authd, anvil), reading stops, so a pipelining client's later commands
// are handled in order after it. The stop is lazy (pause_reading): the
// read interest stays registered and is removed only if the client does
// send something meanwhile, as most do not.
//
// TLS (cmd_starttls.cc): with smtpd_tls_wrappermode the socket bufferevent
// is an OpenSSL one from the start (RFC 8314); STARTTLS (RFC 3207) puts an
// OpenSSL filter over the plain one. Either way the rest of the session
// reads and writes bev_ as before and never sees ciphertext.
// AUTH (cmd_auth.cc) relays SASL exchanges to authd (auth_client.h).

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/auth/auth_client.h"
#include "common/base/fd.h"
#include "common/dns/client_name.h"
#include "common/event/handles.h"
#include "common/event/line_reader.h"
#include "common/event/loop.h"
#include "common/mail/smtp_bdat.h"
#include "common/mail/smtp_data.h"
#include "common/mail/smtp_path.h"
#include "common/queue/cleanup.h"
#include "common/queue/queue_id.h"
#include "common/server/skeleton.h"
#include "common/tls/tls.h"
#include "smtpd/client_limits.h"
#include "smtpd/command.h"
#include "smtpd/recipient_check.h"
#include "smtpd/settings.h"

namespace tern::smtpd {

// Deferred callbacks on the OpenSSL bufferevents: whatever they do inside
// evbuffer_add or bufferevent_enable, on_read/on_write/on_event run only
// from the loop, so reply() can never re-enter the command loop
// (on_write -> process_input) in the middle of a command.
inline constexpr int kTlsBevOptions = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

class Session {
 public:
  // on_closed runs (on the loop) once the session is over; it destroys it.
  Session(server::Context& ctx, const Settings& settings, queue::QueueIdGenerator& ids, Fd fd, server::Peer peer,
          std::function<void(Session*)> on_closed);
  ~Session();
  void start();

 private:
  // kAuth: reading a SASL response line; kAuthWait: authd is answering;
  // kBdat: reading the octets of a BDAT chunk (cmd_bdat.cc).
  enum class Phase { kCommands, kData, kBdat, kWaiting, kAuth, kAuthWait, kClosing };

  // An error reply decided now and sent later (after a BDAT chunk's octets
  // have been read); `counts` toward smtpd_hard_error_limit.
  struct Refusal {
    int code = 0;
    std::string enhanced;
    std::string text;
    bool counts = true;
  };

  // I/O
  static void on_read(bufferevent* bev, void* self) noexcept;
  static void on_write(bufferevent* bev, void* self) noexcept;
  static void on_event(bufferevent* bev, short what, void* self) noexcept;
  void process_input();
  bool read_command_line(std::string* line);
  void reply(int code, std::string_view enhanced, std::string_view text);
  void reply_lines(int code, std::string_view enhanced, const std::vector<std::string>& lines);
  void error_reply(int code, std::string_view enhanced, std::string_view text);
  void close_after_reply();
  bool output_pending();  // in bev_ or, under a TLS filter, in the socket's bufferevent
  // kClosing with nothing left to send: close_notify over TLS, then finish()
  // (true) once that has left too.
  bool closing_drained();
  static void on_output_added(evbuffer* buf, const evbuffer_cb_info* info, void* self) noexcept;
  void flush_output();    // plain connections: the turn's replies, in one write
  void output_drained();  // every reply written: close, or read again after backpressure
  void stop_direct_writes();  // STARTTLS: the bufferevents write from now on
  void pause_reading();   // a command waits: input stays unread until resume_reading()
  void resume_reading();  // the caller then runs process_input() when it should
  static void on_drained(evbuffer* buf, const evbuffer_cb_info* info, void* self) noexcept;
  void finish(const char* why);
  // Session start (client_name.cc): the client's name, then the greeting.
  void name_known(dns::ClientName name);
  void greet();
  // Per-client limits (session_limits.cc): anvil's verdict on the new
  // connection, then the greeting or 421; before MAIL and RCPT the rates.
  void admit();
  void admitted(const ConnectVerdict& v);
  void send_greeting();
  bool wait_for_rate(RateEvent ev, std::string_view args, void (Session::*next)(std::string_view));
  void arm_timeout();
  std::string client() const;  // "name[address]" for log lines

  // Commands (one file each: cmd_helo.cc, cmd_mail.cc, cmd_rcpt.cc, cmd_data.cc, cmd_bdat.cc,
  // cmd_vrfy.cc, cmd_simple.cc)
  void dispatch(std::string_view line);
  void cmd_helo(const Command& c, bool extended);
  void cmd_mail(const Command& c);
  void mail_from(std::string_view args);
  void cmd_rcpt(const Command& c);
  void rcpt_to(std::string_view args);
  void cmd_data(const Command& c);
  void cmd_rset(const Command& c);
  void cmd_noop(const Command& c);
  void cmd_quit(const Command& c);
  void cmd_vrfy(const Command& c);
  void vrfy_checked(const std::string& addr, RecipientStatus status, const std::string& why);
  void cmd_bdat(const Command& c);
  void cmd_help(const Command& c);
  void cmd_starttls(const Command& c);
  void cmd_auth(const Command& c);
  void auth_challenge(const std::string& challenge);
  void auth_response(const std::string& line);
  void auth_done(const auth::AuthResult& result);
  void tls_established();
  void set_callbacks();
  bool authenticated() const { return !sasl_user_.empty(); }
  void data_input();
  void data_end();
  // The message, whether it comes with DATA or BDAT (cmd_data.cc).
  std::optional<Refusal> begin_message();
  std::optional<Refusal> content_refusal(const char* bare);  // bare: "<CR>" refused, or null
  void commit_message();
  void data_committed(queue::Cleanup& job, const Status& result);
  void refuse(const Refusal& r);
  // BDAT (cmd_bdat.cc)
  void bdat_input();
  void bdat_chunk_end();
  void reset_transaction();
  void recipient_checked(RecipientStatus status, const std::string& why);
  void log_rcpt_event(const char* kind, const std::string& text, const std::string& rcpt);
  void check_answered(bool resume, const char* command);
  mail::ArgOptions arg_options() const;
  void arg_error(mail::ArgFault why, const Error& e, bool sender);

  server::Context& ctx_;
  const Settings& settings_;
  queue::QueueIdGenerator& ids_;
  server::Peer peer_;
  std::string client_name_ = "unknown";  // forward-confirmed reverse name
  std::unique_ptr<dns::ClientNameLookup> name_lookup_;  // until the greeting
  SessionLimits limits_;
  std::function<void(Session*)> on_closed_;
  event::BuffereventPtr bev_;
  event::Timer timeout_;
  event::Timer data_deadline_;
  event::Timer drained_;  // closing: the socket's output is empty
  evbuffer_cb_entry* drain_watch_ = nullptr;
  event::Deferred flush_;                     // runs flush_output()
  evbuffer_cb_entry* output_watch_ = nullptr;  // schedules flush_ (plain connections)
  bool reading_paused_ = false;
  Phase phase_ = Phase::kCommands;
  event::LineReader lines_{settings_.line_limit};
  int errors_ = 0;
  std::string helo_;
  bool esmtp_ = false;
  std::string local_address_;  // for authd's lip=

  // TLS: active from the first byte (wrappermode) or after STARTTLS.
  bool tls_active_ = false;
  bool close_notify_sent_ = false;
  bool tls_broken_ = false;  // wrappermode could not be set up: close at start
  std::optional<tls::Negotiated> tls_;  // after the handshake

  // SASL (RFC 4954)
  std::unique_ptr<auth::AuthClient> auth_client_;
  std::string sasl_method_;  // while authenticating and after
  std::string sasl_user_;    // "" until 235

  // The transaction (RFC 5321 3.3), cleared by RSET, HELO/EHLO and after DATA.
  std::optional<mail::MailArgs> mail_;
  std::vector<queue::Recipient> rcpts_;
  bool hold_ = false;     // a HOLD action: the queue file goes to hold/
  bool discard_ = false;  // a DISCARD action: 250 after DATA, nothing queued
  queue::Recipient pending_rcpt_;                      // waiting for check_recipient
  std::unique_ptr<auth::UserdbLookup> rcpt_lookup_;  // RCPT's or VRFY's recipient check
  bool checking_inline_ = false;
  std::unique_ptr<queue::Cleanup> cleanup_;
  std::optional<mail::DataDecoder> decoder_;
  std::string decoded_;
  bool data_failed_ = false;
  // CHUNKING (RFC 3030), from the transaction's first accepted BDAT to its end.
  struct Chunking {
    mail::ChunkDecoder decoder;
    mail::ChunkAccount account;
  };
  std::optional<Chunking> chunking_;
  // The chunk being read: its octets left, LAST, and the refusal to send
  // once they are all read (they are then dropped, not stored).
  uint64_t chunk_size_ = 0;
  uint64_t chunk_left_ = 0;
  bool chunk_last_ = false;
  std::optional<Refusal> chunk_refusal_;
  // After a refused chunk, the chunks the client pipelined behind it get
  // the same answer (RFC 3030 2: accept and discard them) until LAST or any
  // other command; they do not count as further errors.
  std::optional<Refusal> bdat_failure_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool closing_after_wait_ = false;
  int commands_ = 0;
  int messages_ = 0;
};

}  // namespace tern::smtpd
