#include "smtpd/session.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cstring>

#include "common/base/log.h"
#include "common/base/network.h"
#include "common/base/strings.h"

namespace tern::smtpd {
namespace {

// A client that pipelines without reading its replies stops being read
// once this much output waits for it.
constexpr size_t kMaxPendingOutput = 256 * 1024;

}  // namespace

Session::Session(server::Context& ctx, const Settings& settings, queue::QueueIdGenerator& ids, Fd fd,
                 server::Peer peer, std::function<void(Session*)> on_closed)
    : ctx_(ctx),
      settings_(settings),
      ids_(ids),
      peer_(std::move(peer)),
      limits_(settings.limits, ctx.service_name(), peer_.address),
      on_closed_(std::move(on_closed)) {
  local_address_ = local_address(fd.get());
  // Replies go out as soon as they are made. With Nagle's algorithm a reply
  // written while the previous one is unacknowledged (a PIPELINING client's
  // RCPT answered after a userdb lookup, after MAIL's reply left) waits for
  // the client's delayed ACK: 40 ms per transaction.
  set_tcp_nodelay(fd.get());
  if (settings_.wrappermode) {
    // RFC 8314 3.3: TLS from the first byte; the greeting goes out after
    // the handshake.
    auto ssl = tls::new_server_ssl(settings_.tls_ctx.get());
    bufferevent* bev = nullptr;
    if (ssl) {
      bev = bufferevent_openssl_socket_new(ctx_.loop().base(), fd.get(), ssl->get(), BUFFEREVENT_SSL_ACCEPTING,
                                           kTlsBevOptions);
    }
    if (bev) {
      ssl->release();  // the bufferevent frees it (BEV_OPT_CLOSE_ON_FREE)
      fd.release();
      bev_.reset(bev);
      bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
      tls_active_ = true;
    } else {
      log::error("cannot set up TLS for %s: %s", client().c_str(),
                 ssl ? tls::error_queue().c_str() : ssl.error().text.c_str());
      tls_broken_ = true;
    }
  }
  if (!bev_) bev_.reset(bufferevent_socket_new(ctx_.loop().base(), fd.release(), BEV_OPT_CLOSE_ON_FREE));
  set_callbacks();
  flush_ = event::Deferred(ctx_.loop(), [this] { flush_output(); });
  if (!tls_active_) {
    // Plain text: replies are written by flush_output (session.h).
    bufferevent_disable(bev_.get(), EV_WRITE);
    output_watch_ = evbuffer_add_cb(bufferevent_get_output(bev_.get()), &Session::on_output_added, this);
  }
  timeout_ = event::Timer(ctx_.loop(), [this] {
    if (phase_ == Phase::kClosing) return finish("timeout sending the last reply");
    log::info("timeout after %s from %s",
              phase_ == Phase::kData ? "DATA" : phase_ == Phase::kBdat ? "BDAT" : "command", client().c_str());
    reply(421, "4.4.2", settings_.myhostname + " Error: timeout exceeded");
    close_after_reply();
  });
  drained_ = event::Timer(ctx_.loop(), [this] {
    if (phase_ == Phase::kClosing) (void)closing_drained();
  });
  data_deadline_ = event::Timer(ctx_.loop(), [this] {
    log::info("%s took longer than smtpd_data_timeout from %s", phase_ == Phase::kBdat ? "a BDAT chunk" : "DATA",
              client().c_str());
    reply(421, "4.4.2", settings_.myhostname + " Error: timeout exceeded");
    close_after_reply();
  });
}

Session::~Session() {
  *alive_ = false;
  if (output_watch_) evbuffer_remove_cb_entry(bufferevent_get_output(bev_.get()), output_watch_);
  if (cleanup_) cleanup_->abort();
}

void Session::set_callbacks() {
  bufferevent_setcb(bev_.get(), &Session::on_read, &Session::on_write, &Session::on_event, this);
  // A STARTTLS filter hands its records to the socket's bufferevent without
  // limit unless its own high watermark says so; with it, output that the
  // client does not read stays in bev_, where process_input sees it.
  size_t high = bufferevent_get_underlying(bev_.get()) ? kMaxPendingOutput / 4 : 0;
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, high);
}

std::string Session::client() const { return client_name_ + "[" + peer_.address + "]"; }

