#include "qmgr/scheduler.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <memory>

#include "common/ipc/delivery_protocol.h"
#include "common/ipc/escape.h"
#include "common/ipc/line_io.h"
#include "common/queue/qfile_reader.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern;
using namespace tern::qmgr;
using namespace tern::queue;
using namespace tern::queue::test;
using tern::test::TempDir;

// A delivery agent on a unix socket, served on the test's own loop: it
// answers each recipient with what `decide` says ("die" closes the
// connection mid-request) and counts requests in progress at once.
class FakeAgent {
 public:
  using Decide = std::function<std::string(const std::string& address)>;
  FakeAgent(event::Loop& loop, const std::string& path, Decide decide) : loop_(loop), decide_(std::move(decide)) {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(s >= 0);
    listener_ = Fd(s);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(s, 64) == 0);
    watch_ = event::IoWatch(loop, s, event::IoWatch::kRead, [this](short) { accept_one(); });
  }
  ~FakeAgent() {
    watch_ = event::IoWatch();
    conns_.clear();
    timers_.clear();
  }

  int requests = 0;
  int in_progress = 0;
  int max_in_progress = 0;
  int connections = 0;

 private:
  struct Conn {
    std::unique_ptr<ipc::LineIo> io;
    ipc::DeliveryRequestReader reader;
  };

  void accept_one() {
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;
    int key = next_++;
    ++connections;
    auto conn = std::make_shared<Conn>();
    conn->io = std::make_unique<ipc::LineIo>(
        loop_, Fd(c), ipc::kDeliveryMaxLine, [this, key](std::string_view line) { on_line(key, line); },
        [](const std::string&) {});
    conns_[key] = conn;
    ipc::Version v{std::string(ipc::kDeliveryProto), ipc::kDeliveryMajor, ipc::kDeliveryMinor};
    conn->io->send(v.format());
  }

  void on_line(int key, std::string_view line) {
    auto conn = conns_.at(key);
    auto done = conn->reader.feed(line);
    REQUIRE(done.ok());
    if (!*done) return;
    auto req = conn->reader.take();
    ++requests;
    max_in_progress = std::max(max_in_progress, ++in_progress);
    // Answer a moment later, so requests overlap and concurrency shows.
    auto timer = std::make_shared<event::Timer>();
    *timer = event::Timer(loop_, [this, key, req]() {
      --in_progress;
      auto it = conns_.find(key);
      if (it == conns_.end()) return;
      std::string out;
      for (const auto& r : req.recipients) {
        std::string verdict = decide_(r.address);
        if (verdict == "die") {
          it->second->io->send(out);
          it->second->io->close("die");
          loop_.post([this, key] { conns_.erase(key); });
          return;
        }
        ipc::DeliveryResult res;
        res.index = r.index;
        res.action = verdict == "bounce" ? ipc::DeliveryAction::kBounced
                     : verdict == "defer" ? ipc::DeliveryAction::kDeferred
                                          : ipc::DeliveryAction::kDelivered;
        res.dsn = verdict == "bounce" ? "5.1.1" : verdict == "defer" ? "4.2.0" : "2.0.0";
        res.relay = "fake[127.0.0.1]:25";
        res.reason = verdict;
        out += res.format();
      }
      out += ipc::DeliveryDone{0.01, 0.02, ""}.format();
      it->second->io->send(out);
    });
    timer->start(std::chrono::milliseconds(20));
    timers_.push_back(timer);
  }

  event::Loop& loop_;
  Decide decide_;
  Fd listener_;
  event::IoWatch watch_;
  int next_ = 1;
  std::map<int, std::shared_ptr<Conn>> conns_;
  std::vector<std::shared_ptr<event::Timer>> timers_;
};

struct World {
  TempDir dir;
  event::Loop loop;
  event::WorkerPool pool{loop, 2};
  ActiveSet active;
  std::unique_ptr<Settings> settings = std::make_unique<Settings>();

  World() {
    make_queue_dirs(dir.path());
    settings->queue_dir = dir.path();
    settings->routing.default_transport = "fake";
    settings->default_limits.concurrency = 2;
    settings->default_limits.recipients = 2;
    settings->backoff.minimal = std::chrono::seconds(60);
    settings->cleanup.queue_dir = dir.path();
    pool.start();
  }
  ~World() { pool.stop(); }

  // A message with these recipients, in active/.
  std::string queue(const std::vector<std::string>& rcpts, const char* id = kId) {
    Envelope e = minimal_envelope();
    e.sender = "";  // no notices to queue in these tests
    e.arrival = loop.clock().wall_now();
    e.recipients.clear();
    for (const auto& a : rcpts) {
      Recipient r;
      r.address = a;
      r.notify = kNotifyNever;
      e.recipients.push_back(r);
    }
    write_queue_file(dir.path(), e, "Subject: x\r\n\r\nhi\r\n", id);
    REQUIRE(move(dir.path(), id, Queue::kIncoming, Queue::kActive).ok());
    struct stat sb;
    REQUIRE(::stat(path_of(dir.path(), Queue::kActive, id).c_str(), &sb) == 0);
    ActiveEntry entry;
    entry.file = {sb.st_dev, sb.st_ino};
    active.add(id, entry);
    return id;
  }

