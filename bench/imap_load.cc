// imap_load: an IMAP load generator for bench/imap (Tern next to Dovecot).
// One process, one epoll loop, N client state machines over plain TCP or TLS
// (OpenSSL); not installed, built with the tree so it cannot rot.
//
//   imap_load --port P [--host 127.0.0.1] [--tls] --users FILE
//             [--shape stay|churn] [--clients N] [--duration S] [--warmup S]
//             [--idle-ms MS] [--sources K]
//   imap_load --port P [--tls] --users FILE --hold N
//
// FILE holds "user password" per line; client i logs in as user i % users.
//
// The mix (one operation = one tagged command; every tagged reply must be
// OK, anything else is counted as an error and the run is not a
// measurement):
//   --shape stay: LOGIN once, then loop over
//     SELECT INBOX
//     FETCH a:a+19 (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])   a random range
//     FETCH k (BODY.PEEK[])                                             a random message
//     UID SEARCH FROM "alice" | SUBJECT "report" | UNSEEN               in turn
//     STORE k +FLAGS (\Flagged), then -FLAGS on the next round          (the folder stays as it was)
//     APPEND INBOX (\Seen) {1400}                                       a synchronizing literal
//     UID STORE u +FLAGS.SILENT (\Deleted)                              u from [APPENDUID] (RFC 4315)
//     UID EXPUNGE u                                                     what it appended, no more
//     IDLE, --idle-ms (default 50) later DONE                           (RFC 2177)
//   --shape churn: connect, LOGIN, SELECT INBOX, FETCH a:a+9 headers,
//     FETCH k (BODY.PEEK[]), LOGOUT, close, repeat. With --sources K (default
//     64 for churn) the connections come from 127.0.0.2..127.0.0.K+1 in turn,
//     so that TIME_WAIT never exhausts one address's ephemeral ports.
// Ops finished in the first --warmup seconds (default 2) are not counted;
// the rate is the ops finished in the following --duration seconds. In the
// stay shape the warmup starts only once every client has logged in (or 60 s
// after the start, with a warning), so that slow initial logins under load
// neither fall into the window nor show as "logins" there.
// Output, one "key=value ..." summary line then one line per command:
//   result shape=stay clients=50 seconds=20.00 ops=41234 ops_per_s=2061.7 logins=50 logins_per_s=2.5 errors=0 no=0 bad=0 ...
//   cmd name=SELECT count=4581 mean_ms=3.21 max_ms=40.1
//
// --hold N: opens N connections (at most 32 logging in at once), LOGINs each
// and leaves it idle (INBOX not selected); prints "ready" when all are in,
// then waits for stdin EOF, SIGTERM or SIGINT and closes them. A connection
// the server closes meanwhile is reported on stderr and in "held=" at exit.
//
// The server's TLS certificate is not verified: loopback, self-signed bench
// certificates; what is measured is the cost of the session, not of PKI.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace {

double now_s() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "imap_load: %s\n", msg.c_str());
  std::exit(2);
}

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// The descriptor owned by a connection; closed with it.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  bool tls = false;
  std::string users_file;
  std::string shape = "stay";
  int clients = 20;
  double duration = 20;
  double warmup = 2;
  int idle_ms = 50;
  int sources = -1;
  int hold = 0;
};

struct User {
  std::string name, password;
};

// Per command: count and total/max latency (ops counted in the window only).
struct CmdStat {
  uint64_t count = 0;
  double total = 0, max = 0;
};

constexpr size_t kMaxLine = 1 << 20;      // a response line (not its literals)
constexpr double kCommandTimeout = 60.0;  // a command without its tagged reply: error

enum class Step {
  kConnecting, kTlsHandshake, kGreeting, kLogin,
  kSelect, kFetchHeaders, kFetchBody, kSearch, kStore, kAppend, kAppendLiteral,
  kDelete, kExpunge, kIdle, kIdling, kDone, kLogout, kHeld, kClosed,
};