void Session::greet() {
  log::info("connect from %s", client().c_str());
  if (tls_broken_) {
    timeout_.cancel();
    auto done = std::move(on_closed_);
    done(this);  // destroys *this
    return;
  }
  admit();  // then send_greeting() or 421 (session_limits.cc)
}

void Session::send_greeting() {
  reply(220, "", settings_.banner);
  bufferevent_enable(bev_.get(), tls_active_ ? EV_READ | EV_WRITE : EV_READ);
  arm_timeout();
}

void Session::arm_timeout() { timeout_.start(settings_.timeout); }

void Session::on_read(bufferevent* bev, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  // Input while a command waits stays in the buffer, and no more is read.
  if (s->reading_paused_) return (void)bufferevent_disable(bev, EV_READ);
  s->process_input();
}

// Reading is paused without touching epoll: a client that sends nothing
// until it has its answer (most do) costs no epoll_ctl at all; one that
// does has a buffer's worth read (on_read), then the interest removed.
void Session::pause_reading() { reading_paused_ = true; }

void Session::resume_reading() {
  reading_paused_ = false;
  if ((bufferevent_get_enabled(bev_.get()) & EV_READ) == 0) bufferevent_enable(bev_.get(), EV_READ);
}

// The output is empty (the write low watermark is 0).
void Session::on_write(bufferevent* bev, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  // Plain text: the rest of a reply the kernel could not take at once is
  // written; flush_output writes the next ones itself.
  if (s->output_watch_) bufferevent_disable(bev, EV_WRITE);
  s->output_drained();
}

void Session::output_drained() {
  if (phase_ == Phase::kClosing) {
    if (!output_pending()) (void)closing_drained();
    return;
  }
  // Output drained below the limit: read the pipelined commands again.
  if (phase_ != Phase::kWaiting && phase_ != Phase::kAuthWait && (bufferevent_get_enabled(bev_.get()) & EV_READ) == 0) {
    bufferevent_enable(bev_.get(), EV_READ);
    process_input();
  }
}

void Session::on_output_added(evbuffer*, const evbuffer_cb_info* info, void* self) noexcept {
  if (info->n_added > 0) static_cast<Session*>(self)->flush_.schedule();
}

// Runs from the loop (flush_), after the callbacks of this turn, so never
// inside a command: finishing the session here is safe.
void Session::flush_output() {
  if (!output_watch_) return;
  evbuffer* out = bufferevent_get_output(bev_.get());
  if (evbuffer_get_length(out) == 0) return;
  // SIGPIPE is ignored (skeleton); EAGAIN, a partial write or an error
  // leave bytes behind, and the bufferevent takes over: it writes the rest
  // when the socket can take it (on_write), or reports the error (on_event).
  // A socket bufferevent keeps the start of its output frozen (only its
  // own write callback drains it); thawed for this write, as that callback does.
  evbuffer_unfreeze(out, 1);
  (void)evbuffer_write(out, bufferevent_getfd(bev_.get()));
  evbuffer_freeze(out, 1);
  if (evbuffer_get_length(out) > 0) {
    bufferevent_enable(bev_.get(), EV_WRITE);
    return;
  }
  output_drained();
}

void Session::stop_direct_writes() {
  if (!output_watch_) return;
  evbuffer_remove_cb_entry(bufferevent_get_output(bev_.get()), output_watch_);
  output_watch_ = nullptr;
  flush_.cancel();
  bufferevent_enable(bev_.get(), EV_WRITE);  // what waits in the output leaves first
}