  // Runs the loop until cond() or the limit.
  bool run_until(const std::function<bool()>& cond, Duration limit = std::chrono::seconds(10)) {
    event::Timer poll(loop, [&] {
      if (cond()) loop.stop();
    });
    poll.start_every(std::chrono::milliseconds(5));
    loop.run_for(limit);
    return cond();
  }
};

}  // namespace

TEST_CASE("scheduler: batches of the recipient limit, at most the concurrency limit, then the message is removed",
          "[qmgr]") {
  World w;
  FakeAgent agent(w.loop, w.dir.path() + "/agent", [](const std::string&) { return "ok"; });
  {
    Scheduler s(w.loop, w.pool, *w.settings, w.active);
    s.socket_path = [&](const std::string& t) {
      CHECK(t == "fake");
      return w.dir.path() + "/agent";
    };
    std::vector<std::string> rcpts;
    for (int i = 0; i < 9; ++i) rcpts.push_back("u" + std::to_string(i) + "@example.org");
    std::string id = w.queue(rcpts);
    s.take(id, w.active.find(id)->file);
    REQUIRE(w.run_until([&] { return s.stats().removed == 1; }));
    CHECK(agent.requests == 5);  // 9 recipients, 2 per request
    CHECK(agent.max_in_progress == 2);
    CHECK(s.stats().max_connections <= 2);
    CHECK(s.stats().delivered == 9);
    CHECK_FALSE(w.active.contains(id));
    struct stat sb;
    CHECK(::stat(path_of(w.dir.path(), Queue::kActive, id).c_str(), &sb) != 0);
    s.stop();
  }
}

TEST_CASE("scheduler: a deferred or unanswered recipient sends the message to deferred/ with the others recorded",
          "[qmgr]") {
  World w;
  FakeAgent agent(w.loop, w.dir.path() + "/agent", [](const std::string& a) {
    if (a.rfind("later", 0) == 0) return std::string("defer");
    if (a.rfind("die", 0) == 0) return std::string("die");
    if (a.rfind("gone", 0) == 0) return std::string("bounce");
    return std::string("ok");
  });
  Scheduler s(w.loop, w.pool, *w.settings, w.active);
  s.socket_path = [&](const std::string&) { return w.dir.path() + "/agent"; };
  w.settings->default_limits.recipients = 1;
  std::string id = w.queue({"ok@example.org", "later@example.org", "gone@example.org", "die@example.net"});
  s.take(id, w.active.find(id)->file);
  REQUIRE(w.run_until([&] { return s.stats().deferred == 1; }));
  std::string path = path_of(w.dir.path(), Queue::kDeferred, id);
  auto r = QfileReader::open(path);
  REQUIRE(r.ok());
  const auto& rc = r->envelope().recipients;
  CHECK(rc[0].status == RcptStatus::kDelivered);
  CHECK(rc[1].status == RcptStatus::kPending);
  CHECK(rc[2].status == RcptStatus::kBounced);  // its notice: nobody (a message from <>, NOTIFY=NEVER)
  CHECK(rc[3].status == RcptStatus::kPending);  // the agent died: deferred
  // The next attempt is the file's mtime: minimal_backoff_time from now.
  struct stat sb;
  REQUIRE(::stat(path.c_str(), &sb) == 0);
  long long due = sb.st_mtim.tv_sec;
  long long now = std::chrono::duration_cast<std::chrono::seconds>(w.loop.clock().wall_now().time_since_epoch()).count();
  CHECK(due >= now + 58);
  CHECK(due <= now + 61);
  s.stop();
}

TEST_CASE("scheduler: an unreachable agent holds the message in active/ and is tried again after transport_retry_time",
          "[qmgr]") {
  World w;
  w.settings->transport_retry = std::chrono::milliseconds(100);
  Scheduler s(w.loop, w.pool, *w.settings, w.active);
  s.socket_path = [&](const std::string&) { return w.dir.path() + "/agent"; };
  std::string id = w.queue({"a@example.org"});
  s.take(id, w.active.find(id)->file);
  w.run_until([] { return false; }, std::chrono::milliseconds(300));
  CHECK(s.messages() == 1);
  CHECK(w.active.contains(id));
  FakeAgent agent(w.loop, w.dir.path() + "/agent", [](const std::string&) { return "ok"; });
  REQUIRE(w.run_until([&] { return s.stats().removed == 1; }));
  s.stop();
}