const char* step_name(Step s) {
  switch (s) {
    case Step::kLogin: return "LOGIN";
    case Step::kSelect: return "SELECT";
    case Step::kFetchHeaders: return "FETCH-headers";
    case Step::kFetchBody: return "FETCH-body";
    case Step::kSearch: return "UID-SEARCH";
    case Step::kStore: return "STORE";
    case Step::kAppend: case Step::kAppendLiteral: return "APPEND";
    case Step::kDelete: return "UID-STORE-deleted";
    case Step::kExpunge: return "UID-EXPUNGE";
    case Step::kIdle: case Step::kIdling: case Step::kDone: return "IDLE";
    case Step::kLogout: return "LOGOUT";
    default: return "other";
  }
}

class Load;

struct Conn {
  int index = 0;
  Fd fd;
  std::unique_ptr<SSL, SslFree> ssl;
  Step step = Step::kClosed;
  std::string in, out;
  size_t out_off = 0;
  uint64_t literal_left = 0;  // bytes of a literal still to skip in the response
  bool in_response = false;   // the line being read continues after a literal
  std::string first_line;     // the first line of the response being read
  uint64_t tag = 0;
  uint64_t gen = 0;  // bumped by each (re)connection: callers stop touching an old one
  double sent_at = 0, deadline = 0;
  uint64_t rng = 0;
  uint32_t exists = 0, round = 0, appended_uid = 0;
  bool want_write = false;
};

class Load {
 public:
  explicit Load(Options o) : o_(std::move(o)) {}
  int run();

 private:
  uint64_t rand(Conn& c) {
    c.rng ^= c.rng << 13;
    c.rng ^= c.rng >> 7;
    c.rng ^= c.rng << 17;
    return c.rng;
  }
  void start(Conn& c);
  void fail(Conn& c, const std::string& why);
  void close_conn(Conn& c);
  void io(Conn& c);
  bool flush(Conn& c);
  bool fill(Conn& c);
  void parse(Conn& c);
  void on_line(Conn& c, std::string_view line);
  void on_tagged(Conn& c, std::string_view status, std::string_view line);
  void on_continuation(Conn& c);
  void count(Conn& c, double t);
  void send(Conn& c, Step step, const std::string& cmd);
  void next(Conn& c);
  void watch(Conn& c, bool add);
  bool counting(double t) const { return t >= t_begin_ && t < t_end_; }
  void report();

  Options o_;
  std::vector<User> users_;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::vector<std::unique_ptr<Conn>> conns_;
  Fd ep_, sig_;
  double t_begin_ = 0, t_end_ = 0;
  std::map<std::string, CmdStat> stats_;
  uint64_t ops_ = 0, logins_ = 0, no_ = 0, bad_ = 0, closed_ = 0, timeouts_ = 0, other_errors_ = 0;
  uint64_t bytes_in_ = 0;
  int logged_in_ = 0, logging_in_ = 0, started_ = 0, connecting_ = 0;
  int stay_logged_in_ = 0;  // stay shape: sessions past LOGIN
  bool stopping_ = false;
  // Timers: (when, connection index, round) for IDLE's DONE.
  using Timer = std::pair<double, int>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::string append_msg_;
};

void Load::watch(Conn& c, bool add) {
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
  ev.data.u32 = static_cast<uint32_t>(c.index);
  if (add && ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev) != 0) die(std::string("epoll_ctl: ") + std::strerror(errno));
}

void Load::start(Conn& c) {
  c.in.clear();
  c.out.clear();
  c.out_off = 0;
  c.literal_left = 0;
  c.in_response = false;
  c.exists = 0;
  c.ssl.reset();
  ++c.gen;
  ++connecting_;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
  c.fd.reset(fd);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (o_.sources > 0) {
    // 127.0.0.2 .. 127.0.0.(sources+1), in turn.
    struct sockaddr_in src = {};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002u + static_cast<uint32_t>(started_ % o_.sources));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) die(std::string("bind: ") + std::strerror(errno));
  }
  ++started_;
  struct sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o_.port));
  if (::inet_pton(AF_INET, o_.host.c_str(), &sa.sin_addr) != 1) die("bad --host " + o_.host);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    ++other_errors_;
    std::fprintf(stderr, "imap_load: connect: %s\n", std::strerror(errno));
  }
  c.step = Step::kConnecting;
  c.deadline = now_s() + kCommandTimeout;
  watch(c, true);
}

