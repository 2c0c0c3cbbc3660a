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
  finish(std::move(r));
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

}  // namespace tern::auth
