#include "smtp-client/session.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/mail/smtp_path.h"
#include "common/mail/utf8.h"

namespace tern::smtp_client {

namespace {

using Action = ipc::DeliveryAction;

std::string command_name(ipc::DeliveryProtocol p, bool helo) {
  if (p == ipc::DeliveryProtocol::kLmtp) return "LHLO";
  return helo ? "HELO" : "EHLO";
}

}  // namespace

Session::Session(event::Loop& loop, dns::Resolver* resolver, const Settings& settings,
                 ipc::DeliveryProtocol protocol, Nexthop hop, std::string jail_root)
    : loop_(loop),
      resolver_(resolver),
      settings_(settings),
      protocol_(protocol),
      hop_(std::move(hop)),
      jail_root_(std::move(jail_root)),
      mx_(resolver, MxOptions{settings.ipv4, settings.ipv6, settings.mx_address_limit, settings.myhostname}) {
  timer_ = event::Timer(loop_, [this] { on_timeout(); });
  if (hop_.kind == Nexthop::Kind::kUnix) {
    peer_.label = hop_.path + "[" + hop_.path + "]";
    peer_.relay = hop_.path;
  } else {
    peer_.label = hop_.host;
    peer_.relay = "none";
  }
}

Session::~Session() {
  watch_ = event::IoWatch();
  timer_ = event::Timer();
}

bool Session::usable() const {
  if (state_ != State::kReady || broken_ || !fd_.valid() || done_) return false;
  if (settings_.reuse_count_limit > 0 && uses_ > settings_.reuse_count_limit) return false;
  if (settings_.reuse_time_limit.count() > 0 && loop_.clock().now() - connected_at_ >= settings_.reuse_time_limit)
    return false;
  return true;
}

void Session::run(Job job, Done done) {
  job_ = std::move(job);
  done_ = std::move(done);
  results_.assign(job_.rcpts.size(), std::nullopt);
  accepted_.clear();
  unsent_.clear();
  pending_.clear();
  end_replies_ = 0;
  data_accepted_ = false;
  body_.reset();
  scanner_.reset();
  downgrade_.reset();
  reconnected_ = false;
  started_ = loop_.clock().now();
  setup_ = Duration{};
  in_xfer_ = false;
  if (state_ == State::kReady && fd_.valid()) {
    state_ = State::kRset;
    wait(settings_.rset_timeout);
    send("RSET\r\n");
    return;
  }
  close_socket();
  begin();
}

// ---- greeting and hello ------------------------------------------------------

void Session::send_hello(bool helo) {
  state_ = helo ? State::kHeloFallback : State::kHelo;
  wait(settings_.helo_timeout);
  send(command_name(protocol_, helo) + " " + settings_.helo_name + "\r\n");
}

void Session::on_hello_reply(const Reply& r) {
  bool helo = state_ == State::kHeloFallback;
  if (r.klass() != 2) {
    if (protocol_ == ipc::DeliveryProtocol::kSmtp && !helo && r.klass() == 5) return send_hello(true);
    return next_after_reply(r, command_name(protocol_, helo));
  }
  if (!ssl_) ++sessions_;  // a session that got past EHLO (smtp_mx_session_limit)
  features_ = {};
  if (!helo) {
    for (size_t i = 1; i < r.lines.size(); ++i) {
      if (r.lines[i].size() <= 4) continue;  // a bare "250": no keyword
      std::string_view l = std::string_view(r.lines[i]).substr(4);
      auto words = split_any(l, " ");
      if (words.empty()) continue;
      std::string kw = to_lower(words[0]);
      if (kw == "pipelining") features_.pipelining = true;
      else if (kw == "dsn") features_.dsn = true;
      else if (kw == "8bitmime") features_.eightbit = true;
      else if (kw == "smtputf8") features_.smtputf8 = true;
      else if (kw == "starttls") features_.starttls = true;
      else if (kw == "auth" || starts_with_nocase(kw, "auth=")) {
        // "AUTH PLAIN LOGIN", or the pre-RFC 4954 "AUTH=PLAIN LOGIN".
        if (kw.size() > 5) features_.auth.push_back(upper_ascii(kw.substr(5)));
        for (size_t w = 1; w < words.size() && features_.auth.size() < 32; ++w)
          features_.auth.push_back(upper_ascii(words[w]));
      }
      else if (kw == "size") {
        features_.size = true;
        if (words.size() > 1)
          if (auto n = parse_int(words[1]); n && *n > 0) features_.size_limit = static_cast<unsigned long long>(*n);
      }
    }
  }
  TlsLevel level = tls_level();
  if (level != TlsLevel::kNone && !ssl_ && plain_target_ != next_target_ - 1) {
    if (features_.starttls && settings_.tls_ctx) return start_tls();
    if (level >= TlsLevel::kEncrypt)
      return try_next(Action::kDeferred, "4.7.4",
                      features_.starttls ? "TLS is required, but TLS is not available here (see the log)"
                                         : "TLS is required, but was not offered by host " + peer_.label);
  }
  after_hello();
}

// ---- the transaction ------------------------------------------------------------

std::string Session::mail_command() const {
  const auto& env = job_.file->envelope();
  std::string c = "MAIL FROM:<" + env.sender + ">";
  if (features_.size) c += " SIZE=" + std::to_string(env.message_size);
  if (features_.eightbit && (env.body == queue::BodyType::k8BitMime || env.body == queue::BodyType::kBinaryMime))
    c += " BODY=8BITMIME";
  if (env.smtputf8 && features_.smtputf8) c += " SMTPUTF8";
  if (features_.dsn) {
    if (env.ret != queue::DsnRet::kUnspecified) c += " RET=" + std::string(queue::dsn_ret_name(env.ret));
    if (!env.envid.empty()) c += " ENVID=" + mail::xtext_encode(env.envid);
  }
  return c + "\r\n";
}

std::string Session::rcpt_command(const Job::Rcpt& r) const {
  std::string c = "RCPT TO:<" + r.address + ">";
  if (features_.dsn) {
    if (r.notify) c += " NOTIFY=" + queue::format_notify(r.notify);
    size_t semi = r.orcpt.find(';');
    if (semi != std::string::npos && semi > 0)
      c += " ORCPT=" + r.orcpt.substr(0, semi) + ";" + mail::xtext_encode(std::string_view(r.orcpt).substr(semi + 1));
  }
  return c + "\r\n";
}

void Session::start_transaction() {
  auto now = loop_.clock().now();
  setup_ = now - started_;
  xfer_started_ = now;
  in_xfer_ = true;
  state_ = State::kCommands;
  const auto& env = job_.file->envelope();
  // Checks that fail the message here, the session staying usable.
  bool needs_utf8 = env.smtputf8 && !mail::is_ascii(env.sender);
  for (const auto& r : job_.rcpts) needs_utf8 = needs_utf8 || (env.smtputf8 && !mail::is_ascii(r.address));
  if (needs_utf8 && !features_.smtputf8) {
    for (size_t i = 0; i < job_.rcpts.size(); ++i)
      results_[i] = result_failure(job_.rcpts[i].index, Action::kBounced, "5.6.7", peer_.relay,
                                   "SMTPUTF8 is required, but was not offered by host " + peer_.label);
    return finish();
  }
  if (features_.size_limit && env.message_size > features_.size_limit) {
    for (size_t i = 0; i < job_.rcpts.size(); ++i)
      results_[i] = result_failure(job_.rcpts[i].index, Action::kBounced, "5.3.4", peer_.relay,
                                   strf("message size %llu exceeds size limit %llu of server %s",
                                        static_cast<unsigned long long>(env.message_size), features_.size_limit,
                                        peer_.label.c_str()));
    return finish();
  }
  if (needs_downgrade_scan()) return begin_downgrade_scan();
  queue_commands();
}

void Session::queue_commands() {
  state_ = State::kCommands;
  unsent_.push_back({Command::Kind::kMail, mail_command(), 0});
  for (size_t i = 0; i < job_.rcpts.size(); ++i)
    unsent_.push_back({Command::Kind::kRcpt, rcpt_command(job_.rcpts[i]), i});
  unsent_.push_back({Command::Kind::kData, "DATA\r\n", 0});
  send_commands();
}

void Session::send_commands() {
  std::string batch;
  size_t n = features_.pipelining ? unsent_.size() : std::min<size_t>(1, unsent_.size());
  for (size_t i = 0; i < n; ++i) {
    batch += unsent_[i].text;
    pending_.push_back(std::move(unsent_[i]));
  }
  unsent_.erase(unsent_.begin(), unsent_.begin() + static_cast<long>(n));
  if (pending_.empty()) return finish();
  switch (pending_.front().kind) {
    case Command::Kind::kMail: wait(settings_.mail_timeout); break;
    case Command::Kind::kRcpt: wait(settings_.rcpt_timeout); break;
    case Command::Kind::kData: wait(settings_.data_init_timeout); break;
  }
  send(batch);
}

void Session::on_command_reply(const Reply& r) {
  Command cmd = std::move(pending_.front());
  pending_.erase(pending_.begin());
  switch (cmd.kind) {
    case Command::Kind::kMail:
      // A 4xx to MAIL says nothing about the recipients: the next MX may
      // take the message (Postfix does the same).
      if (r.klass() == 4 && hop_.kind != Nexthop::Kind::kUnix) return next_after_reply(r, "MAIL FROM");
      if (r.klass() != 2) {
        for (size_t i = 0; i < job_.rcpts.size(); ++i)
          results_[i] = result_from_reply(job_.rcpts[i].index, r, peer_, "MAIL FROM", features_.dsn,
                                          job_.rcpts[i].notify);
        unsent_.clear();  // without PIPELINING nothing more is sent
      }
      break;
    case Command::Kind::kRcpt:
      if (has_result(cmd.rcpt)) break;  // MAIL FROM failed: these replies say nothing more
      if (r.klass() == 2) {
        accepted_.push_back(cmd.rcpt);
      } else {
        results_[cmd.rcpt] = result_from_reply(job_.rcpts[cmd.rcpt].index, r, peer_, "RCPT TO", features_.dsn,
                                               job_.rcpts[cmd.rcpt].notify);
      }
      // Without PIPELINING, DATA only follows when someone was accepted.
      if (!features_.pipelining && unsent_.size() == 1 && accepted_.empty()) unsent_.clear();
      break;
    case Command::Kind::kData:
      if (r.code == 354) {
        if (!accepted_.empty()) return start_body();
        // Pipelined DATA accepted with nobody to deliver to (RFC 2920 3.1):
        // end the empty transaction and ignore its reply.
        data_accepted_ = false;
        state_ = State::kDataDone;
        end_replies_ = 0;
        wait(settings_.data_done_timeout);
        return send(".\r\n");
      }
      for (size_t i : accepted_)
        if (!has_result(i))
          results_[i] = result_from_reply(job_.rcpts[i].index, r, peer_, "DATA", features_.dsn, job_.rcpts[i].notify);
      return finish();
  }
  if (pending_.empty()) return send_commands();
  switch (pending_.front().kind) {
    case Command::Kind::kMail: wait(settings_.mail_timeout); break;
    case Command::Kind::kRcpt: wait(settings_.rcpt_timeout); break;
    case Command::Kind::kData: wait(settings_.data_init_timeout); break;
  }
}

void Session::start_body() {
  data_accepted_ = true;
  state_ = State::kBody;
  body_ = downgrade_ ? std::make_unique<MessageStream>(*job_.file, *downgrade_)
                     : std::make_unique<MessageStream>(*job_.file);
  pump_body();
}

void Session::pump_body() {
  for (;;) {
    while (out_.size() < kChunk && !body_->done()) {
      if (auto st = body_->fill(out_, kChunk); !st)
        return fail_all(Action::kDeferred, "4.3.0", "error reading the queue file: " + st.error().text);
    }
    flush();
    if (!fd_.valid() || state_ != State::kBody) return;
    if (!out_.empty()) break;  // the socket is full: on_events calls again
    if (body_->done()) {
      body_.reset();
      state_ = State::kDataDone;
      end_replies_ = 0;
      wait(settings_.data_done_timeout);
      return;
    }
  }
  wait(settings_.data_xfer_timeout);
}

void Session::on_end_reply(const Reply& r) {
  if (!data_accepted_) return finish();
  if (protocol_ == ipc::DeliveryProtocol::kSmtp) {
    for (size_t i : accepted_)
      if (!has_result(i))
        results_[i] =
            result_from_reply(job_.rcpts[i].index, r, peer_, "end of DATA", features_.dsn, job_.rcpts[i].notify);
    return finish();
  }
  // LMTP: one reply per accepted recipient, in RCPT order (RFC 2033 4.2).
  size_t i = accepted_[end_replies_++];
  results_[i] = result_from_reply(job_.rcpts[i].index, r, peer_, "end of DATA", features_.dsn, job_.rcpts[i].notify);
  if (end_replies_ >= accepted_.size()) return finish();
  wait(settings_.data_done_timeout);
}

void Session::finish() {
  state_ = State::kReady;
  ++uses_;
  timer_.cancel();
  pending_.clear();
  unsent_.clear();
  body_.reset();
  scanner_.reset();
  if (fd_.valid()) watch_.set_events(event::IoWatch::kRead | (out_.empty() ? 0 : event::IoWatch::kWrite));
  fail_all(Action::kDeferred, "4.3.0", "no reply for the recipient");  // none left when all went well
}

void Session::fail_all(ipc::DeliveryAction action, const std::string& dsn, const std::string& reason,
                       const std::string& reply) {
  bool ok_end = state_ == State::kReady;
  if (!ok_end) {
    broken_ = true;
    close_socket();
  }
  if (!done_) return;
  JobOutcome out;
  for (size_t i = 0; i < job_.rcpts.size(); ++i) {
    if (results_[i]) {
      out.results.push_back(std::move(*results_[i]));
    } else {
      auto r = result_failure(job_.rcpts[i].index, action, dsn, peer_.relay, reason);
      r.reply = reply;
      out.results.push_back(std::move(r));
    }
  }
  auto now = loop_.clock().now();
  if (!in_xfer_) {
    out.setup = now - started_;
  } else {
    out.setup = setup_;
    out.xfer = now - xfer_started_;
  }
  job_.file.reset();
  Done done = std::move(done_);
  done_ = nullptr;
  // Not from inside our own callbacks: the owner may cache, reuse or drop
  // this session when it learns the outcome.
  loop_.post([done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
}

void Session::fail_reply(const Reply& r, const std::string& command) {
  for (size_t i = 0; i < job_.rcpts.size(); ++i)
    if (!has_result(i))
      results_[i] = result_from_reply(job_.rcpts[i].index, r, peer_, command, features_.dsn, job_.rcpts[i].notify);
  broken_ = true;
  close_socket();
  fail_all(Action::kDeferred, "4.4.2", "");
}

// ---- quitting ----------------------------------------------------------------

void Session::quit(std::function<void()> on_gone) {
  if (state_ == State::kReady && fd_.valid()) {
    state_ = State::kQuit;
    on_quit_ = std::move(on_gone);
    wait(settings_.quit_timeout.count() > 0 ? settings_.quit_timeout : std::chrono::seconds(1));
    send("QUIT\r\n");
    return;
  }
  close_socket();
  if (on_gone) loop_.post(std::move(on_gone));
}

void Session::close_now() {
  if (state_ == State::kReady && fd_.valid()) (void)raw_send("QUIT\r\n", 6);  // the socket is non-blocking
  close_socket();
}

void Session::close_socket() {
  watch_ = event::IoWatch();
  timer_.cancel();
  mx_.cancel();
  ssl_.reset();
  tls_wants_write_ = false;
  ++conn_gen_;
  fd_.reset();
  in_.clear();
  out_.clear();
  replies_.reset();
  state_ = State::kClosed;
}

// ---- I/O ---------------------------------------------------------------------

void Session::wait(Duration timeout) {
  if (timeout.count() <= 0) return timer_.cancel();
  timer_.start(timeout);
}

void Session::send(std::string_view text) {
  out_.append(text);
  flush();
}

void Session::flush() {
  while (!out_.empty() && fd_.valid()) {
    ssize_t n = raw_send(out_.data(), out_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return on_eof(std::strerror(errno));
    }
    out_.erase(0, static_cast<size_t>(n));
  }
  if (fd_.valid() && state_ != State::kConnecting && state_ != State::kTlsHandshake)
    watch_.set_events(event::IoWatch::kRead | (out_.empty() && !tls_wants_write_ ? 0 : event::IoWatch::kWrite));
}

void Session::on_events(short ev) {
  if (state_ == State::kConnecting) {
    if (ev & event::IoWatch::kWrite) on_connected();
    return;
  }
  if (state_ == State::kTlsHandshake) return drive_handshake();
  // Under TLS a write may wait for a read and a read for a write.
  if (ssl_) ev |= event::IoWatch::kRead | (out_.empty() ? 0 : event::IoWatch::kWrite);
  if (ev & event::IoWatch::kWrite) {
    flush();
    if (!fd_.valid()) return;
    if (state_ == State::kBody && out_.empty()) pump_body();
    else if (state_ == State::kBody) wait(settings_.data_xfer_timeout);
  }
  if (fd_.valid() && (ev & event::IoWatch::kRead)) read_some();
}

void Session::read_some() {
  uint64_t gen = conn_gen_;
  auto malformed = [&](const std::string& why) {
    if (state_ == State::kReady || state_ == State::kQuit || state_ == State::kRset) return on_eof(why);
    std::string text = "host " + peer_.label + " sent a malformed reply (" + why + ") while " + stage();
    if (before_transaction()) return try_next(Action::kDeferred, "4.5.0", text);
    fail_all(Action::kDeferred, "4.5.0", text);
  };
  // Under TLS a record may hold more than one read takes: read on while
  // OpenSSL holds decrypted bytes (bounded; the rest waits for the loop).
  for (int round = 0; round < 16; ++round) {
    char buf[8192];
    ssize_t n = raw_recv(buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (tls_wants_write_) watch_.set_events(event::IoWatch::kRead | event::IoWatch::kWrite);
        return;
      }
      return on_eof(std::strerror(errno));
    }
    if (n == 0) return on_eof("");
    in_.append(buf, static_cast<size_t>(n));
    for (;;) {
      size_t nl = in_.find('\n');
      if (nl == std::string::npos) break;
      std::string line = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      auto got = replies_.feed(line);
      if (!got) return malformed(got.error().text);
      if (*got) on_reply(**got);
      // Closed, or moved on to another target or into the TLS handshake.
      if (!fd_.valid() || gen != conn_gen_ || state_ == State::kTlsHandshake) return;
    }
    if (in_.size() > mail::kMaxReplyLine + 2) return malformed("reply line too long");
    if (!ssl_ || SSL_pending(ssl_.get()) == 0) return;
  }
}

void Session::on_reply(const Reply& r) {
  bool in_txn = state_ == State::kHelo || state_ == State::kHeloFallback || state_ == State::kCommands ||
                state_ == State::kBody || state_ == State::kDataDone;
  if (r.code == 421 && in_txn) {
    // The server is closing the session (RFC 5321 3.8): the reply answers
    // everyone still waiting.
    std::string cmd = state_ == State::kCommands && !pending_.empty()
                          ? (pending_.front().kind == Command::Kind::kMail   ? "MAIL FROM"
                             : pending_.front().kind == Command::Kind::kRcpt ? "RCPT TO"
                                                                             : "DATA")
                      : state_ == State::kHelo || state_ == State::kHeloFallback
                          ? command_name(protocol_, state_ == State::kHeloFallback)
                          : "end of DATA";
    bool mail_pending = state_ == State::kCommands && !pending_.empty() && pending_.front().kind == Command::Kind::kMail;
    if (before_transaction() || (mail_pending && hop_.kind != Nexthop::Kind::kUnix)) return next_after_reply(r, cmd);
    return fail_reply(r, cmd);
  }
  switch (state_) {
    case State::kGreeting:
      if (r.klass() == 2) return send_hello(false);
      return try_next(r.klass() == 5 ? Action::kBounced : Action::kDeferred, r.dsn(),
                      "host " + peer_.label + " refused to talk to me: " + r.text(), r.text());
    case State::kStarttls:
      return on_starttls_reply(r);
    case State::kHelo:
    case State::kHeloFallback:
      return on_hello_reply(r);
    case State::kAuth:
      return on_auth_reply(r);
    case State::kRset:
      if (r.klass() == 2) {
        started_ = loop_.clock().now();
        return start_transaction();
      }
      return on_eof("RSET refused");
    case State::kCommands:
      return on_command_reply(r);
    case State::kDataDone:
      return on_end_reply(r);
    case State::kQuit:
      return on_eof("");
    case State::kReady:
      return on_eof("unexpected reply");
    default:
      // kBody: RFC 5321 has no reply before the end of data; one that comes
      // anyway is dropped, and a server that gives up hangs up next, which
      // defers (lost connection while sending message body).
      return;
  }
}

std::string Session::stage() const {
  switch (state_) {
    case State::kGreeting: return "receiving the initial server greeting";
    case State::kHelo: return "performing the " + command_name(protocol_, false) + " handshake";
    case State::kHeloFallback: return "performing the HELO handshake";
    case State::kStarttls: return "sending STARTTLS";
    case State::kTlsHandshake: return "performing the TLS handshake";
    case State::kRset: return "sending RSET";
    case State::kCommands:
      if (pending_.empty()) return "sending MAIL FROM";
      switch (pending_.front().kind) {
        case Command::Kind::kMail: return "sending MAIL FROM";
        case Command::Kind::kRcpt: return "sending RCPT TO";
        case Command::Kind::kData: return "sending DATA command";
      }
      return "sending MAIL FROM";
    case State::kAuth: return "performing the AUTH handshake";
    case State::kScanning: return "preparing the message for a host without 8BITMIME";
    case State::kBody: return "sending message body";
    case State::kDataDone: return "sending end of data -- message may be sent more than once";
    default: return "talking";
  }
}

void Session::on_eof(const std::string& why) {
  switch (state_) {
    case State::kRset:
      // A cached session the server dropped: connect afresh, once.
      if (!reconnected_) {
        reconnected_ = true;
        close_socket();
        started_ = loop_.clock().now();
        return begin();
      }
      break;
    case State::kReady: {
      close_socket();
      broken_ = true;
      if (on_broken_) loop_.post(on_broken_);
      return;
    }
    case State::kQuit: {
      close_socket();
      auto f = std::move(on_quit_);
      on_quit_ = nullptr;
      if (f) loop_.post(std::move(f));
      return;
    }
    case State::kConnecting:
      if (hop_.kind == Nexthop::Kind::kUnix)
        return fail_all(Action::kDeferred, "4.4.1", "connect to " + hop_.path + ": " + why);
      return try_next(Action::kDeferred, "4.4.1", "connect to " + peer_.relay + ": " + why);
    default:
      break;
  }
  std::string text = "lost connection with " + peer_.label + " while " + stage();
  if (!why.empty() && why != "RSET refused") text += " (" + why + ")";
  if (before_transaction()) return try_next(Action::kDeferred, "4.4.2", text);
  fail_all(Action::kDeferred, "4.4.2", text);
}

void Session::on_timeout() {
  switch (state_) {
    case State::kConnecting:
      if (hop_.kind == Nexthop::Kind::kUnix)
        return fail_all(Action::kDeferred, "4.4.1", "connect to " + hop_.path + ": Connection timed out");
      return try_next(Action::kDeferred, "4.4.1", "connect to " + peer_.relay + ": Connection timed out");
    case State::kTlsHandshake:
      return tls_failed("timeout");
    case State::kRset:
    case State::kReady:
    case State::kQuit:
      return on_eof("timeout");
    default: {
      std::string text = "conversation with " + peer_.label + " timed out while " + stage();
      if (before_transaction()) return try_next(Action::kDeferred, "4.4.2", text);
      fail_all(Action::kDeferred, "4.4.2", text);
    }
  }
}

}  // namespace tern::smtp_client