void Load::close_conn(Conn& c) {
  c.ssl.reset();
  c.fd.reset();
  c.step = Step::kClosed;
}

void Load::fail(Conn& c, const std::string& why) {
  if (!stopping_) std::fprintf(stderr, "imap_load: client %d: %s\n", c.index, why.c_str());
  if (c.step == Step::kLogin) --logging_in_;
  if (c.step == Step::kHeld) --logged_in_;
  if (c.step == Step::kConnecting || c.step == Step::kTlsHandshake || c.step == Step::kGreeting ||
      c.step == Step::kLogin)
    --connecting_;
  close_conn(c);
  if (!stopping_ && o_.hold == 0) start(c);  // keep the load up; the error is counted
}

void Load::send(Conn& c, Step step, const std::string& cmd) {
  c.step = step;
  ++c.tag;
  c.out += "a" + std::to_string(c.tag) + " " + cmd + "\r\n";
  c.sent_at = now_s();
  c.deadline = c.sent_at + kCommandTimeout;
}

// What the connection sends after a tagged OK (or the greeting).
void Load::next(Conn& c) {
  const bool churn = o_.shape == "churn";
  uint32_t n = std::max<uint32_t>(c.exists, 1);
  switch (c.step) {
    case Step::kGreeting: {
      const User& u = users_[static_cast<size_t>(c.index) % users_.size()];
      ++logging_in_;
      send(c, Step::kLogin, "LOGIN \"" + u.name + "\" \"" + u.password + "\"");
      return;
    }
    case Step::kLogin:
      --logging_in_;
      --connecting_;
      if (o_.hold) {
        c.step = Step::kHeld;
        ++logged_in_;
        return;
      }
      if (!churn) ++stay_logged_in_;
      send(c, Step::kSelect, "SELECT INBOX");
      return;
    case Step::kSelect: {
      uint32_t span = churn ? 10 : 20;
      uint32_t a = n > span ? 1 + static_cast<uint32_t>(rand(c) % (n - span + 1)) : 1;
      uint32_t b = std::min(n, a + span - 1);
      send(c, Step::kFetchHeaders, "FETCH " + std::to_string(a) + ":" + std::to_string(b) +
                                       " (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])");
      return;
    }
    case Step::kFetchHeaders:
      send(c, Step::kFetchBody, "FETCH " + std::to_string(1 + rand(c) % n) + " (BODY.PEEK[])");
      return;
    case Step::kFetchBody:
      if (churn) {
        send(c, Step::kLogout, "LOGOUT");
        return;
      }
      switch (c.round % 3) {
        case 0: send(c, Step::kSearch, "UID SEARCH FROM \"alice\""); break;
        case 1: send(c, Step::kSearch, "UID SEARCH SUBJECT \"report\""); break;
        default: send(c, Step::kSearch, "UID SEARCH UNSEEN"); break;
      }
      return;
    case Step::kSearch:
      send(c, Step::kStore, "STORE " + std::to_string(1 + rand(c) % n) +
                                (c.round % 2 ? " -FLAGS (\\Flagged)" : " +FLAGS (\\Flagged)"));
      return;
    case Step::kStore:
      send(c, Step::kAppend, "APPEND INBOX (\\Seen) {" + std::to_string(append_msg_.size()) + "}");
      return;
    case Step::kAppend:
      send(c, Step::kDelete, "UID STORE " + std::to_string(c.appended_uid) + " +FLAGS.SILENT (\\Deleted)");
      return;
    case Step::kDelete:
      send(c, Step::kExpunge, "UID EXPUNGE " + std::to_string(c.appended_uid));
      return;
    case Step::kExpunge:
      send(c, Step::kIdle, "IDLE");
      return;
    case Step::kDone:
      ++c.round;
      send(c, Step::kSelect, "SELECT INBOX");
      return;
    default:
      fail(c, std::string("no next step after ") + step_name(c.step));
  }
}

void Load::on_continuation(Conn& c) {
  if (c.step == Step::kAppend) {
    c.out += append_msg_;
    c.out += "\r\n";
  } else if (c.step == Step::kIdle) {
    c.step = Step::kIdling;
    timers_.push({now_s() + o_.idle_ms / 1e3, c.index});
  } else {
    fail(c, std::string("unexpected continuation during ") + step_name(c.step));
  }
}

