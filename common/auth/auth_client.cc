#include "common/auth/auth_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/auth/client_protocol.h"
#include "common/auth/dovecot_escape.h"
#include "common/base/fd.h"

namespace tern::auth {

Result<ServerLine> parse_server_line(std::string_view line) {
  if (line.size() > kClientMaxLine) return make_error(Errc::kLimit, "auth: line too long");
  auto split = split_tab_escaped(line, kMaxFields);
  if (!split || split->empty() || split->front().empty()) return invalid("auth: malformed line");
  auto& f = *split;
  const std::string& cmd = f[0];
  if (cmd == "VERSION") {
    if (f.size() < 3) return invalid("auth: VERSION without major and minor");
    auto major = parse_uint(f[1]);
    auto minor = parse_uint(f[2]);
    if (!major || !minor) return invalid("auth: bad VERSION");
    return ServerLine(ServerVersion{*major, *minor});
  }
  if (cmd == "MECH") {
    if (f.size() < 2 || f[1].empty()) return invalid("auth: MECH without a name");
    ServerMech m;
    m.name = f[1];
    m.flags.assign(f.begin() + 2, f.end());
    return ServerLine(std::move(m));
  }
  if (cmd == "DONE") return ServerLine(ServerDone{});
  if (cmd == "OK" || cmd == "CONT" || cmd == "FAIL") {
    if (f.size() < 2) return invalid("auth: " + cmd + " without an id");
    auto id = parse_uint(f[1]);
    if (!id) return invalid("auth: " + cmd + " with a bad id");
    if (cmd == "CONT") {
      if (f.size() > 3) return invalid("auth: CONT with extra fields");
      return ServerLine(ServerCont{*id, f.size() > 2 ? f[2] : std::string()});
    }
    std::string user, reason;
    bool temp = false;
    for (size_t i = 2; i < f.size(); ++i) {
      const std::string& p = f[i];
      if (p.rfind("user=", 0) == 0) user = p.substr(5);
      else if (p.rfind("reason=", 0) == 0) reason = p.substr(7);
      else if (p == "temp") temp = true;
    }
    if (cmd == "OK") {
      if (user.empty()) return invalid("auth: OK without user=");
      return ServerLine(ServerOk{*id, user});
    }
    return ServerLine(ServerFail{*id, reason, temp});
  }
  if (cmd == "COOKIE") {
    if (f.size() != 2 || f[1].empty() || f[1].size() > 128) return invalid("auth: broken COOKIE");
    return ServerLine(ServerCookie{f[1]});
  }
  // SPID, CUID, and whatever a later minor version adds.
  return ServerLine(ServerIgnored{});
}

std::string format_auth_line(unsigned id, const AuthRequest& r) {
  std::string line = "AUTH\t" + std::to_string(id) + "\t" + tab_escape(r.mech) + "\tservice=" + tab_escape(r.service);
  if (r.secured) line += "\tsecured";
  if (!r.local_ip.empty()) line += "\tlip=" + tab_escape(r.local_ip);
  if (!r.remote_ip.empty()) line += "\trip=" + tab_escape(r.remote_ip);
  if (r.initial) line += "\tresp=" + tab_escape(*r.initial);  // resp must be last
  return line;
}

struct AuthClient::State {
  event::Loop& loop;
  std::string socket_path;
  Duration timeout;
  Fd fd;
  event::IoWatch watch;
  event::Timer timer;     // the server's answer is overdue
  event::Timer deferred;  // reports a failure found inside begin()/respond()
  std::string out, in;
  bool saw_version = false;
  bool handshake_done = false;
  std::string cookie_hex;
  unsigned next_id = 0;
  unsigned id = 0;          // the request in flight
  bool active = false;
  bool sent = false;        // its AUTH line is queued
  AuthRequest request;
  Callbacks callbacks;
  std::string deferred_reason;

  State(event::Loop& l, std::string path, Duration t) : loop(l), socket_path(std::move(path)), timeout(t) {
    timer = event::Timer(loop, [this] { fail("auth: no answer from " + socket_path + " in time"); });
    deferred = event::Timer(loop, [this] { fail(deferred_reason); });
  }

  void disconnect() {
    watch.cancel();
    fd.reset();
    in.clear();
    out.clear();
    saw_version = handshake_done = false;
    cookie_hex.clear();
  }
  // Ends the connection and reports a temporary failure for the request in
  // flight. May destroy *this (through the callback).
  void fail(std::string reason) {
    disconnect();
    timer.cancel();
    deferred.cancel();
    if (!active) return;
    active = false;
    auto done = std::move(callbacks.done);
    callbacks = {};
    AuthResult r;
    r.reason = std::move(reason);
    if (done) done(std::move(r));
  }
  void fail_later(std::string reason) {
    deferred_reason = std::move(reason);
    deferred.start(Duration::zero());
  }
  void send(std::string line) {
    out += line;
    out += '\n';
    if (fd) watch.set_events(event::IoWatch::kRead | event::IoWatch::kWrite);
  }
  void connect();
  void send_request() {
    if (!handshake_done || !active || sent) return;
    sent = true;
    send(format_auth_line(id, request));
  }
  void on_io(short events);
  bool handle_line(std::string_view line);
};

void AuthClient::State::connect() {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return fail_later(std::string("auth: socket: ") + std::strerror(errno));
  fd = Fd(s);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sun.sun_path) return fail_later("auth: socket path too long");
  std::memcpy(sun.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0 && errno != EINPROGRESS && errno != EAGAIN)
    return fail_later("auth: connect " + socket_path + ": " + std::strerror(errno));
  out = "VERSION\t" + std::to_string(kClientMajor) + "\t" + std::to_string(kClientMinor) + "\nCPID\t" +
        std::to_string(::getpid()) + "\n";
  watch = event::IoWatch(loop, s, event::IoWatch::kRead | event::IoWatch::kWrite, [this](short ev) { on_io(ev); });
}

