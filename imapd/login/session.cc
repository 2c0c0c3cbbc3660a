#include "imapd/login/session.h"

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include "common/base/log.h"
#include "common/base/network.h"
#include "common/ipc/imap_handoff.h"

namespace tern::imap_login {
namespace {

constexpr int kTlsBevOptions = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
// Output a client that does not read may leave waiting before it is dropped.
constexpr size_t kMaxPendingOutput = 64 * 1024;

imap::ReaderLimits reader_limits(const Settings& s) {
  imap::ReaderLimits l;
  l.max_command = s.max_command;
  l.max_literal = s.max_command;
  l.max_depth = 4;     // ID's list is the deepest pre-login argument
  l.max_values = 128;  // ID: at most 30 field-value pairs (RFC 2971 3.3)
  return l;
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out(s.substr(0, 64));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

// ---- LoginServer ----------------------------------------------------------

LoginServer::~LoginServer() { *alive_ = false; }

void LoginServer::accept(Fd fd, const server::Peer& peer) {
  auto s = std::make_unique<Session>(*this, std::move(fd), peer);
  Session* raw = s.get();
  sessions_[raw] = std::move(s);
  raw->start();
}

void LoginServer::stop() {
  std::vector<Session*> all;
  for (auto& [p, s] : sessions_) all.push_back(p);
  for (Session* s : all) s->shutdown();
}

void LoginServer::release_ip(const std::string& address) {
  auto it = per_ip_.find(address);
  if (it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
}

void LoginServer::session_closed(Session* s) {
  // Destroyed on the next turn: we are inside one of its callbacks.
  loop_post([this, s] {
    if (sessions_.erase(s)) ctx_.client_done();
  });
}

void LoginServer::session_moved(Session* s) {
  loop_post([this, s] { sessions_.erase(s); });
}

void LoginServer::start_proxy(event::BuffereventPtr tls, Fd pair, std::string client) {
  auto p = std::make_unique<TlsProxy>(ctx_.loop(), std::move(tls), std::move(pair), std::move(client),
                                      [this](TlsProxy* done) {
                                        if (proxies_.erase(done)) ctx_.client_done();
                                      });
  TlsProxy* raw = p.get();
  proxies_[raw] = std::move(p);
}

void LoginServer::loop_post(std::function<void()> fn) {
  ctx_.loop().post([alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

// ---- Session: I/O ---------------------------------------------------------

Session::Session(LoginServer& server, Fd fd, server::Peer peer)
    : server_(server), settings_(server.settings()), peer_(std::move(peer)) {
  local_address_ = local_address(fd.get());
  // The proxied answers of imapd come in pieces (session.cc in imapd): no
  // Nagle delay between them. Set before the handoff, it stays with the
  // descriptor imapd gets.
  set_tcp_nodelay(fd.get());
  event_base* base = server_.ctx().loop().base();
  if (settings_.wrappermode) {
    // RFC 8314 3.3: TLS from the first byte; the greeting waits in the
    // bufferevent until the handshake is done.
    auto ssl = tls::new_server_ssl(settings_.tls_ctx.get());
    bufferevent* bev = nullptr;
    if (ssl) bev = bufferevent_openssl_socket_new(base, fd.get(), ssl->get(), BUFFEREVENT_SSL_ACCEPTING, kTlsBevOptions);
    if (bev) {
      ssl->release();  // the bufferevent frees it
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
  if (!bev_) bev_.reset(bufferevent_socket_new(base, fd.release(), BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  set_callbacks();
  reader_ = std::make_unique<imap::CommandReader>(reader_limits(settings_));
  login_timer_ = event::Timer(server_.ctx().loop(), [this] {
    if (phase_ == Phase::kClosing) return finish("timeout sending the last reply");
    if (phase_ == Phase::kHandoff || phase_ == Phase::kDone) return;
    log::info("Disconnected: Inactivity during authentication (%s)", client().c_str());
    bye("Disconnected for inactivity.");
  });
  close_timer_ = event::Timer(server_.ctx().loop(), [this] {
    if (phase_ == Phase::kClosing && !output_pending()) closing_drained();
  });
}

Session::~Session() {
  if (counted_ip_) server_.release_ip(peer_.address);
}

void Session::set_callbacks() {
  bufferevent_setcb(bev_.get(), &Session::on_read, &Session::on_write, &Session::on_event, this);
  // Read no more than a handoff may carry ahead: what the client pipelines
  // past that waits in the kernel (and, for plain connections, goes to
  // imapd with the socket).
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, ipc::kHandoffMaxPending);
}

std::string Session::client() const {
  return "rip=" + peer_.address + ", lip=" + local_address_ + (tls_active_ ? ", TLS" : "");
}

bool Session::plaintext_allowed() const {
  return !settings_.disable_plaintext_auth || tls_active_ || settings_.trusted(peer_.address);
}

std::string Session::capabilities() const {
  std::string caps = "IMAP4rev1 LITERAL+ SASL-IR ID";
  if (settings_.tls_ctx && !tls_active_) caps += " STARTTLS";
  // RFC 3501 6.2.3 and 7.2.1: LOGINDISABLED when LOGIN would be refused;
  // no AUTH= either (RFC 2595 3.2's advice for mechanisms that send the
  // password in the clear).
  caps += plaintext_allowed() ? " AUTH=PLAIN AUTH=LOGIN" : " LOGINDISABLED";
  return caps;
}

void Session::start() {
  if (tls_broken_) {
    phase_ = Phase::kDone;
    return server_.session_closed(this);
  }
  log::debug("connect from %s", client().c_str());
  if (settings_.per_ip_limit > 0) {
    int& n = server_.per_ip(peer_.address);
    if (n >= settings_.per_ip_limit) {
      log::warning("Disconnected: too many connections from %s (imap_login_client_connection_limit %d)",
                   peer_.address.c_str(), settings_.per_ip_limit);
      bufferevent_enable(bev_.get(), EV_WRITE);
      reply("* BYE Too many connections from your address, try again later.");
      return close_after_reply();
    }
    n++;
    counted_ip_ = true;
  }
  reply("* OK [CAPABILITY " + capabilities() + "] Tern ready.");
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  login_timer_.start(settings_.login_timeout);
}

void Session::shutdown() {
  if (phase_ != Phase::kCommands && phase_ != Phase::kAuthLine) return;  // a login in progress finishes
  bye("Server shutting down.");
}

void Session::on_read(bufferevent*, void* self) noexcept { static_cast<Session*>(self)->process_input(); }

void Session::on_write(bufferevent* bev, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  if (s->phase_ == Phase::kClosing) {
    if (!s->output_pending()) s->closing_drained();
    else s->close_timer_.start(std::chrono::milliseconds(50));
    return;
  }
  if ((s->phase_ == Phase::kCommands || s->phase_ == Phase::kAuthLine) && !(bufferevent_get_enabled(bev) & EV_READ)) {
    bufferevent_enable(bev, EV_READ);
    s->process_input();
  }
}

void Session::on_event(bufferevent* bev, short what, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  if (what & BEV_EVENT_CONNECTED) {
    if (SSL* ssl = bufferevent_openssl_get_ssl(bev))
      log::info("TLS connection established: %s: %s", s->client().c_str(), tls::describe(tls::negotiated(ssl)).c_str());
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if ((what & BEV_EVENT_ERROR) && s->tls_active_) {
      std::string errors = tls::error_queue();
      if (!errors.empty()) log::info("TLS error: %s: %s", s->client().c_str(), errors.c_str());
    }
    if (s->phase_ == Phase::kHandoff) {
      // imapd has (or is about to have) the client; nothing to do here.
      return;
    }
    s->finish(s->phase_ == Phase::kClosing ? nullptr : "Disconnected: client closed the connection");
  }
}

bool Session::output_pending() {
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) > 0) return true;
  bufferevent* under = bufferevent_get_underlying(bev_.get());
  return under && evbuffer_get_length(bufferevent_get_output(under)) > 0;
}

void Session::reply(std::string_view line) {
  evbuffer* out = bufferevent_get_output(bev_.get());
  evbuffer_add(out, line.data(), line.size());
  evbuffer_add(out, "\r\n", 2);
}

void Session::bad(const std::string& tag, std::string_view text) {
  reply(tag + " BAD " + std::string(text));
  if (++bad_commands_ >= settings_.max_bad_commands) {
    log::info("Disconnected: too many invalid commands (%s)", client().c_str());
    bye("Too many invalid IMAP commands.");
  }
}

void Session::bye(std::string_view text) {
  if (phase_ == Phase::kClosing || phase_ == Phase::kDone) return;
  reply("* BYE " + std::string(text));
  close_after_reply();
}

void Session::close_after_reply() {
  phase_ = Phase::kClosing;
  if (auth_) auth_->cancel();
  handoff_.reset();
  bufferevent_disable(bev_.get(), EV_READ);
  if (!output_pending()) {
    close_timer_.start(Duration::zero());  // not from inside a command
    return;
  }
  // A client that never reads its last reply is still dropped in time.
  login_timer_.start(std::chrono::seconds(10));
  close_timer_.start(std::chrono::milliseconds(50));
}

// The last reply is out. RFC 8446 6.1: close_notify before the close; over
// implicit TLS it goes straight to the socket, under a STARTTLS filter into
// the socket's bufferevent, which close_timer_ polls until it has left
// (login_timer_ still bounds the wait).
void Session::closing_drained() {
  if (tls_active_ && !close_notify_sent_) {
    close_notify_sent_ = true;
    if (tls::send_close_notify(bufferevent_openssl_get_ssl(bev_.get())) && output_pending()) {
      login_timer_.start(std::chrono::seconds(10));  // a client that never reads is still dropped
      return close_timer_.start(std::chrono::milliseconds(50));
    }
  }
  finish(nullptr);
}

void Session::finish(const char* why) {
  if (phase_ == Phase::kDone) return;
  if (why) log::info("%s (%s)", why, client().c_str());
  phase_ = Phase::kDone;
  login_timer_.cancel();
  close_timer_.cancel();
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  server_.session_closed(this);
}

// ---- Session: reading commands -------------------------------------------

// Gives the reader the next line, or the next octets of an accepted
// literal, from the input buffer; false when there is nothing to give.
bool Session::feed_reader() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  size_t have = evbuffer_get_length(in);
  if (have == 0) return false;
  size_t n;
  if (literal_left_ > 0) {
    n = static_cast<size_t>(std::min<uint64_t>(literal_left_, have));
    literal_left_ -= n;
  } else {
    evbuffer_ptr eol = evbuffer_search(in, "\n", 1, nullptr);
    // No line end yet: hand over what there is, so an over-long line is
    // refused by the reader rather than buffered here.
    n = eol.pos < 0 ? have : static_cast<size_t>(eol.pos) + 1;
  }
  std::string chunk(n, '\0');
  evbuffer_remove(in, chunk.data(), n);
  reader_->feed(chunk);
  return true;
}

void Session::process_input() {
  while (phase_ == Phase::kCommands || phase_ == Phase::kAuthLine) {
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) > kMaxPendingOutput) {
      bufferevent_disable(bev_.get(), EV_READ);  // on_write resumes
      return;
    }
    if (phase_ == Phase::kAuthLine) {
      // The client's SASL response: one line, not a command.
      imap::Event ev = reader_->next_line();
      if (ev.kind == imap::EventKind::kNeedMore) {
        if (!feed_reader()) return;
        continue;
      }
      if (ev.kind == imap::EventKind::kError) {
        phase_ = Phase::kCommands;
        if (auth_) auth_->cancel();
        bad(auth_tag_, "Authentication response too long");
        continue;
      }
      auth_line(std::move(ev.line));
      continue;
    }
    imap::Event ev = reader_->next();
    switch (ev.kind) {
      case imap::EventKind::kNeedMore:
        if (!feed_reader()) return;
        continue;
      case imap::EventKind::kLiteral: {
        const imap::LiteralRequest& lit = ev.literal;
        if (!lit.fits_memory) {
          std::string tag = reader_->partial().tag.empty() ? "*" : reader_->partial().tag;
          reader_->refuse_literal();
          bad(tag, "Literal too large before login");
          continue;
        }
        reader_->accept_literal();
        literal_left_ = lit.size;
        if (lit.synchronizing) reply("+ OK");
        continue;
      }
      case imap::EventKind::kError:
        bad(ev.error.tag, ev.error.text);
        if (ev.error.fatal) bye("Cannot read your commands.");
        continue;
      case imap::EventKind::kCommand:
        if (++commands_ > settings_.max_commands) {
          log::info("Disconnected: too many commands before login (%s)", client().c_str());
          bye("Too many commands before login.");
          return;
        }
        dispatch(ev.command);
        continue;
      case imap::EventKind::kLine:
        continue;  // only from next_line()
    }
  }
}

void Session::dispatch(imap::Command& c) {
  if (c.uid) return bad(c.tag, "Command not available before login");
  const std::string& n = c.name;
  if (n == "CAPABILITY") return cmd_capability(c);
  if (n == "NOOP") return cmd_noop(c);
  if (n == "LOGOUT") return cmd_logout(c);
  if (n == "ID") return cmd_id(c);
  if (n == "STARTTLS") return cmd_starttls(c);
  if (n == "LOGIN") return cmd_login(c);
  if (n == "AUTHENTICATE") return cmd_authenticate(c);
  static const char* const kAfterLogin[] = {"SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE",
                                            "UNSUBSCRIBE", "LIST", "LSUB", "STATUS", "APPEND", "CHECK", "CLOSE",
                                            "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "IDLE",
                                            "NAMESPACE", "ENABLE", "UNSELECT", "GETQUOTAROOT", "GETQUOTA",
                                            "SETQUOTA"};
  for (const char* a : kAfterLogin)
    if (n == a) return bad(c.tag, "Command not available before login (log in first)");
  bad(c.tag, "Unknown command");
}

}  // namespace tern::imap_login
