#include "pickup/pickup.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/queue/maildrop.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/qfile_writer.h"
#include "common/queue/queue_dirs.h"
#include "common/table/table.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern;
using namespace tern::queue;
using tern::test::TempDir;

pickup::Settings settings_for(const std::string& queue_dir) {
  pickup::Settings s;
  s.queue_dir = queue_dir;
  s.myhostname = "mail.example.test";
  s.mail_name = "Tern";
  s.myorigin = "mail.example.test";
  s.cleanup.queue_dir = queue_dir;
  s.cleanup.myhostname = s.myhostname;
  s.cleanup.add_missing_headers = true;
  return s;
}

// A maildrop file as terndrop writes it; `edit` may add what it must not.
std::string drop_file(const std::string& queue_dir, QueueIdGenerator& ids, const std::string& message,
                      const std::function<void(Envelope&)>& edit = nullptr) {
  Submission sub;
  sub.sender = "alice";
  Recipient r;
  r.address = "bob@example.org";
  sub.recipients = {r};
  Envelope env = maildrop_envelope(sub, WallTime(std::chrono::seconds(1700000000)), ::getuid(), "alice");
  if (edit) edit(env);
  std::string id = ids.next();
  WriterOptions o;
  o.tmp_name = "maildrop/" + id + ".tmp";
  o.target = Queue::kMaildrop;
  o.mode = 0644;
  auto w = QfileWriter::create(queue_dir, id, env, o);
  REQUIRE(w.ok());
  REQUIRE(w->append(message).ok());
  REQUIRE(w->finish().ok());
  REQUIRE(w->commit().ok());
  return id;
}

size_t count(const std::string& queue_dir, Queue q) {
  auto ids = scan(queue_dir, q);
  REQUIRE(ids.ok());
  return ids->size();
}

}  // namespace

TEST_CASE("pickup: a maildrop file goes through the cleanup step into incoming/ and leaves maildrop/",
          "[pickup]") {
  TempDir dir;
  queue::test::make_queue_dirs(dir.path());
  QueueIdGenerator ids;
  auto s = settings_for(dir.path());
  std::string id = drop_file(dir.path(), ids, "Subject: hi\r\n\r\nhello\r\n");
  REQUIRE(pickup::pickup_file(s, id, ids, system_clock()) == pickup::Outcome::kQueued);
  CHECK(count(dir.path(), Queue::kMaildrop) == 0);
  auto queued = scan(dir.path(), Queue::kIncoming);
  REQUIRE(queued.ok());
  REQUIRE(queued->size() == 1);
  auto r = QfileReader::open(path_of(dir.path(), Queue::kIncoming, queued->front()));
  REQUIRE(r.ok());
  CHECK(r->envelope().sender == "alice@mail.example.test");
  CHECK(*r->envelope().attribute(attr::kUid) == std::to_string(::getuid()));
  CHECK(*r->envelope().attribute(attr::kLogin) == "alice");
  auto msg = r->read_message_all();
  REQUIRE(msg.ok());
  CHECK_THAT(*msg, Catch::StartsWith("Received: by mail.example.test (Tern, from userid " +
                                     std::to_string(::getuid()) + ")\r\n\tid " + queued->front() + "; "));
  CHECK_THAT(*msg, Catch::Contains("\r\nSubject: hi\r\nMessage-ID: <"));
  CHECK_THAT(*msg, Catch::Contains("\r\nDate: "));
  CHECK_THAT(*msg, Catch::EndsWith("\r\n\r\nhello\r\n"));
}

TEST_CASE("pickup: a file claiming another uid or a trusted attribute goes to corrupt/, never to the queue",
          "[pickup]") {
  TempDir dir;
  queue::test::make_queue_dirs(dir.path());
  QueueIdGenerator ids;
  auto s = settings_for(dir.path());
  std::function<void(Envelope&)> edits[] = {
      [](Envelope& e) { e.attributes[std::string(attr::kUid)] = std::to_string(::getuid() + 1); },
      [](Envelope& e) { e.attributes[std::string(attr::kSaslUsername)] = "admin"; },
      [](Envelope& e) { e.attributes[std::string(attr::kClientAddress)] = "192.0.2.1"; },
      [](Envelope& e) { e.recipients[0].original = "postmaster@example.org"; },
  };
  for (auto& edit : edits) {
    std::string id = drop_file(dir.path(), ids, "x\r\n", edit);
    CHECK(pickup::pickup_file(s, id, ids, system_clock()) == pickup::Outcome::kCorrupt);
  }
  CHECK(count(dir.path(), Queue::kCorrupt) == 4);
  CHECK(count(dir.path(), Queue::kMaildrop) == 0);
  CHECK(count(dir.path(), Queue::kIncoming) == 0);
}

