#include "smtp-client/session.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "common/base/clock.h"
#include "common/event/loop.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/qfile_writer.h"
#include "tests/unit/common/queue/qfile_test_util.h"

using namespace std::chrono_literals;
using namespace tern;
using namespace tern::smtp_client;

namespace {

Fd listen_unix(const std::string& path) {
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(s.valid());
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof sun.sun_path);
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  REQUIRE(::listen(s.get(), 4) == 0);
  return s;
}

std::shared_ptr<queue::QfileReader> queue_file(const std::string& root) {
  queue::test::make_queue_dirs(root);
  auto w = queue::QfileWriter::create(root, queue::test::kId, queue::test::minimal_envelope());
  REQUIRE(w);
  REQUIRE(w->append("Subject: x\r\n\r\nhello\r\n"));
  REQUIRE(w->finish());
  REQUIRE(w->commit());
  auto r = queue::QfileReader::open(w->incoming_path());
  REQUIRE(r);
  return std::make_shared<queue::QfileReader>(std::move(*r));
}

// Runs the loop until the peer has sent something (bounded).
std::string read_from(event::Loop& loop, int fd) {
  char buf[4096];
  for (int i = 0; i < 200; ++i) {
    loop.run_pending();
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) return std::string(buf, static_cast<size_t>(n));
    ::usleep(5000);
  }
  return "";
}

}  // namespace

TEST_CASE("session: a server that goes silent is timed out by the loop's clock, naming the stage") {
  tern::test::TempDir dir;
  auto file = queue_file(dir.path());
  Fd listener = listen_unix(dir.path() + "/lmtp.sock");

  TestClock clock;
  event::Loop loop(clock);
  Settings settings;
  settings.helo_name = "client.test";
  settings.helo_timeout = 300s;
  Nexthop hop;
  hop.kind = Nexthop::Kind::kUnix;
  hop.path = "lmtp.sock";
  std::optional<JobOutcome> out;
  {
    Session session(loop, nullptr, settings, ipc::DeliveryProtocol::kLmtp, hop, dir.path());
    Job job;
    job.queue_id = queue::test::kId;
    job.file = file;
    job.rcpts.push_back({0, file->envelope().recipients[0].address, "", 0});
    session.run(std::move(job), [&](JobOutcome o) { out = std::move(o); });

    Fd conn(::accept(listener.get(), nullptr, nullptr));
    REQUIRE(conn.valid());
    REQUIRE(::write(conn.get(), "220 fake LMTP\r\n", 15) == 15);
    CHECK(read_from(loop, conn.get()) == "LHLO client.test\r\n");
    loop.run_pending();
    CHECK_FALSE(out);

    clock.advance(299s);
    loop.run_pending();
    CHECK_FALSE(out);  // not yet
    clock.advance(2s);
    for (int i = 0; i < 5 && !out; ++i) loop.run_pending();
    REQUIRE(out);
    REQUIRE(out->results.size() == 1);
    const auto& r = out->results[0];
    CHECK(r.action == ipc::DeliveryAction::kDeferred);
    CHECK(r.dsn == "4.4.2");
    CHECK(r.relay == "lmtp.sock");
    CHECK(r.reason == "conversation with lmtp.sock[lmtp.sock] timed out while performing the LHLO handshake");
    CHECK(out->setup == Duration(301s));  // measured on the loop's clock
    CHECK_FALSE(session.usable());
    // The session hung up.
    char c;
    CHECK(::recv(conn.get(), &c, 1, 0) == 0);
  }
}

TEST_CASE("session: LMTP answers map back to their recipients, and the session stays usable") {
  tern::test::TempDir dir;
  auto file = queue_file(dir.path());
  Fd listener = listen_unix(dir.path() + "/lmtp.sock");
  TestClock clock;
  event::Loop loop(clock);
  Settings settings;
  settings.helo_name = "client.test";
  Nexthop hop;
  hop.kind = Nexthop::Kind::kUnix;
  hop.path = "lmtp.sock";
  std::optional<JobOutcome> out;
  {
    Session session(loop, nullptr, settings, ipc::DeliveryProtocol::kLmtp, hop, dir.path());
    Job job;
    job.file = file;
    job.rcpts.push_back({0, "a@x.test", "", 0});
    job.rcpts.push_back({5, "b@x.test", "", 0});
    job.rcpts.push_back({9, "c@x.test", "", 0});
    session.run(std::move(job), [&](JobOutcome o) { out = std::move(o); });
    Fd conn(::accept(listener.get(), nullptr, nullptr));
    REQUIRE(conn.valid());
    auto say = [&](const std::string& s) { REQUIRE(::write(conn.get(), s.data(), s.size()) == static_cast<ssize_t>(s.size())); };
    say("220 fake\r\n");
    CHECK(read_from(loop, conn.get()) == "LHLO client.test\r\n");
    say("250-fake\r\n250-PIPELINING\r\n250\r\n");  // a bare last line is no keyword (and no crash)
    std::string cmds;
    for (int i = 0; i < 10 && cmds.find("DATA\r\n") == std::string::npos; ++i) cmds += read_from(loop, conn.get());
    CHECK(cmds == "MAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n");
    say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 <b@x.test> unknown\r\n250 2.1.5 ok\r\n354 go\r\n");
    std::string body;
    for (int i = 0; i < 10 && body.find("\r\n.\r\n") == std::string::npos; ++i) body += read_from(loop, conn.get());
    CHECK(body == "Subject: x\r\n\r\nhello\r\n.\r\n");
    say("250 2.0.0 <a@x.test> Saved\r\n452-4.2.2 <c@x.test>\r\n452 4.2.2 over quota\r\n");
    for (int i = 0; i < 50 && !out; ++i) loop.run_pending();
    REQUIRE(out);
    REQUIRE(out->results.size() == 3);
    CHECK(out->results[0].index == 0);
    CHECK(out->results[0].action == ipc::DeliveryAction::kDelivered);
    CHECK(out->results[0].reason == "250 2.0.0 <a@x.test> Saved");
    CHECK(out->results[1].index == 5);
    CHECK(out->results[1].action == ipc::DeliveryAction::kBounced);
    CHECK(out->results[1].reason ==
          "host lmtp.sock[lmtp.sock] said: 550 5.1.1 <b@x.test> unknown (in reply to RCPT TO command)");
    CHECK(out->results[2].index == 9);
    CHECK(out->results[2].action == ipc::DeliveryAction::kDeferred);
    CHECK(out->results[2].dsn == "4.2.2");
    CHECK(out->results[2].reply == "452-4.2.2 <c@x.test> 452 4.2.2 over quota");
    CHECK(session.usable());
    CHECK(session.uses() == 1);
  }
}
