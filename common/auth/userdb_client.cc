#include "common/auth/userdb_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/auth/dovecot_escape.h"
#include "common/auth/master_protocol.h"
#include "common/base/fd.h"
#include "common/base/strings.h"

namespace tern::auth {

struct UserdbLookup::State {
  std::shared_ptr<std::function<void(UserdbReply)>> slot;  // UserdbClient's lookups only
  ~State() {
    if (slot) *slot = nullptr;
  }
  Fd fd;
  event::IoWatch watch;
  event::Timer timer;
  std::string out;
  std::string in;
  std::string user;
  bool saw_version = false;
  std::function<void(UserdbReply)> done;

  void finish(UserdbReply r) {
    watch.cancel();
    timer.cancel();
    fd.reset();
    auto cb = std::move(done);
    done = nullptr;
    if (cb) cb(std::move(r));  // may destroy *this
  }
  void fail(std::string reason) {
    UserdbReply r;
    r.reason = std::move(reason);
    finish(std::move(r));
  }
  void on_io(short events);
  bool handle_line(std::string_view line);
};

void UserdbLookup::State::on_io(short events) {
  if (events & event::IoWatch::kWrite) {
    if (!out.empty()) {
      ssize_t n = ::send(fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return fail(std::string("userdb: ") + std::strerror(errno));
      if (n > 0) out.erase(0, static_cast<size_t>(n));
    }
    if (out.empty()) watch.set_events(event::IoWatch::kRead);
  }
  if (events & event::IoWatch::kRead) {
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return fail("userdb: connection closed without an answer");
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > kMasterMaxLine * 4) return fail("userdb: reply too long");
    size_t eol;
    while (done && (eol = in.find('\n')) != std::string::npos) {
      std::string line = in.substr(0, eol);
      in.erase(0, eol + 1);
      if (!handle_line(line)) return;
    }
  }
}

namespace {

// A USER, NOTFOUND or FAIL reply (fields split), as a UserdbReply.
UserdbReply parse_reply(const std::vector<std::string>& f, std::string_view line) {
  UserdbReply r;
  if (f[0] == "USER" && f.size() >= 3) {
    r.status = UserdbStatus::kFound;
    r.user = f[2];
    for (size_t i = 3; i < f.size(); ++i) {
      auto eq = f[i].find('=');
      if (eq == std::string::npos) r.fields[f[i]] = "";
      else r.fields[f[i].substr(0, eq)] = f[i].substr(eq + 1);
    }
  } else if (f[0] == "NOTFOUND") {
    r.status = UserdbStatus::kNotFound;
  } else {
    r.status = UserdbStatus::kTempFail;
    r.reason = "userdb: " + std::string(line);
  }
  return r;
}

}  // namespace

// False once the lookup is finished (and *this may be gone).
bool UserdbLookup::State::handle_line(std::string_view line) {
  auto fields = split_tab_escaped(line, 256);
  if (!fields || fields->empty()) {
    fail("userdb: malformed reply");
    return false;
  }
  auto& f = *fields;
  if (f[0] == "VERSION") {
    if (f.size() < 2 || f[1] != std::to_string(kMasterMajor)) {
      fail("userdb: unsupported protocol version");
      return false;
    }
    saw_version = true;
    return true;
  }
  if (f[0] == "SPID") return true;
  if (!saw_version) {
    fail("userdb: no VERSION from the server");
    return false;
  }
  if (f.size() < 2 || f[1] != "1") {
    fail("userdb: reply for another request");
    return false;
  }
  finish(parse_reply(f, line));
  return false;
}

std::unique_ptr<UserdbLookup> UserdbLookup::start(event::Loop& loop, const std::string& socket_path, std::string user,
                                                  std::string service, Duration timeout,
                                                  std::function<void(UserdbReply)> done) {
  std::unique_ptr<UserdbLookup> lookup(new UserdbLookup);
  lookup->state_ = std::make_unique<State>();
  State* st = lookup->state_.get();
  st->done = std::move(done);
  st->user = user;
  st->out = "VERSION\t" + std::to_string(kMasterMajor) + "\t" + std::to_string(kMasterMinor) + "\nUSER\t1\t" +
            tab_escape(user) + "\tservice=" + tab_escape(service) + "\n";
  st->timer = event::Timer(loop, [st] { st->fail("userdb: no answer in time"); });
  st->timer.start(timeout);
  // Reporting a failure from inside start() would run `done` before the
  // caller holds the handle: defer it to the loop.
  auto defer_fail = [&loop, st](std::string why) {
    st->timer = event::Timer(loop, [st, why] { st->fail(why); });
    st->timer.start(Duration::zero());
  };
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    defer_fail(std::string("userdb: socket: ") + std::strerror(errno));
    return lookup;
  }
  st->fd = Fd(s);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sun.sun_path) {
    defer_fail("userdb: socket path too long");
    return lookup;
  }
  std::memcpy(sun.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0 && errno != EINPROGRESS && errno != EAGAIN) {
    defer_fail("userdb: connect " + socket_path + ": " + std::strerror(errno));
    return lookup;
  }
  st->watch = event::IoWatch(loop, s, event::IoWatch::kRead | event::IoWatch::kWrite, [st](short ev) { st->on_io(ev); });
  return lookup;
}