void Load::count(Conn& c, double t) {
  if (!counting(t)) return;
  ++ops_;
  CmdStat& s = stats_[step_name(c.step)];
  ++s.count;
  s.total += t - c.sent_at;
  s.max = std::max(s.max, t - c.sent_at);
  if (c.step == Step::kLogin) ++logins_;
}

void Load::on_tagged(Conn& c, std::string_view status, std::string_view line) {
  double t = now_s();
  const char* name = step_name(c.step);
  if (status != "OK") {
    (status == "NO" ? no_ : status == "BAD" ? bad_ : other_errors_)++;
    std::fprintf(stderr, "imap_load: client %d: %s: %.*s\n", c.index, name, static_cast<int>(line.size()), line.data());
    if (c.step == Step::kLogin || c.step == Step::kLogout || c.step == Step::kAppend) {
      fail(c, "giving up on this session");
      return;
    }
    // Go on with the mix: the error is counted, the load stays up.
    if (c.step == Step::kIdle || c.step == Step::kIdling) c.step = Step::kDone;
    next(c);
    return;
  }
  count(c, t);
  if (c.step == Step::kAppend) {
    // "aN OK [APPENDUID <uidvalidity> <uid>] ..." (RFC 4315 3)
    size_t p = line.find("[APPENDUID ");
    if (p == std::string_view::npos) {
      ++other_errors_;
      fail(c, "APPEND without APPENDUID: " + std::string(line));
      return;
    }
    std::string rest(line.substr(p + 11));
    unsigned long validity = 0, uid = 0;
    if (std::sscanf(rest.c_str(), "%lu %lu", &validity, &uid) != 2 || uid == 0) {
      ++other_errors_;
      fail(c, "bad APPENDUID: " + std::string(line));
      return;
    }
    c.appended_uid = static_cast<uint32_t>(uid);
  }
  if (c.step == Step::kLogout) {
    close_conn(c);
    if (!stopping_) start(c);
    return;
  }
  if (c.step == Step::kIdling) c.step = Step::kDone;  // the server ended IDLE itself  // DONE raced the timer's end: fine
  next(c);
}

void Load::on_line(Conn& c, std::string_view line) {
  // line: a whole response (its literals skipped), first_line its start.
  std::string_view first = c.first_line;
  if (c.step == Step::kGreeting) {
    if (first.substr(0, 5) != "* OK ") {
      ++other_errors_;
      fail(c, "greeting: " + std::string(first));
      return;
    }
    next(c);
    return;
  }
  if (first.substr(0, 2) == "+ " || first == "+") {
    on_continuation(c);
    return;
  }
  if (first.substr(0, 2) == "* ") {
    // "* 1000 EXISTS", "* 17 EXPUNGE": the session's message count, so that
    // every sequence number sent is valid (another session of the same user
    // appends and expunges too; RFC 3501 7.4.1 keeps numbers stable until
    // the server says EXPUNGE).
    unsigned long n = 0;
    char word[16] = {};
    if (std::sscanf(c.first_line.c_str(), "* %lu %15s", &n, word) == 2) {
      if (std::strcmp(word, "EXISTS") == 0) c.exists = static_cast<uint32_t>(n);
      else if (std::strcmp(word, "EXPUNGE") == 0 && c.exists > 0) --c.exists;
    }
    if (first.substr(0, 6) == "* BYE " && c.step != Step::kLogout) {
      ++closed_;
      fail(c, "server said " + std::string(first));
    }
    return;
  }
  std::string tag = "a" + std::to_string(c.tag) + " ";
  if (first.substr(0, tag.size()) == tag) {
    std::string_view rest = first.substr(tag.size());
    size_t sp = rest.find(' ');
    on_tagged(c, rest.substr(0, sp), first);
    return;
  }
  (void)line;
  ++other_errors_;
  fail(c, "unexpected response: " + std::string(first.substr(0, 200)));
}