TEST_CASE("pickup: a file that is not a queue file goes to corrupt/, and an unfinished one is not seen",
          "[pickup]") {
  TempDir dir;
  queue::test::make_queue_dirs(dir.path());
  QueueIdGenerator ids;
  auto s = settings_for(dir.path());
  std::string id = ids.next();
  dir.write("maildrop/" + id, "TERNQ 1\nARRIVAL 1.000000\n");
  dir.write("maildrop/" + ids.next() + ".tmp", "half written");
  auto counts = pickup::pickup_all(s, ids, system_clock());
  CHECK(counts.corrupt == 1);
  CHECK(counts.queued == 0);
  CHECK(count(dir.path(), Queue::kCorrupt) == 1);
}

// The only file in `q`, read whole (envelope and message).
struct Queued {
  Envelope env;
  std::string message;
};
Queued only_file(const std::string& queue_dir, Queue q) {
  auto ids = scan(queue_dir, q);
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 1);
  auto r = QfileReader::open(path_of(queue_dir, q, ids->front()));
  REQUIRE(r.ok());
  auto msg = r->read_message_all();
  REQUIRE(msg.ok());
  return {r->envelope(), *msg};
}

std::vector<std::string> addresses(const Envelope& env) {
  std::vector<std::string> out;
  for (const auto& r : env.recipients) out.push_back(r.address);
  return out;
}

TEST_CASE("pickup: a message over message_size_limit is bounced to its sender, not half queued", "[pickup]") {
  TempDir dir;
  queue::test::make_queue_dirs(dir.path());
  QueueIdGenerator ids;
  auto s = settings_for(dir.path());
  s.cleanup.message_size_limit = 1000;
  std::string id = drop_file(dir.path(), ids, "Subject: big\r\n\r\n" + std::string(2000, 'x') + "\r\n");
  CHECK(pickup::pickup_file(s, id, ids, system_clock()) == pickup::Outcome::kBounced);
  CHECK(count(dir.path(), Queue::kMaildrop) == 0);
  CHECK(count(dir.path(), Queue::kCorrupt) == 0);
  CHECK(count(dir.path(), Queue::kTmp) == 0);
  // The one file in incoming/ is the notice, from <> to the sender.
  auto notice = only_file(dir.path(), Queue::kIncoming);
  CHECK(notice.env.sender.empty());
  CHECK(addresses(notice.env) == std::vector<std::string>{"alice@mail.example.test"});
  CHECK_THAT(notice.message, Catch::Contains("Final-Recipient: rfc822; bob@example.org"));
  CHECK_THAT(notice.message, Catch::Contains("Status: 5.3.4"));
}