UserdbLookup::~UserdbLookup() = default;

UserdbClient::UserdbClient(event::Loop& loop, std::string socket_path, Duration timeout)
    : loop_(loop), path_(std::move(socket_path)), timeout_(timeout) {
  deadline_ = event::Timer(loop_, [this] { lose("userdb: no answer in time", false); });
  later_ = event::Timer(loop_, [this] { run_later(); });
}

UserdbClient::~UserdbClient() = default;

bool UserdbClient::connect_now(std::string* why) {
  if (io_) return true;
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    *why = std::string("userdb: socket: ") + std::strerror(errno);
    return false;
  }
  Fd fd(s);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path_.size() >= sizeof sun.sun_path) {
    *why = "userdb: socket path too long";
    return false;
  }
  std::memcpy(sun.sun_path, path_.c_str(), path_.size() + 1);
  // A unix stream connect completes or fails at once (EAGAIN: the
  // listener's backlog is full, a failure like any other).
  if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0) {
    *why = "userdb: connect " + path_ + ": " + std::strerror(errno);
    return false;
  }
  greeted_ = false;
  io_ = std::make_unique<ipc::LineIo>(
      loop_, std::move(fd), kMasterMaxLine, [this](std::string_view line) { on_line(line); },
      [this](const std::string& why) { lose("userdb: " + why, true); });
  io_->send("VERSION\t" + std::to_string(kMasterMajor) + "\t" + std::to_string(kMasterMinor) + "\n");
  return io_ != nullptr;
}

std::unique_ptr<UserdbLookup> UserdbClient::lookup(const std::string& user, const std::string& service,
                                                   std::function<void(UserdbReply)> done) {
  std::unique_ptr<UserdbLookup> handle(new UserdbLookup);
  handle->state_ = std::make_unique<UserdbLookup::State>();
  auto slot = std::make_shared<Slot>(std::move(done));
  handle->state_->slot = slot;
  Pending p;
  p.id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  p.line = "USER\t" + std::to_string(p.id) + "\t" + tab_escape(user) + "\tservice=" + tab_escape(service) + "\n";
  p.slot = std::move(slot);
  p.deadline = loop_.clock().now() + timeout_;
  send(std::move(p));
  return handle;
}

// Never runs a callback itself: failures go through later_.
void UserdbClient::send(Pending p) {
  std::string why;
  if (!connect_now(&why)) {
    fail(std::move(p.slot), why);
    return;
  }
  std::string line = p.line;
  pending_.push_back(std::move(p));
  io_->send(line);  // a failed write closes: lose() takes the request with it
  arm_deadline();
}

void UserdbClient::on_line(std::string_view line) {
  auto fields = split_tab_escaped(line, 256);
  if (!fields || fields->empty()) return lose("userdb: malformed reply", false);
  auto& f = *fields;
  if (f[0] == "VERSION") {
    if (greeted_ || f.size() < 2 || f[1] != std::to_string(kMasterMajor))
      return lose("userdb: unsupported protocol version", false);
    greeted_ = true;
    return;
  }
  if (f[0] == "SPID") return;
  if (!greeted_) return lose("userdb: no VERSION from the server", false);
  if (pending_.empty() || f.size() < 2 || f[1] != std::to_string(pending_.front().id))
    return lose("userdb: reply for another request", false);
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  arm_deadline();
  if (*p.slot) {
    auto cb = std::move(*p.slot);
    *p.slot = nullptr;
    cb(parse_reply(f, line));  // may look up more, or cancel other lookups: both are safe here
  }
}

// The connection is gone (resend: closed by authd) or given up (a timeout,
// a protocol surprise). Requests go out again once, or fail.
void UserdbClient::lose(const std::string& why, bool resend) {
  for (auto& p : pending_) {
    if (resend && !p.resent) {
      p.resent = true;
      resend_.push_back(std::move(p));
    } else {
      fail(std::move(p.slot), why);
    }
  }
  pending_.clear();
  deadline_.cancel();
  if (io_) {
    io_->close(why);  // no-op when it closed itself; on_close re-enters with pending_ empty
    if (io_) dead_.push_back(std::move(io_));
  }
  if (!resend_.empty() || !dead_.empty()) later_.start(Duration::zero());
}

void UserdbClient::fail(std::shared_ptr<Slot> slot, const std::string& why) {
  failed_.emplace_back(std::move(slot), why);
  if (!later_.pending()) later_.start(Duration::zero());
}

void UserdbClient::arm_deadline() {
  if (pending_.empty()) return deadline_.cancel();
  deadline_.start(pending_.front().deadline - loop_.clock().now());
}

void UserdbClient::run_later() {
  dead_.clear();
  std::vector<Pending> again;
  again.swap(resend_);
  for (auto& p : again) {
    if (*p.slot) send(std::move(p));  // cancelled meanwhile: dropped
  }
  std::vector<std::pair<std::shared_ptr<Slot>, std::string>> failed;
  failed.swap(failed_);
  for (auto& [slot, why] : failed) {
    if (!*slot) continue;
    auto cb = std::move(*slot);
    *slot = nullptr;
    UserdbReply r;
    r.reason = why;
    cb(std::move(r));  // may look up again (failures come back through later_)
  }
}

}  // namespace tern::auth