// Splits c.in into responses: a line ending in "{N}" is followed by N octets
// of literal and then the rest of the same response (RFC 3501 4.3).
void Load::parse(Conn& c) {
  size_t pos = 0;
  const uint64_t gen = c.gen;
  while (c.step != Step::kClosed && c.gen == gen) {
    if (c.literal_left > 0) {
      uint64_t take = std::min<uint64_t>(c.literal_left, c.in.size() - pos);
      pos += take;
      c.literal_left -= take;
      if (c.literal_left > 0) break;
      continue;
    }
    size_t eol = c.in.find("\r\n", pos);
    if (eol == std::string::npos) {
      if (c.in.size() - pos > kMaxLine) {
        ++other_errors_;
        fail(c, "response line too long");
        return;
      }
      break;
    }
    std::string_view line(c.in.data() + pos, eol - pos);
    if (!c.in_response) c.first_line.assign(line);
    pos = eol + 2;
    if (!line.empty() && line.back() == '}') {
      size_t open = line.rfind('{');
      if (open != std::string_view::npos) {
        c.literal_left = std::strtoull(std::string(line.substr(open + 1)).c_str(), nullptr, 10);
        c.in_response = true;
        continue;
      }
    }
    c.in_response = false;
    on_line(c, line);
  }
  if (c.step != Step::kClosed && c.gen == gen) c.in.erase(0, pos);
}

bool Load::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    const char* p = c.out.data() + c.out_off;
    size_t len = c.out.size() - c.out_off;
    ssize_t n;
    if (c.ssl) {
      // OpenSSL's error queue is per thread and SSL_get_error() reads it:
      // an error another connection left there would fail this one.
      ERR_clear_error();
      int r = SSL_write(c.ssl.get(), p, static_cast<int>(len));
      if (r <= 0) {
        int e = SSL_get_error(c.ssl.get(), r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return true;
        ++closed_;
        fail(c, "TLS write failed");
        return false;
      }
      n = r;
    } else {
      n = ::send(c.fd.get(), p, len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return true;
        ++closed_;
        fail(c, std::string("write: ") + std::strerror(errno));
        return false;
      }
    }
    c.out_off += static_cast<size_t>(n);
  }
  c.out.clear();
  c.out_off = 0;
  return true;
}