TEST_CASE("pickup: a recipient in an alias loop is bounced, the others get the message", "[pickup]") {
  TempDir dir;
  queue::test::make_queue_dirs(dir.path());
  QueueIdGenerator ids;
  auto s = settings_for(dir.path());
  auto virt = table::open("texthash:" + dir.write("virtual", "loop1@example.org loop2@example.org\n"
                                                             "loop2@example.org loop1@example.org\n"
                                                             "pipe@example.org |/usr/bin/true\n"));
  REQUIRE(virt.ok());
  s.aliases.virtual_alias_maps = {virt->get()};
  s.aliases.myorigin = s.myorigin;
  s.cleanup.aliases = &s.aliases;
  s.dsn.myhostname = s.myhostname;
  s.dsn.myorigin = s.myorigin;
  auto with = [](std::vector<std::string> to, unsigned notify) {
    return [to, notify](Envelope& e) {
      e.recipients.clear();
      for (const auto& a : to) {
        Recipient r;
        r.address = a;
        r.notify = notify;
        e.recipients.push_back(r);
      }
    };
  };

  SECTION("one good recipient queued, the loop and the pipe-only alias reported to the sender") {
    std::string id = drop_file(dir.path(), ids, "Subject: hi\r\n\r\nhello\r\n",
                               with({"loop1@example.org", "carol@example.org", "pipe@example.org"}, 0));
    CHECK(pickup::pickup_file(s, id, ids, system_clock()) == pickup::Outcome::kQueued);
    CHECK(count(dir.path(), Queue::kMaildrop) == 0);
    CHECK(count(dir.path(), Queue::kCorrupt) == 0);
    auto queued = scan(dir.path(), Queue::kIncoming);
    REQUIRE(queued.ok());
    REQUIRE(queued->size() == 2);
    bool saw_message = false, saw_notice = false;
    for (const auto& qid : *queued) {
      auto r = QfileReader::open(path_of(dir.path(), Queue::kIncoming, qid));
      REQUIRE(r.ok());
      auto msg = r->read_message_all();
      REQUIRE(msg.ok());
      if (r->envelope().sender.empty()) {
        saw_notice = true;
        CHECK(addresses(r->envelope()) == std::vector<std::string>{"alice@mail.example.test"});
        CHECK_THAT(*msg, Catch::Contains("Final-Recipient: rfc822; loop1@example.org"));
        CHECK_THAT(*msg, Catch::Contains("Status: 5.4.6"));
        CHECK_THAT(*msg, Catch::Contains("Final-Recipient: rfc822; pipe@example.org"));
        CHECK_THAT(*msg, Catch::Contains("Status: 5.3.5"));
        CHECK_THAT(*msg, !Catch::Contains("carol@example.org\r\nAction"));
      } else {
        saw_message = true;
        CHECK(r->envelope().sender == "alice@mail.example.test");
        CHECK(addresses(r->envelope()) == std::vector<std::string>{"carol@example.org"});
        CHECK_THAT(*msg, Catch::EndsWith("\r\n\r\nhello\r\n"));
      }
    }
    CHECK(saw_message);
    CHECK(saw_notice);
  }

  SECTION("every recipient undeliverable: only the notice is queued") {
    std::string id = drop_file(dir.path(), ids, "Subject: hi\r\n\r\nhello\r\n", with({"loop2@example.org"}, 0));
    CHECK(pickup::pickup_file(s, id, ids, system_clock()) == pickup::Outcome::kBounced);
    CHECK(count(dir.path(), Queue::kMaildrop) == 0);
    auto notice = only_file(dir.path(), Queue::kIncoming);
    CHECK(notice.env.sender.empty());
    CHECK_THAT(notice.message, Catch::Contains("Final-Recipient: rfc822; loop2@example.org"));
  }

  SECTION("NOTIFY=NEVER: bounced, and nobody is told") {
    std::string id =
        drop_file(dir.path(), ids, "Subject: hi\r\n\r\nhello\r\n", with({"loop2@example.org"}, kNotifyNever));
    CHECK(pickup::pickup_file(s, id, ids, system_clock()) == pickup::Outcome::kBounced);
    CHECK(count(dir.path(), Queue::kMaildrop) == 0);
    CHECK(count(dir.path(), Queue::kIncoming) == 0);
    CHECK(count(dir.path(), Queue::kCorrupt) == 0);
  }
}

TEST_CASE("pickup: a file terndrop left unfinished for more than a day moves to corrupt/", "[pickup]") {
  TempDir dir;
  queue::test::make_queue_dirs(dir.path());
  QueueIdGenerator ids;
  auto s = settings_for(dir.path());
  std::string id = ids.next();
  dir.write("maildrop/" + id + ".tmp", "half written");
  pickup::sweep_unfinished(s, system_clock());
  CHECK(count(dir.path(), Queue::kCorrupt) == 0);  // young: its terndrop may still be writing
  TestClock later(system_clock().wall_now() + std::chrono::hours(25));
  pickup::sweep_unfinished(s, later);
  auto corrupt = scan(dir.path(), Queue::kCorrupt);
  REQUIRE(corrupt.ok());
  CHECK(*corrupt == std::vector<std::string>{id});
}
