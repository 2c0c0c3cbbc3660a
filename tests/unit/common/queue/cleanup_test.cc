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
// chunk: append() the message this many bytes at a time (0: all at once).
Queued run_cleanup(const std::string& message, bool submission, size_t chunk = 0) {
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
  if (chunk == 0) chunk = message.size() + 1;
  for (size_t i = 0; i < message.size(); i += chunk) REQUIRE(job.append(message.substr(i, chunk)).ok());
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

TEST_CASE("cleanup: a line that is not a header field ends the header block, after an added empty line",
          "[queue]") {
  // As Postfix does: what follows is the body, never glued onto the
  // header (a message with no header at all gets only the trace header).
  for (size_t chunk : {0, 1, 3}) {
    CAPTURE(chunk);
    CHECK(run_cleanup("This is not a header line\r\nsecond\r\n", false, chunk).message ==
          "\r\nThis is not a header line\r\nsecond\r\n");
    CHECK(run_cleanup("Subject: x\r\nnot a header\r\nTo: b\r\n\r\nbody\r\n", false, chunk).message ==
          "Subject: x\r\n\r\nnot a header\r\nTo: b\r\n\r\nbody\r\n");
    CHECK(run_cleanup(" indented first\r\nSubject: x\r\n", false, chunk).message ==
          "\r\n indented first\r\nSubject: x\r\n");
    CHECK(run_cleanup("From alice@example.org Tue Nov 24 01:00:00 2026\r\nSubject: x\r\n\r\nb\r\n", false, chunk)
              .message == "\r\nFrom alice@example.org Tue Nov 24 01:00:00 2026\r\nSubject: x\r\n\r\nb\r\n");
    // Header fields as RFC 5322 has them, with the obsolete space before
    // the colon and folded continuations, stay header.
    CHECK(run_cleanup("Subject : x\r\nX-A:\r\n\tfolded\r\n\r\nb\r\n", false, chunk).message ==
          "Subject : x\r\nX-A:\r\n\tfolded\r\n\r\nb\r\n");
    // A last line without its CRLF.
    CHECK(run_cleanup("no line end at all", false, chunk).message == "\r\nno line end at all");
    CHECK(run_cleanup("Subject: x\r\nno line end", false, chunk).message == "Subject: x\r\n\r\nno line end");
    CHECK(run_cleanup("Subject: x", false, chunk).message == "Subject: x\r\n");
  }
  // Submission: Message-ID: and Date: go into the (empty) header block.
  auto q = run_cleanup("just text\r\n", true);
  CHECK_THAT(q.message, Catch::StartsWith("Message-ID: " + q.message_id + "\r\nDate: "));
  CHECK_THAT(q.message, Catch::EndsWith("\r\n\r\njust text\r\n"));
}

TEST_CASE("cleanup: a large message without a header is a body, not a header over the limit", "[queue]") {
  std::string text;
  for (int i = 0; i < 4000; i++) text += "line " + std::to_string(i) + " of a report without any header\r\n";
  REQUIRE(text.size() > CleanupSettings().header_size_limit);
  CHECK(run_cleanup(text, false, 8192).message == "\r\n" + text);
}