// Reads what is there; false when the connection went away.
bool Load::fill(Conn& c) {
  char buf[65536];
  for (;;) {
    ssize_t n;
    if (c.ssl) {
      ERR_clear_error();  // see flush()
      int r = SSL_read(c.ssl.get(), buf, sizeof buf);
      if (r <= 0) {
        int e = SSL_get_error(c.ssl.get(), r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
        n = e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      } else {
        n = r;
      }
    } else {
      n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    }
    if (n <= 0) {
      if (c.step == Step::kLogout) {  // BYE came, the tagged OK may not: the LOGOUT is done
        ERR_clear_error();
        count(c, now_s());
        close_conn(c);
        if (!stopping_) start(c);
        return false;
      }
      ++closed_;
      char err[256] = "";
      if (n < 0 && c.ssl) ERR_error_string_n(ERR_peek_error(), err, sizeof err);
      ERR_clear_error();
      fail(c, std::string(n == 0 ? "server closed the connection" : "read error ") + err + " in " + step_name(c.step));
      return false;
    }
    bytes_in_ += static_cast<uint64_t>(n);
    c.in.append(buf, static_cast<size_t>(n));
  }
}

void Load::io(Conn& c) {
  if (c.step == Step::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == EINPROGRESS || err == EALREADY) return;
    if (err != 0) {
      ++other_errors_;
      fail(c, std::string("connect: ") + std::strerror(err));
      return;
    }
    if (o_.tls) {
      c.ssl.reset(SSL_new(ctx_.get()));
      SSL_set_fd(c.ssl.get(), c.fd.get());
      SSL_set_connect_state(c.ssl.get());
      c.step = Step::kTlsHandshake;
    } else {
      c.step = Step::kGreeting;
    }
  }
  if (c.step == Step::kTlsHandshake) {
    ERR_clear_error();  // see flush()
    int r = SSL_do_handshake(c.ssl.get());
    if (r != 1) {
      int e = SSL_get_error(c.ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      ++other_errors_;
      char err[256];
      ERR_error_string_n(ERR_get_error(), err, sizeof err);
      ERR_clear_error();
      fail(c, std::string("TLS handshake: ") + err);
      return;
    }
    c.step = Step::kGreeting;
  }
  // Read and answer until there is nothing more to do: an answer can come
  // back before the loop sees the next edge.
  const uint64_t gen = c.gen;
  for (;;) {
    if (!flush(c) || c.gen != gen) return;
    const bool blocked = !c.out.empty();  // the next EPOLLOUT edge flushes the rest
    if (!fill(c) || c.gen != gen) return;
    const size_t before = c.out.size();
    parse(c);
    if (c.gen != gen || c.step == Step::kClosed) return;
    if (c.out.size() == before || blocked) return;
  }
}

int Load::run() {
  if (o_.port <= 0 || o_.users_file.empty()) die("--port and --users are required");
  if (o_.sources < 0) o_.sources = o_.shape == "churn" && !o_.hold ? 64 : 0;
  FILE* f = std::fopen(o_.users_file.c_str(), "r");
  if (!f) die(o_.users_file + ": " + std::strerror(errno));
  char line[1024];
  while (std::fgets(line, sizeof line, f)) {
    char u[512], p[512];
    if (std::sscanf(line, "%511s %511s", u, p) == 2) users_.push_back({u, p});
  }
  std::fclose(f);
  if (users_.empty()) die("no users in " + o_.users_file);

  int n = o_.hold ? o_.hold : o_.clients;
  struct rlimit rl;
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < static_cast<rlim_t>(n) + 64) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, static_cast<rlim_t>(n) + 1024);
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) die("cannot raise RLIMIT_NOFILE for " + std::to_string(n) + " connections");
  }
  if (o_.tls) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_mode(ctx_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  // The message APPEND adds (and UID EXPUNGE removes): about 1.4 KB.
  append_msg_ =
      "From: Load <load@example.test>\r\nTo: Bench <bench@example.test>\r\n"
      "Subject: appended by imap_load\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
      "Message-ID: <imap-load@example.test>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  while (append_msg_.size() < 1400) append_msg_ += "a line of the small message imap_load appends and expunges\r\n";

  ep_.reset(::epoll_create1(EPOLL_CLOEXEC));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sig_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  constexpr uint32_t kSignal = 0xfffffffe, kStdin = 0xfffffffd;
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u32 = kSignal;
  ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, sig_.get(), &ev);
  if (o_.hold) {
    ev.data.u32 = kStdin;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, 0, &ev);
  }

  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<Conn>();
    c->index = i;
    c->rng = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
    conns_.push_back(std::move(c));
  }
  double t0 = now_s();
  t_begin_ = t0 + o_.warmup;
  t_end_ = t_begin_ + o_.duration;
  if (o_.hold) t_begin_ = t0, t_end_ = 1e18;
  const bool stay = !o_.hold && o_.shape != "churn";
  bool window_set = !stay;
  if (stay) t_begin_ = t_end_ = 1e18;
  int next_start = 0;
  bool ready = false;
  std::vector<struct epoll_event> events(256);
  for (;;) {
    double t = now_s();
    // Hold: at most 32 connections logging in at once; the others wait.
    while (next_start < n && (!o_.hold || connecting_ < 32)) start(*conns_[next_start++]);
    if (o_.hold && !ready && logged_in_ == n) {
      std::printf("ready %d\n", n);
      std::fflush(stdout);
      ready = true;
    }
    if (!window_set && (stay_logged_in_ == n || t >= t0 + 60)) {
      if (stay_logged_in_ < n)
        std::fprintf(stderr, "imap_load: only %d of %d sessions logged in after 60 s; measuring anyway\n",
                     stay_logged_in_, n);
      t_begin_ = t + o_.warmup;
      t_end_ = t_begin_ + o_.duration;
      window_set = true;
    }
    if (!o_.hold && t >= t_end_) break;
    while (!timers_.empty() && timers_.top().first <= t) {
      Conn& c = *conns_[static_cast<size_t>(timers_.top().second)];
      timers_.pop();
      if (c.step == Step::kIdling) {
        c.out += "DONE\r\n";
        c.step = Step::kDone;  // the tagged OK of IDLE comes next
        io(c);
      }
    }
    // Timeouts (checked about every second is plenty).
    static double last_check = 0;
    if (t - last_check > 1) {
      last_check = t;
      for (auto& cp : conns_) {
        Conn& c = *cp;
        if (c.step != Step::kClosed && c.step != Step::kHeld && c.step != Step::kIdling && t > c.deadline) {
          ++timeouts_;
          fail(c, std::string("timeout in ") + step_name(c.step));
        }
      }
    }
    int wait_ms = 200;
    if (!timers_.empty()) wait_ms = std::max(0, std::min(wait_ms, static_cast<int>((timers_.top().first - t) * 1e3) + 1));
    if (!o_.hold) wait_ms = std::max(0, std::min(wait_ms, static_cast<int>((t_end_ - t) * 1e3) + 1));
    int k = ::epoll_wait(ep_.get(), events.data(), static_cast<int>(events.size()), wait_ms);
    if (k < 0 && errno != EINTR) die(std::string("epoll_wait: ") + std::strerror(errno));
    bool stop = false;
    for (int i = 0; i < k; ++i) {
      uint32_t id = events[static_cast<size_t>(i)].data.u32;
      if (id == kSignal) {
        stop = true;
      } else if (id == kStdin) {
        char b[256];
        ssize_t r = ::read(0, b, sizeof b);
        if (r <= 0) stop = true;
      } else if (id < conns_.size()) {
        Conn& c = *conns_[id];
        if (c.step != Step::kClosed) io(c);
      }
    }
    if (stop) break;
  }
  stopping_ = true;
  double elapsed = std::min(now_s(), t_end_) - t_begin_;
  if (o_.hold) {
    std::printf("held=%d of %d closed=%llu errors=%llu\n", logged_in_, n, static_cast<unsigned long long>(closed_),
                static_cast<unsigned long long>(no_ + bad_ + other_errors_ + timeouts_));
    return 0;
  }
  (void)elapsed;
  report();
  return no_ + bad_ + closed_ + timeouts_ + other_errors_ == 0 ? 0 : 1;
}

