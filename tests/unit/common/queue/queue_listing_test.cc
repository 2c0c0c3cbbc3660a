#include "common/queue/queue_listing.h"

#include <stdlib.h>
#include <time.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/queue/defer_log.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::Errc;
using tern::test::TempDir;

constexpr const char* kId3 = "0J2XQ3V5K7C0AB1C0";

// The listing's arrival column is local time: pin the zone.
struct Utc {
  Utc() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

ListingEntry entry(Queue q, const char* id, uint64_t size, std::string sender,
                   std::vector<ListingRecipient> rcpts) {
  ListingEntry e;
  e.where = q;
  e.id = id;
  e.arrival_us = 1718011400123456LL;  // Mon Jun 10 09:23:20 2024 UTC
  e.size = size;
  e.sender = std::move(sender);
  e.recipients = std::move(rcpts);
  return e;
}

}  // namespace

TEST_CASE("queue_listing: mailq text marks active with * and hold with !, lists only recipients not final", "[queue]") {
  Utc utc;
  ListingFormatter f(ListingFormatter::Style::kText);
  std::string out = f.entry(entry(Queue::kActive, kId, 1234, "alice@example.org",
                                  {{"bob@example.org", RcptStatus::kPending},
                                   {"done@example.org", RcptStatus::kDelivered},
                                   {"later@example.org", RcptStatus::kDelayed}}));
  out += f.entry(entry(Queue::kHold, kId2, 1000, "", {{"carol@example.org", RcptStatus::kPending}}));
  out += f.entry(entry(Queue::kDeferred, kId3, 10, "x@y", {{"d@e", RcptStatus::kPending}}));
  out += f.finish();
  CHECK(out ==
        "-Queue ID-          --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        "0J2XQ3V5K7A0AB1C0*     1234 Mon Jun 10 09:23:20  alice@example.org\n"
        "                                                bob@example.org\n"
        "                                                later@example.org\n"
        "\n"
        "0J2XQ3V5K7B0AB1C0!     1000 Mon Jun 10 09:23:20  MAILER-DAEMON\n"
        "                                                carol@example.org\n"
        "\n"
        "0J2XQ3V5K7C0AB1C0        10 Mon Jun 10 09:23:20  x@y\n"
        "                                                d@e\n"
        "\n"
        "-- 3 Kbytes in 3 Requests.\n");
  CHECK(f.count() == 3);
}

TEST_CASE("queue_listing: an empty queue, one request, and the JSON form", "[queue]") {
  ListingFormatter empty(ListingFormatter::Style::kText);
  CHECK(empty.finish() == "Mail queue is empty\n");
  ListingFormatter one(ListingFormatter::Style::kText);
  (void)one.entry(entry(Queue::kIncoming, kId, 1, "a@b", {}));
  CHECK(one.finish() == "-- 1 Kbytes in 1 Request.\n");

  ListingFormatter json(ListingFormatter::Style::kJson);
  std::string line = json.entry(entry(Queue::kHold, kId, 42, "a\"\\\x01@b",
                                      {{"x@y", RcptStatus::kPending}, {"z@w", RcptStatus::kBounced}}));
  CHECK(line ==
        "{\"queue_name\": \"hold\", \"queue_id\": \"0J2XQ3V5K7A0AB1C0\", \"arrival_time\": 1718011400, "
        "\"message_size\": 42, \"sender\": \"a\\\"\\\\\\u0001@b\", \"recipients\": [{\"address\": \"x@y\", "
        "\"status\": \"pending\"}, {\"address\": \"z@w\", \"status\": \"bounced\"}]}\n");
  CHECK(json.finish().empty());
}

TEST_CASE("queue_listing: reads active, incoming, deferred and hold in that order, skipping what is not mail", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string root = dir.path();
  write_queue_file(root, full_envelope(), "Subject: x\r\n\r\nhi\r\n", kId);
  write_queue_file(root, minimal_envelope(), "b\r\n", kId2);
  write_queue_file(root, minimal_envelope(), "c\r\n", kId3);
  REQUIRE(move(root, kId2, Queue::kIncoming, Queue::kActive).ok());
  REQUIRE(move(root, kId3, Queue::kIncoming, Queue::kHold).ok());
  dir.write("incoming/junk", "x");
  dir.write("corrupt/0J2XQ3V5K7D0AB1C0", "x");

  auto ids = listed_ids(root);
  REQUIRE(ids.ok());
  using P = std::pair<Queue, std::string>;
  CHECK(*ids == std::vector<P>{{Queue::kActive, kId2}, {Queue::kIncoming, kId}, {Queue::kHold, kId3}});
  auto only = listed_ids(root, kId3);
  REQUIRE(only.ok());
  CHECK(*only == std::vector<P>{{Queue::kHold, kId3}});

  auto e = read_listing_entry(root, Queue::kIncoming, kId);
  REQUIRE(e.ok());
  CHECK(e->sender == full_envelope().sender);
  CHECK(e->arrival_us == 1718000000123456LL);
  CHECK(e->size == 18);
  REQUIRE(e->recipients.size() == 3);
  CHECK(e->recipients[2] == ListingRecipient{"carol@example.org", RcptStatus::kDelayed, ""});
  auto gone = read_listing_entry(root, Queue::kDeferred, kId);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == Errc::kNotFound);
  dir.write("hold/0J2XQ3V5K7E0AB1C0", "TERNQ 1\nbroken");
  auto bad = read_listing_entry(root, Queue::kHold, "0J2XQ3V5K7E0AB1C0");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::kCorrupt);
}

