#include "lmtp-deliver/session.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/base/log.h"
#include "common/base/network.h"
#include "common/base/strings.h"

namespace tern::lmtp {
namespace {

// A client that pipelines without reading its replies stops being read
// once this much output waits for it.
constexpr size_t kMaxPendingOutput = 256 * 1024;

}  // namespace

// The spool for one message: an unlinked file (O_TMPFILE where the file
// system has it), so nothing is left behind by a crash.
Result<Fd> open_spool(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return Fd(fd);
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return sys_error("open O_TMPFILE in " + dir);
  std::string path = dir + "/lmtp-deliver.XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return sys_error("mkstemp in " + dir);
  ::unlink(path.c_str());
  return Fd(fd);
}

std::string new_session_id() {
  static std::atomic<uint32_t> counter{0};
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  uint32_t n = counter.fetch_add(1, std::memory_order_relaxed);
  uint64_t usec = static_cast<uint64_t>(ts.tv_nsec / 1000);
  uint32_t pid = static_cast<uint32_t>(::getpid());
  unsigned char b[12] = {
      static_cast<unsigned char>(ts.tv_sec >> 24), static_cast<unsigned char>(ts.tv_sec >> 16),
      static_cast<unsigned char>(ts.tv_sec >> 8),  static_cast<unsigned char>(ts.tv_sec),
      static_cast<unsigned char>(usec >> 16),      static_cast<unsigned char>(usec >> 8),
      static_cast<unsigned char>(usec),            static_cast<unsigned char>(pid >> 8),
      static_cast<unsigned char>(pid),             static_cast<unsigned char>(n >> 16),
      static_cast<unsigned char>(n >> 8),          static_cast<unsigned char>(n),
  };
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id;
  for (size_t i = 0; i < sizeof b; i += 3) {
    uint32_t v = (uint32_t(b[i]) << 16) | (uint32_t(b[i + 1]) << 8) | b[i + 2];
    for (int s = 18; s >= 0; s -= 6) id += kAlphabet[(v >> s) & 63];
  }
  return id;
}

Session::Session(server::Context& ctx, const Settings& settings, Fd fd, server::Peer peer,
                 std::function<void(Session*)> on_closed)
    : ctx_(ctx), settings_(settings), peer_(std::move(peer)), id_(new_session_id()), on_closed_(std::move(on_closed)) {
  // Over inet (another MTA's LMTP client), each recipient's reply after
  // DATA is written as its delivery finishes: without this, every reply
  // after the first waits for the client's delayed ACK (Nagle). A unix
  // socket ignores it.
  set_tcp_nodelay(fd.get());
  bev_.reset(bufferevent_socket_new(ctx_.loop().base(), fd.release(), BEV_OPT_CLOSE_ON_FREE));
  bufferevent_setcb(bev_.get(), &Session::on_read, &Session::on_write, &Session::on_event, this);
  timeout_ = event::Timer(ctx_.loop(), [this] {
    if (phase_ == Phase::kClosing) return finish("timeout sending the last reply");
    log::info("%s: timeout after %s from %s", id_.c_str(), phase_ == Phase::kData ? "DATA" : "command",
              peer_.address.c_str());
    reply(421, "4.4.2", settings_.myhostname + " Error: timeout exceeded");
    close_after_reply();
  });
}

Session::~Session() { *alive_ = false; }

void Session::start() {
  log::info("%s: connect from %s", id_.c_str(), peer_.address.c_str());
  reply(220, "", settings_.greeting);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  timeout_.start(settings_.timeout);
}

void Session::on_read(bufferevent*, void* self) noexcept { static_cast<Session*>(self)->process_input(); }

void Session::on_write(bufferevent* bev, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  if (s->phase_ == Phase::kClosing) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) s->finish(nullptr);
    return;
  }
  // Output drained below the limit: read the pipelined commands again.
  if (s->phase_ != Phase::kWaiting && (bufferevent_get_enabled(bev) & EV_READ) == 0) {
    bufferevent_enable(bev, EV_READ);
    s->process_input();
  }
}

void Session::on_event(bufferevent*, short what, void* self) noexcept {
  auto* s = static_cast<Session*>(self);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    s->finish(s->phase_ == Phase::kData ? "lost connection after DATA" : nullptr);
}