void Load::report() {
  uint64_t errors = no_ + bad_ + closed_ + timeouts_ + other_errors_;
  std::printf("result shape=%s tls=%s clients=%d seconds=%.2f ops=%llu ops_per_s=%.1f logins=%llu logins_per_s=%.1f "
              "errors=%llu no=%llu bad=%llu closed=%llu timeouts=%llu other=%llu mb_in=%.1f\n",
              o_.shape.c_str(), o_.tls ? "yes" : "no", o_.clients, o_.duration, static_cast<unsigned long long>(ops_),
              ops_ / o_.duration, static_cast<unsigned long long>(logins_), logins_ / o_.duration,
              static_cast<unsigned long long>(errors), static_cast<unsigned long long>(no_),
              static_cast<unsigned long long>(bad_), static_cast<unsigned long long>(closed_),
              static_cast<unsigned long long>(timeouts_), static_cast<unsigned long long>(other_errors_),
              bytes_in_ / 1e6);
  for (const auto& [name, s] : stats_)
    std::printf("cmd name=%s count=%llu mean_ms=%.2f max_ms=%.1f\n", name.c_str(),
                static_cast<unsigned long long>(s.count), s.count ? s.total / s.count * 1e3 : 0.0, s.max * 1e3);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--host") o.host = value();
    else if (a == "--port") o.port = std::atoi(value().c_str());
    else if (a == "--tls") o.tls = true;
    else if (a == "--users") o.users_file = value();
    else if (a == "--shape") o.shape = value();
    else if (a == "--clients") o.clients = std::atoi(value().c_str());
    else if (a == "--duration") o.duration = std::atof(value().c_str());
    else if (a == "--warmup") o.warmup = std::atof(value().c_str());
    else if (a == "--idle-ms") o.idle_ms = std::atoi(value().c_str());
    else if (a == "--sources") o.sources = std::atoi(value().c_str());
    else if (a == "--hold") o.hold = std::atoi(value().c_str());
    else die("unknown option " + a + " (see the header of bench/imap_load.cc)");
  }
  if (o.shape != "stay" && o.shape != "churn") die("--shape is stay or churn");
  if (o.clients < 1 || o.duration <= 0 || o.hold < 0 || o.sources > 250) die("bad --clients, --duration, --hold or --sources");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Load load(parse_args(argc, argv));
  return load.run();
}