void AuthClient::State::on_io(short events) {
  if (events & event::IoWatch::kWrite) {
    if (!out.empty()) {
      ssize_t n = ::send(fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return fail(std::string("auth: send: ") + std::strerror(errno));
      if (n > 0) out.erase(0, static_cast<size_t>(n));
    }
    if (out.empty()) watch.set_events(event::IoWatch::kRead);
  }
  if (events & event::IoWatch::kRead) {
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return fail("auth: the server closed the connection");
    in.append(buf, static_cast<size_t>(n));
    size_t eol;
    while ((eol = in.find('\n')) != std::string::npos) {
      std::string line = in.substr(0, eol);
      in.erase(0, eol + 1);
      if (!handle_line(line)) return;  // *this may be gone
    }
    if (in.size() > kClientMaxLine) return fail("auth: line too long");
  }
}

// False when a callback ran (it may have destroyed *this) or the
// connection ended.
bool AuthClient::State::handle_line(std::string_view line) {
  auto parsed = parse_server_line(line);
  if (!parsed) {
    fail(parsed.error().text);
    return false;
  }
  ServerLine& l = *parsed;
  if (auto* v = std::get_if<ServerVersion>(&l)) {
    if (v->major != kClientMajor) {
      fail("auth: unsupported protocol version " + std::to_string(v->major));
      return false;
    }
    saw_version = true;
    return true;
  }
  if (!saw_version) {
    fail("auth: no VERSION from the server");
    return false;
  }
  if (auto* c = std::get_if<ServerCookie>(&l)) {
    cookie_hex = c->hex;
    return true;
  }
  if (std::holds_alternative<ServerMech>(l) || std::holds_alternative<ServerIgnored>(l)) return true;
  if (std::holds_alternative<ServerDone>(l)) {
    handshake_done = true;
    send_request();
    return true;
  }
  unsigned reply_id = 0;
  std::visit(
      [&](auto& x) {
        if constexpr (requires { x.id; }) reply_id = x.id;
      },
      l);
  // A late answer to a cancelled request.
  if (!active || reply_id != id) return true;
  timer.cancel();
  if (auto* c = std::get_if<ServerCont>(&l)) {
    auto cb = callbacks.challenge;
    if (cb) cb(c->data);
    return false;
  }
  active = false;
  AuthResult r;
  if (auto* ok = std::get_if<ServerOk>(&l)) {
    r.outcome = AuthOutcome::kOk;
    r.user = ok->user;
    r.request_id = id;
    r.cookie_hex = cookie_hex;
    r.client_pid = static_cast<unsigned>(::getpid());
  } else {
    auto& f = std::get<ServerFail>(l);
    r.outcome = f.temp ? AuthOutcome::kTempFail : AuthOutcome::kFail;
    r.reason = f.reason;
  }
  auto done = std::move(callbacks.done);
  callbacks = {};
  if (done) done(std::move(r));
  return false;
}

AuthClient::AuthClient(event::Loop& loop, std::string socket_path, Duration timeout)
    : state_(std::make_unique<State>(loop, std::move(socket_path), timeout)) {}

AuthClient::~AuthClient() = default;

bool AuthClient::busy() const { return state_->active; }

void AuthClient::begin(AuthRequest request, Callbacks callbacks) {
  State& s = *state_;
  s.active = true;
  s.sent = false;
  s.id = ++s.next_id;
  s.request = std::move(request);
  s.callbacks = std::move(callbacks);
  s.timer.start(s.timeout);
  if (!s.fd) {
    s.connect();
    return;
  }
  s.send_request();
}

void AuthClient::respond(std::string response_base64) {
  State& s = *state_;
  if (!s.active) return;
  if (!s.fd) return s.fail_later("auth: the connection is gone");
  s.timer.start(s.timeout);
  s.send("CONT\t" + std::to_string(s.id) + "\t" + tab_escape(response_base64));
}

void AuthClient::cancel() {
  State& s = *state_;
  if (!s.active) return;
  s.active = false;
  s.callbacks = {};
  s.timer.cancel();
  s.deferred.cancel();
  if (s.fd && s.sent) s.send("CANCEL\t" + std::to_string(s.id));
}

}  // namespace tern::auth