void Session::on_event(bufferevent* bev, short what, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  if (what & BEV_EVENT_CONNECTED) {
    s->tls_established();
    return;
  }
  if (what & BEV_EVENT_EOF) {
    // The client closed while a command waits: its unread commands, if
    // any, come first. The bufferevent stopped reading; resume_reading()
    // reads again, and a closed socket reports its end once more.
    if (s->reading_paused_) return;
    s->finish(s->phase_ == Phase::kData   ? "lost connection after DATA"
              : s->phase_ == Phase::kBdat ? "lost connection after BDAT"
                                          : nullptr);
  } else if (what & BEV_EVENT_ERROR) {
    if (s->tls_active_) {
      // Every OpenSSL error this connection saw, not just the first.
      std::string errors;
      while (unsigned long e = bufferevent_get_openssl_error(bev)) {
        // libevent also queues SSL_get_error()'s result (lib 0): not an
        // OpenSSL error code, nothing to print.
        if (ERR_GET_LIB(e) == 0) continue;
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!errors.empty()) errors += "; ";
        errors += buf;
      }
      std::string queue = tls::error_queue();
      if (!queue.empty()) errors += (errors.empty() ? "" : "; ") + queue;
      if (!s->tls_) {
        log::info("SSL_accept error from %s: %s", s->client().c_str(), errors.empty() ? "lost connection" : errors.c_str());
        return s->finish(nullptr);
      }
      if (!errors.empty()) log::info("TLS error from %s: %s", s->client().c_str(), errors.c_str());
    }
    s->finish("lost connection");
  }
}

void Session::tls_established() {
  SSL* ssl = bufferevent_openssl_get_ssl(bev_.get());
  if (!ssl) return;
  tls_ = tls::negotiated(ssl);
  log::info("Anonymous TLS connection established from %s: %s", client().c_str(), tls::describe(*tls_).c_str());
}

void Session::finish(const char* why) {
  if (phase_ == Phase::kWaiting) {
    // The queue file is being made durable: let the worker finish, then
    // close. The client may still get its 250.
    closing_after_wait_ = true;
    return;
  }
  if (why) log::info("%s from %s", why, client().c_str());
  log::info("disconnect from %s commands=%d messages=%d", client().c_str(), commands_, messages_);
  timeout_.cancel();
  data_deadline_.cancel();
  drained_.cancel();
  if (drain_watch_) {
    if (bufferevent* under = bufferevent_get_underlying(bev_.get()))
      evbuffer_remove_cb_entry(bufferevent_get_output(under), drain_watch_);
    drain_watch_ = nullptr;
  }
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  auto done = std::move(on_closed_);
  done(this);  // destroys *this
}

// The last reply is out. RFC 8446 6.1: each side MUST send close_notify
// before it closes; over implicit TLS it goes straight to the socket, under
// a STARTTLS filter into the socket's bufferevent, whose draining
// (on_drained) brings us back here. A client that has gone gets nothing
// (SIGPIPE is ignored). True when the session is finished (*this is gone).
bool Session::closing_drained() {
  if (tls_active_ && !close_notify_sent_) {
    close_notify_sent_ = true;
    if (tls::send_close_notify(bufferevent_openssl_get_ssl(bev_.get())) && output_pending()) return false;
  }
  finish(nullptr);
  return true;
}

// Under a STARTTLS filter the filter's output empties as soon as its
// records are handed to the socket's bufferevent; the last reply is sent
// only once that one is empty too.
bool Session::output_pending() {
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) > 0) return true;
  bufferevent* under = bufferevent_get_underlying(bev_.get());
  return under && evbuffer_get_length(bufferevent_get_output(under)) > 0;
}

void Session::on_drained(evbuffer*, const evbuffer_cb_info* info, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  // Not from inside libevent's write path: the session frees the bufferevent.
  if (info->n_deleted > 0 && s->phase_ == Phase::kClosing && !s->output_pending()) s->drained_.start(Duration::zero());
}

void Session::close_after_reply() {
  phase_ = Phase::kClosing;
  timeout_.cancel();
  data_deadline_.cancel();
  reading_paused_ = false;
  bufferevent_disable(bev_.get(), EV_READ);
  // Nothing left to send, and no close_notify waiting to leave either.
  if (!output_pending() && closing_drained()) return;
  // A client that never reads its last reply is still dropped in time.
  timeout_.start(settings_.timeout);
  bufferevent* under = bufferevent_get_underlying(bev_.get());
  if (under && !drain_watch_) drain_watch_ = evbuffer_add_cb(bufferevent_get_output(under), &Session::on_drained, this);
}

void Session::reply(int code, std::string_view enhanced, std::string_view text) {
  std::string line = std::to_string(code) + " ";
  if (!enhanced.empty()) line.append(enhanced).push_back(' ');
  line.append(text).append("\r\n");
  evbuffer_add(bufferevent_get_output(bev_.get()), line.data(), line.size());
}