TEST_CASE("queue_listing: a deferred recipient's reason comes first, right-aligned, once per run", "[queue]") {
  Utc utc;
  ListingFormatter f(ListingFormatter::Style::kText);
  const std::string refused = "connect to mx.example.net[192.0.2.7]:25: Connection refused";
  const std::string long_reason =
      "host mx.example.net[192.0.2.7] said: 451 4.7.1 <d@example.net>: Recipient address rejected: greylisted "
      "(in reply to RCPT TO command)";
  std::string out = f.entry(entry(Queue::kDeferred, kId3, 10, "x@y",
                                  {{"a@example.net", RcptStatus::kPending, refused},
                                   {"b@example.net", RcptStatus::kPending, refused},
                                   {"done@example.net", RcptStatus::kDelivered, "old"},
                                   {"c@example.net", RcptStatus::kDelayed, long_reason},
                                   {"d@example.net", RcptStatus::kPending, ""},
                                   {"e@example.net", RcptStatus::kPending, "evil\x1b[2J\xff\xc2\x9b" "end"}}));
  CHECK(out ==
        "-Queue ID-          --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        "0J2XQ3V5K7C0AB1C0        10 Mon Jun 10 09:23:20  x@y\n"
        "                 (connect to mx.example.net[192.0.2.7]:25: Connection refused)\n"
        "                                                a@example.net\n"
        "                                                b@example.net\n"
        "(" + long_reason + ")\n"
        "                                                c@example.net\n"
        "                                                d@example.net\n"
        + std::string(76 - 13, ' ') + "(evil [2J? end)\n"
        "                                                e@example.net\n"
        "\n");

  ListingFormatter json(ListingFormatter::Style::kJson);
  std::string line = json.entry(entry(Queue::kDeferred, kId, 1, "a@b", {{"x@y", RcptStatus::kPending, "why\n"}}));
  CHECK(line.find("{\"address\": \"x@y\", \"status\": \"pending\", \"delay_reason\": \"why\\n\"}") !=
        std::string::npos);
}

TEST_CASE("queue_listing: reasons come from the defer log of deferred messages only", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string root = dir.path();
  Envelope env = minimal_envelope();
  Recipient b;
  b.address = "bob@example.net";
  env.recipients.push_back(b);
  Recipient c;
  c.address = "carol@example.net";
  c.status = RcptStatus::kDelivered;
  env.recipients.push_back(c);
  write_queue_file(root, env, "x\r\n", kId);
  auto rec = [](size_t i, std::string addr, std::string reason, std::string reply = "") {
    DeferRecord r;
    r.index = i;
    r.address = std::move(addr);
    r.status = "4.4.1";
    r.reason = std::move(reason);
    r.reply = std::move(reply);
    return r;
  };
  REQUIRE(append_defer_records(root, kId, {rec(0, "root@localhost", "", "451 only a reply"),
                                           rec(1, "someone@else", "not this recipient's"),
                                           rec(2, "carol@example.net", "final: not shown")})
              .ok());
  auto incoming = read_listing_entry(root, Queue::kIncoming, kId);
  REQUIRE(incoming.ok());
  for (const auto& r : incoming->recipients) CHECK(r.reason.empty());

  REQUIRE(move(root, kId, Queue::kIncoming, Queue::kDeferred).ok());
  auto e = read_listing_entry(root, Queue::kDeferred, kId);
  REQUIRE(e.ok());
  REQUIRE(e->recipients.size() == 3);
  CHECK(e->recipients[0].reason == "451 only a reply");
  CHECK(e->recipients[1].reason.empty());
  CHECK(e->recipients[2].reason.empty());

  // A damaged log means no reasons, never a failed listing.
  dir.write(relative_path_of(Queue::kDefer, kId), std::string("\0\xff garbage", 10));
  auto damaged = read_listing_entry(root, Queue::kDeferred, kId);
  REQUIRE(damaged.ok());
  for (const auto& r : damaged->recipients) CHECK(r.reason.empty());
}
