#include "imapd/handoff.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/auth/dovecot_escape.h"
#include "common/auth/master_protocol.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/ipc/escape.h"
#include "common/ipc/imap_handoff.h"
#include "common/ipc/line_io.h"

namespace tern::imapd {
namespace {

// What the client reads when its login cannot be confirmed (RFC 5530).
constexpr std::string_view kBye = "* BYE [UNAVAILABLE] Login could not be confirmed, try again\r\n";

}  // namespace

class HandoffListener::Handoff {
 public:
  Handoff(HandoffListener& owner, uint64_t serial, Fd conn) : owner_(owner), serial_(serial), conn_(std::move(conn)) {
    timer_ = event::Timer(owner_.loop_, [this] { fail("no handoff within the timeout"); });
    timer_.start(owner_.timeout_);
    std::string greeting = ipc::Version{std::string(ipc::kHandoffProto), ipc::kHandoffMajor, ipc::kHandoffMinor}.format();
    // A fresh socket's buffer takes a few bytes at once.
    if (::send(conn_.get(), greeting.data(), greeting.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
        static_cast<ssize_t>(greeting.size())) {
      fail_later("cannot greet imap-login");
      return;
    }
    watch_ = event::IoWatch(owner_.loop_, conn_.get(), event::IoWatch::kRead, [this](short) { read_request(); });
  }

 private:
  void fail_later(std::string why) {
    timer_ = event::Timer(owner_.loop_, [this, why] { fail(why); });
    timer_.start(Duration::zero());
  }

  void read_request() {
    char buf[8192];
    auto n = ipc::recv_with_fd(conn_.get(), buf, sizeof buf, &client_);
    if (!n) {
      if (n.error().code == Errc::kSystem && (n.error().err == EAGAIN || n.error().err == EINTR)) return;
      return fail(n.error().text);
    }
    if (*n == 0) return fail("imap-login closed the handoff connection");
    in_.append(buf, *n);
    size_t nl = in_.find('\n');
    if (nl == std::string::npos) {
      if (in_.size() > ipc::kHandoffMaxLine) fail("handoff line too long");
      return;
    }
    if (nl + 1 != in_.size()) return fail("bytes after the handoff line");
    watch_.cancel();
    auto r = ipc::HandoffRequest::parse(std::string_view(in_).substr(0, nl));
    in_.clear();
    if (!r) return fail(r.error().text);
    request_ = std::move(*r);
    struct stat st {};
    if (!client_ || ::fstat(client_.get(), &st) != 0 || !S_ISSOCK(st.st_mode))
      return fail("no client socket came with the handoff");
    confirm();
  }

  // REQUEST on login/auth: the process that did the login says whose it was.
  void confirm() {
    auto fd = ipc::connect_unix(owner_.auth_socket_);
    if (!fd) return fail("authd: " + fd.error().text);
    auth_ = std::make_unique<ipc::LineIo>(
        owner_.loop_, std::move(*fd), auth::kMasterMaxLine, [this](std::string_view l) { auth_line(l); },
        [this](const std::string& why) {
          if (!answered_) fail("authd: " + why);
        });
    auth_->send(strf("VERSION\t1\t2\nCPID\t%u\nREQUEST\t1\t%u\t%u\t%s\n", static_cast<unsigned>(::getpid()),
                     request_.cpid, request_.auth_id, request_.cookie_hex.c_str()));
  }

  void auth_line(std::string_view line) {
    if (answered_) return;
    auto f = auth::split_tab_escaped(line, 256);
    if (!f || f->empty()) return fail("authd: malformed line");
    const std::string& cmd = (*f)[0];
    // The auth client handshake (VERSION, MECH, SPID, CUID, COOKIE, DONE)
    // comes first; only the answer to REQUEST 1 matters.
    if (cmd != "USER" && cmd != "FAIL" && cmd != "NOTFOUND") return;
    if (f->size() < 2 || (*f)[1] != "1") return fail("authd: answer to another request");
    answered_ = true;
    if (cmd != "USER" || f->size() < 3) {
      log::warning("handoff from imap-login: authd did not confirm the login of %s (rip=%s, auth id %u)",
                   request_.user.c_str(), request_.rip.c_str(), request_.auth_id);
      return fail("login not confirmed by authd");
    }
    UserInfo user;
    user.user = (*f)[2];
    for (size_t i = 3; i < f->size(); ++i) {
      const std::string& kv = (*f)[i];
      size_t eq = kv.find('=');
      std::string key = kv.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
      if (key == "home") user.home = value;
      else user.fields[key] = value;
    }
    if (user.user != request_.user) {
      log::warning("handoff from imap-login: it named %s, authd confirmed %s: refused", request_.user.c_str(),
                   user.user.c_str());
      return fail("user mismatch");
    }
    if (user.home.empty()) return fail("authd gave no home for " + user.user);
    succeed(std::move(user));
  }

  void succeed(UserInfo user) {
    timer_.cancel();
    (void)::send(conn_.get(), "OK\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT);
    ClientInfo info;
    info.rip = request_.rip;
    info.lip = request_.lip;
    info.secured = request_.secured;
    log::info("imap-login handed over %s: rip=%s, lip=%s%s", user.user.c_str(), info.rip.c_str(), info.lip.c_str(),
              info.secured ? ", secured" : "");
    Fd client = std::move(client_);
    auto serve = owner_.serve_;
    auto tag = std::move(request_.tag);
    auto pending = std::move(request_.pending);
    finish(true);  // *this is destroyed on the next turn; copies above
    serve(std::move(client), std::move(user), std::move(info), std::move(tag), std::move(pending));
  }

  void fail(const std::string& why) {
    if (finished_) return;
    log::info("handoff from imap-login refused: %s", why.c_str());
    if (client_) (void)::send(client_.get(), kBye.data(), kBye.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    client_.reset();
    ipc::Line reply;
    reply.command = "FAIL";
    reply.add("reason", why);
    std::string text = reply.format();
    if (conn_) (void)::send(conn_.get(), text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    finish(false);
  }

  void finish(bool served) {
    finished_ = true;
    timer_.cancel();
    watch_.cancel();
    conn_.reset();
    owner_.done(serial_, served);
  }

  HandoffListener& owner_;
  uint64_t serial_;
  Fd conn_;
  Fd client_;
  event::IoWatch watch_;
  event::Timer timer_;
  std::string in_;
  ipc::HandoffRequest request_;
  std::unique_ptr<ipc::LineIo> auth_;
  bool answered_ = false;
  bool finished_ = false;
};

HandoffListener::HandoffListener(event::Loop& loop, std::string auth_socket, Duration timeout, Serve serve,
                                 std::function<void()> finished)
    : loop_(loop),
      auth_socket_(std::move(auth_socket)),
      timeout_(timeout),
      serve_(std::move(serve)),
      finished_(std::move(finished)) {}

HandoffListener::~HandoffListener() { *alive_ = false; }

void HandoffListener::accept(Fd conn) {
  uint64_t serial = next_serial_++;
  handoffs_[serial] = std::make_unique<Handoff>(*this, serial, std::move(conn));
}

void HandoffListener::done(uint64_t serial, bool served) {
  // Destroyed on the next turn: we are inside one of its callbacks.
  loop_.post([this, serial, served, alive = alive_] {
    if (!*alive) return;
    handoffs_.erase(serial);
    if (!served && finished_) finished_();
  });
}

}  // namespace tern::imapd
