#include "common/queue/cleanup.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/base/clock.h"
#include "common/queue/qfile_reader.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::test::TempDir;

Envelope simple_envelope() {
  Envelope e;
  e.arrival = tern::WallTime(std::chrono::seconds(1'700'000'000));
  e.sender = "alice@example.org";
  Recipient r;
  r.address = "bob@example.test";
  e.recipients.push_back(r);
  return e;
}

struct Queued {
  std::string message_id;
  std::string message;
};

// Runs one message through the cleanup step into a fresh queue.
Queued run_cleanup(const std::string& message, bool submission) {
  TempDir dir;
  make_queue_dirs(dir.path());
  tern::TestClock clock;
  QueueIdGenerator ids(clock, 4242);
  CleanupSettings settings;
  settings.queue_dir = dir.path();
  settings.myhostname = "mail.example.test";
  settings.add_missing_headers = submission;
  auto c = Cleanup::begin(settings, simple_envelope(), std::string(), ids, clock);
  REQUIRE(c.ok());
  Cleanup& job = **c;
  REQUIRE(job.append(message).ok());
  REQUIRE(job.finish().ok());
  REQUIRE(job.commit().ok());
  auto reader = QfileReader::open(dir.path() + "/incoming/" + job.queue_id());
  REQUIRE(reader.ok());
  auto body = reader->read_message_all();
  REQUIRE(body.ok());
  return {job.message_id(), *body};
}

}  // namespace

TEST_CASE("cleanup: the Message-ID of the message is kept for the log, unfolded", "[queue]") {
  auto q = run_cleanup("Subject: x\r\nMessage-ID:\r\n <folded@example.org>\r\nTo: b\r\n\r\nbody\r\n", false);
  CHECK(q.message_id == "<folded@example.org>");
  CHECK(q.message == "Subject: x\r\nMessage-ID:\r\n <folded@example.org>\r\nTo: b\r\n\r\nbody\r\n");

  q = run_cleanup("Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n", false);
  CHECK(q.message_id == "<first@x>");
}

TEST_CASE("cleanup: submission adds Message-ID and Date when missing, and reports the added ID", "[queue]") {
  auto q = run_cleanup("Subject: x\r\n\r\nbody\r\n", true);
  REQUIRE_FALSE(q.message_id.empty());
  CHECK(q.message.find("Message-ID: " + q.message_id + "\r\n") != std::string::npos);
  CHECK(q.message.find("\r\nDate: ") != std::string::npos);

  q = run_cleanup("Subject: x\r\n\r\nbody\r\n", false);
  CHECK(q.message_id.empty());
  CHECK(q.message == "Subject: x\r\n\r\nbody\r\n");
}

TEST_CASE("cleanup: an enormous Message-ID is cut for the log, not in the message", "[queue]") {
  std::string id = "<" + std::string(5000, 'a') + "@x>";
  auto q = run_cleanup("Message-ID: " + id + "\r\n\r\n", false);
  CHECK(q.message_id.size() == Cleanup::kMessageIdLogLimit);
  CHECK(q.message.find(id) != std::string::npos);
}