void Session::finish(const char* why) {
  if (phase_ == Phase::kWaiting) {
    // A lookup or the deliveries are under way: let them finish (the
    // copies are written either way), then close.
    closing_after_wait_ = true;
    return;
  }
  if (why) log::info("%s: %s from %s", id_.c_str(), why, peer_.address.c_str());
  log::info("%s: disconnect from %s commands=%d deliveries=%d", id_.c_str(), peer_.address.c_str(), commands_,
            deliveries_);
  timeout_.cancel();
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  auto done = std::move(on_closed_);
  done(this);  // destroys *this
}

void Session::close_after_reply() {
  phase_ = Phase::kClosing;
  bufferevent_disable(bev_.get(), EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) return finish(nullptr);
  timeout_.start(settings_.timeout);  // a client that never reads is still dropped
}

void Session::wait() {
  phase_ = Phase::kWaiting;
  timeout_.cancel();
  bufferevent_disable(bev_.get(), EV_READ);
}

void Session::resume() {
  phase_ = Phase::kCommands;
  if (closing_after_wait_) return finish("lost connection");
  bufferevent_enable(bev_.get(), EV_READ);
  process_input();
}

void Session::reply(int code, std::string_view enhanced, std::string_view text) {
  std::string line = std::to_string(code) + " ";
  if (!enhanced.empty()) line.append(enhanced).push_back(' ');
  line.append(text).append("\r\n");
  evbuffer_add(bufferevent_get_output(bev_.get()), line.data(), line.size());
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
        reply(500, "5.5.2", "Error: line too long");
        continue;
    }
  }
}

void Session::shutdown() {
  shutting_down_ = true;
  if (phase_ == Phase::kCommands) idle_then_close();
}

bool Session::idle_then_close() {
  if (!shutting_down_ || phase_ != Phase::kCommands || mail_) return false;
  reply(421, "4.3.2", settings_.myhostname + " Service shutting down, closing transmission channel");
  close_after_reply();
  return true;
}

void Session::process_input() {
  timeout_.start(settings_.timeout);
  std::string line;
  while (phase_ == Phase::kCommands || phase_ == Phase::kData) {
    if (idle_then_close()) return;
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) > kMaxPendingOutput) {
      bufferevent_disable(bev_.get(), EV_READ);  // on_write resumes
      return;
    }
    if (phase_ == Phase::kData) {
      data_input();
      if (phase_ == Phase::kData) return;  // wants more bytes
      continue;
    }
    if (!read_command_line(&line)) return;
    dispatch(line);
  }
}

void Session::dispatch(std::string_view line) {
  CommandError err;
  Command c = parse_command(line, &err);
  commands_++;
  switch (err) {
    case CommandError::kNul: return reply(500, "5.5.2", "Error: NUL character in command");
    case CommandError::kEmpty: return reply(500, "5.5.2", "Error: bad syntax");
    case CommandError::kMissingFrom: return reply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    case CommandError::kMissingTo: return reply(501, "5.5.4", "Syntax: RCPT TO:<address>");
    case CommandError::kNone: break;
  }
  switch (c.verb) {
    case Verb::kLhlo: return cmd_lhlo(c);
    case Verb::kMail: return cmd_mail(c);
    case Verb::kRcpt: return cmd_rcpt(c);
    case Verb::kData: return cmd_data(c);
    case Verb::kRset:
      reset_transaction();
      return reply(250, "2.0.0", "Ok");
    case Verb::kNoop: return reply(250, "2.0.0", "Ok");
    case Verb::kQuit:
      reply(221, "2.0.0", "Bye");
      return close_after_reply();
    // RFC 5321 3.5.3: 252 when the server will not verify but will try.
    case Verb::kVrfy: return reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
    case Verb::kHelp: return reply(214, "2.0.0", "LMTP (RFC 2033): LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY");
    case Verb::kUnknown:
      // HELO and EHLO too: RFC 2033 4.1 forbids them in LMTP.
      return reply(500, "5.5.1", "Error: command not recognized");
  }
}

}  // namespace tern::lmtp