void Session::reply_lines(int code, std::string_view enhanced, const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += std::to_string(code);
    out += i + 1 < lines.size() ? "-" : " ";
    if (!enhanced.empty()) out.append(enhanced).push_back(' ');
    out += lines[i] + "\r\n";
  }
  evbuffer_add(bufferevent_get_output(bev_.get()), out.data(), out.size());
}

void Session::error_reply(int code, std::string_view enhanced, std::string_view text) {
  reply(code, enhanced, text);
  // RFC 5321 4.5.4.1 lets a server drop a client that only makes errors;
  // Postfix's smtpd_hard_error_limit.
  if (++errors_ >= settings_.hard_error_limit) {
    log::warning("too many errors from %s", client().c_str());
    reply(421, "4.7.0", settings_.myhostname + " Error: too many errors");
    close_after_reply();
  }
}

// Takes one command line from the input; false when none is complete. A
// line longer than line_length_limit is answered once and dropped
// (common/event/line_reader.h).
bool Session::read_command_line(std::string* line) {
  for (;;) {
    switch (lines_.next(bufferevent_get_input(bev_.get()), line)) {
      case event::LineReader::Read::kLine: return true;
      case event::LineReader::Read::kNeedMore: return false;
      case event::LineReader::Read::kTooLong:
        error_reply(500, "5.5.2", "Error: line too long");
        if (phase_ == Phase::kClosing) return false;
        continue;
    }
  }
}

void Session::process_input() {
  arm_timeout();
  std::string line;
  while (phase_ == Phase::kCommands || phase_ == Phase::kData || phase_ == Phase::kBdat || phase_ == Phase::kAuth) {
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) > kMaxPendingOutput) {
      bufferevent_disable(bev_.get(), EV_READ);  // on_write resumes
      return;
    }
    if (phase_ == Phase::kData) {
      data_input();
      if (phase_ == Phase::kData) return;  // wants more bytes
      continue;
    }
    if (phase_ == Phase::kBdat) {
      bdat_input();
      if (phase_ == Phase::kBdat) return;  // wants more octets
      continue;
    }
    if (!read_command_line(&line)) return;
    if (phase_ == Phase::kAuth) {
      auth_response(line);
      continue;
    }
    dispatch(line);
  }
}

void Session::dispatch(std::string_view line) {
  CommandError err;
  Command c = parse_command(line, &err);
  commands_++;
  switch (err) {
    case CommandError::kNul: return error_reply(500, "5.5.2", "Error: NUL character in command");
    case CommandError::kEmpty: return error_reply(500, "5.5.2", "Error: bad syntax");
    case CommandError::kMissingFrom: return error_reply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    case CommandError::kMissingTo: return error_reply(501, "5.5.4", "Syntax: RCPT TO:<address>");
    case CommandError::kNone: break;
  }
  // Chunks pipelined behind a refused BDAT share its answer; anything else
  // ends that (cmd_bdat.cc).
  if (c.verb != Verb::kBdat) bdat_failure_.reset();
  switch (c.verb) {
    case Verb::kHelo: return cmd_helo(c, false);
    case Verb::kEhlo: return cmd_helo(c, true);
    case Verb::kMail: return cmd_mail(c);
    case Verb::kRcpt: return cmd_rcpt(c);
    case Verb::kData: return cmd_data(c);
    case Verb::kRset: return cmd_rset(c);
    case Verb::kNoop: return cmd_noop(c);
    case Verb::kQuit: return cmd_quit(c);
    case Verb::kVrfy: return cmd_vrfy(c);
    case Verb::kHelp: return cmd_help(c);
    // EXPN would list a mailing list's members to anyone: never offered.
    case Verb::kExpn: return error_reply(502, "5.5.1", "Error: EXPN is not offered");
    case Verb::kStarttls: return cmd_starttls(c);
    case Verb::kAuth: return cmd_auth(c);
    case Verb::kBdat: return cmd_bdat(c);
    case Verb::kUnknown:
      return error_reply(502, "5.5.2", "Error: command not recognized");
  }
}

void Session::reset_transaction() {
  rcpt_lookup_.reset();
  mail_.reset();
  rcpts_.clear();
  hold_ = discard_ = false;
  if (cleanup_) cleanup_->abort();
  cleanup_.reset();
  decoder_.reset();
  decoded_.clear();
  chunking_.reset();
}

}  // namespace tern::smtpd
