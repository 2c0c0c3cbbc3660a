#include "showq/session.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/event/loop.h"
#include "common/event/worker_pool.h"
#include "common/queue/showq_protocol.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace std::chrono_literals;
using namespace tern;
using namespace tern::queue;
using namespace tern::queue::test;
using tern::test::TempDir;

const char* const kIds[] = {"0J2XQ3V5K7A0AB1C0", "0J2XQ3V5K7B0AB1C0", "0J2XQ3V5K7C0AB1C0", "0J2XQ3V5K7D0AB1C0",
                            "0J2XQ3V5K7E0AB1C0", "0J2XQ3V5K7F0AB1C0", "0J2XQ3V5K7G0AB1C0", "0J2XQ3V5K7H0AB1C0"};

// Eight messages of 3,000 recipients each: about 1.5 MB of listing, many
// times the session's buffer bound.
void fill_queue(const std::string& root) {
  make_queue_dirs(root);
  Envelope env = minimal_envelope();
  env.recipients.clear();
  for (int i = 0; i < 3000; ++i) {
    Recipient r;
    r.address = "recipient-number-" + std::to_string(i) + "@a-long-domain-name.example.org";
    env.recipients.push_back(r);
  }
  for (const char* id : kIds) write_queue_file(root, env, "x\r\n", id);
}

struct Harness {
  explicit Harness(const std::string& root) : pool(loop, 2) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    client = Fd(sv[0]);
    REQUIRE(set_nonblocking(client.get()).ok());
    pool.start();
    session = std::make_shared<tern::showq::Session>(loop, pool, Fd(sv[1]), root, [this](tern::showq::Session*) { closed = true; });
    session->start();
  }
  ~Harness() { pool.stop(); }

  // Reads what is there; false at EOF.
  bool read_some() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
      if (n > 0) {
        in.append(buf, static_cast<size_t>(n));
        continue;
      }
      return n != 0;
    }
  }

  // Runs the loop and reads until EOF or the limit.
  void drain(std::chrono::milliseconds limit = 10s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      loop.run_for(5ms);
      if (!read_some()) return;
    }
  }

  event::Loop loop;
  event::WorkerPool pool;
  Fd client;
  std::shared_ptr<tern::showq::Session> session;
  std::string in;
  bool closed = false;
};

std::vector<ListingEntry> decode_all(const std::string& text, bool& ended) {
  tern::queue::showq::Decoder d;
  std::vector<ListingEntry> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    REQUIRE(nl != std::string::npos);
    auto ev = d.feed(std::string_view(text).substr(start, nl - start));
    REQUIRE(ev.ok());
    if (*ev == tern::queue::showq::Decoder::Event::kEntry) out.push_back(d.take_entry());
    if (*ev == tern::queue::showq::Decoder::Event::kEnd) ended = true;
    start = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("showq session: lists every message, and holds back while the client does not read", "[showq]") {
  TempDir dir;
  fill_queue(dir.path());
  Harness h(dir.path());
  REQUIRE(::send(h.client.get(), "LIST\n", 5, 0) == 5);
  // The client reads nothing for a while: the session stops at its bound.
  for (int i = 0; i < 40; ++i) h.loop.run_for(5ms);
  CHECK(h.session->sent() < 8);
  // A batch ends with the message that crosses kBatchBytes (~190 KB here).
  CHECK(h.session->buffered() <= tern::showq::Session::kLowWater + tern::showq::Session::kBatchBytes + 200000);
  // Then it reads: everything arrives, in order, and the session ends.
  REQUIRE(::shutdown(h.client.get(), SHUT_WR) == 0);  // half-closed after the request: still served
  h.drain();
  bool ended = false;
  auto entries = decode_all(h.in, ended);
  CHECK(ended);
  REQUIRE(entries.size() == 8);
  for (size_t i = 0; i < 8; ++i) {
    CHECK(entries[i].id == kIds[i]);
    CHECK(entries[i].where == Queue::kIncoming);
    CHECK(entries[i].recipients.size() == 3000);
  }
  CHECK(h.closed);
}

TEST_CASE("showq session: one message by ID, and a bad request gets ERROR", "[showq]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  write_queue_file(dir.path(), minimal_envelope(), "x\r\n", kId);
  {
    Harness h(dir.path());
    std::string req = tern::queue::showq::Request{kId}.format();
    REQUIRE(::send(h.client.get(), req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
    h.drain(2s);
    bool ended = false;
    auto entries = decode_all(h.in, ended);
    CHECK(ended);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].recipients[0].address == "root@localhost");
  }
  {
    Harness h(dir.path());
    REQUIRE(::send(h.client.get(), "SHOW\n", 5, 0) == 5);
    h.drain(2s);
    CHECK(h.in.rfind("VERSION\tshowq\t1\t1\nERROR\ttext=", 0) == 0);
  }
}
