#include "common/queue/dsn.h"

#include <stdlib.h>
#include <time.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "common/base/clock.h"
#include "common/queue/defer_log.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::Errc;
using tern::TestClock;
using tern::WallTime;
using tern::test::TempDir;

// Dates are local time: pin the zone.
struct Utc {
  Utc() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

constexpr const char* kOrigId = "0J2XQ3V5K7A0AB1C0";
const std::string kOriginal =
    "Received: from client.example.org\r\n"
    "\tby mail.example.com (Tern) with ESMTP id 0J2XQ3V5K7A0AB1C0; Tue, 14 Nov 2023 20:00:00 +0000 (UTC)\r\n"
    "From: alice@example.org\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "Hi Bob.\r\n";

Envelope original_envelope() {
  Envelope e;
  e.arrival = WallTime(std::chrono::seconds(1699992000));  // Tue, 14 Nov 2023 20:00:00 UTC
  e.sender = "alice@example.org";
  Recipient r;
  r.address = "bob@example.net";
  e.recipients.push_back(r);
  return e;
}

DsnSettings settings() {
  DsnSettings s;
  s.myhostname = "mail.example.com";
  s.myorigin = "example.com";
  return s;
}

DsnRecipientReport failed_bob() {
  DsnRecipientReport r;
  r.final_recipient = "bob@example.net";
  r.orcpt = "rfc822;Bob@example.net";
  r.action = DsnAction::kFailed;
  r.status = "5.1.1";
  r.remote_mta = "mx.example.net";
  r.diagnostic = "550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in virtual mailbox table";
  r.last_attempt = WallTime(std::chrono::seconds(1699995600));  // 21:00:00
  return r;
}

std::string build(const DsnRequest& req, const DsnSettings& s = settings()) {
  TestClock clock;  // Tue, 14 Nov 2023 22:13:20 UTC
  auto b = build_dsn(req, s, clock, req.original.envelope->sender, "<20231114221320.0J2XQ3V5K7Z0AB1C0@mail.example.com>");
  REQUIRE(b.ok());
  return b->text;
}

// Every line ends in CRLF and fits in 998 octets; no bare CR or LF.
void check_lines(const std::string& m, bool allow_8bit = false) {
  size_t start = 0;
  while (start < m.size()) {
    size_t lf = m.find('\n', start);
    REQUIRE(lf != std::string::npos);
    REQUIRE(lf > start);
    CHECK(m[lf - 1] == '\r');
    std::string_view line(m.data() + start, lf - 1 - start);
    CHECK(line.size() <= 998);
    CHECK(line.find('\r') == std::string_view::npos);
    for (unsigned char c : line) {
      if (!allow_8bit) CHECK(c < 0x80);
      CHECK(c != 0);
    }
    start = lf + 1;
  }
}

}  // namespace

TEST_CASE("dsn: a failure report has the exact RFC 3464 structure", "[queue][dsn]") {
  Utc utc;
  Envelope env = original_envelope();
  env.envid = "QQ314159";
  DsnRequest req;
  req.kind = DsnKind::kFailure;
  req.original = MessageSource::of(env, kOrigId, kOriginal);
  req.recipients = {failed_bob()};
  const std::string m = build(req);
  const std::string b = "0J2XQ3V5K7A0AB1C0.1700000000.0/mail.example.com";
  CHECK(m ==
        "From: MAILER-DAEMON@mail.example.com (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "To: alice@example.org\r\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\r\n"
        "Message-ID: <20231114221320.0J2XQ3V5K7Z0AB1C0@mail.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        "\tboundary=\"" + b + "\"\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "This is a MIME-encapsulated message.\r\n"
        "\r\n"
        "--" + b + "\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system at host mail.example.com.\r\n"
        "\r\n"
        "I'm sorry to have to tell you that your message could not be delivered to one\r\n"
        "or more recipients. It is attached below.\r\n"
        "\r\n"
        "For further assistance, please send mail to postmaster. If you do so, please\r\n"
        "include this problem report. You can delete your own text from the attached\r\n"
        "returned message.\r\n"
        "\r\n"
        "                   The mail system\r\n"
        "\r\n"
        "<bob@example.net>: host mx.example.net said: 550 5.1.1 <bob@example.net>:\r\n"
        "    Recipient address rejected: User unknown in virtual mailbox table\r\n"
        "\r\n"
        "--" + b + "\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mail.example.com\r\n"
        "X-Tern-Queue-ID: 0J2XQ3V5K7A0AB1C0\r\n"
        "X-Tern-Sender: rfc822; alice@example.org\r\n"
        "Original-Envelope-Id: QQ314159\r\n"
        "Arrival-Date: Tue, 14 Nov 2023 20:00:00 +0000 (UTC)\r\n"
        "\r\n"
        "Original-Recipient: rfc822; Bob@example.net\r\n"
        "Final-Recipient: rfc822; bob@example.net\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Remote-MTA: dns; mx.example.net\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address\r\n"
        " rejected: User unknown in virtual mailbox table\r\n"
        "Last-Attempt-Date: Tue, 14 Nov 2023 21:00:00 +0000 (UTC)\r\n"
        "\r\n"
        "--" + b + "\r\n"
        "Content-Description: Undelivered Message\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n" +
        kOriginal +
        "\r\n"
        "--" + b + "--\r\n");
  check_lines(m);
}

TEST_CASE("dsn: a delay warning says delayed, names the retry limit and returns the message", "[queue][dsn]") {
  Utc utc;
  Envelope env = original_envelope();
  DsnRequest req;
  req.kind = DsnKind::kDelay;
  req.original = MessageSource::of(env, kOrigId, kOriginal);
  DsnRecipientReport r = failed_bob();
  r.orcpt.clear();
  r.action = DsnAction::kDelayed;
  r.status = "4.4.1";
  r.remote_mta.clear();
  r.diagnostic = "connect to mx.example.net[192.0.2.7]:25: Connection refused";
  req.recipients = {r};
  req.will_retry_until = WallTime(std::chrono::seconds(1700424000));  // Sun, 19 Nov 2023 20:00:00
  const std::string m = build(req);
  check_lines(m);
  CHECK(m.find("Subject: Delayed Mail (still being retried)\r\n") != std::string::npos);
  CHECK(m.find("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n") != std::string::npos);
  CHECK(m.find("until Sun, 19 Nov 2023 20:00:00 +0000 (UTC).") != std::string::npos);
  CHECK(m.find("\r\n<bob@example.net>: connect to mx.example.net[192.0.2.7]:25: Connection refused\r\n") !=
        std::string::npos);
  CHECK(m.find("Original-Recipient:") == std::string::npos);
  CHECK(m.find("Original-Envelope-Id:") == std::string::npos);
  CHECK(m.find("\r\n\r\nFinal-Recipient: rfc822; bob@example.net\r\n"
               "Action: delayed\r\n"
               "Status: 4.4.1\r\n"
               "Diagnostic-Code: x-tern; connect to mx.example.net[192.0.2.7]:25: Connection\r\n"
               " refused\r\n"
               "Last-Attempt-Date: Tue, 14 Nov 2023 21:00:00 +0000 (UTC)\r\n"
               "Will-Retry-Until: Sun, 19 Nov 2023 20:00:00 +0000 (UTC)\r\n\r\n--") != std::string::npos);
  CHECK(m.find("Content-Description: Delayed Message\r\nContent-Type: message/rfc822\r\n\r\n" + kOriginal) !=
        std::string::npos);
}

TEST_CASE("dsn: a success report returns the header only and says delivered or relayed", "[queue][dsn]") {
  Utc utc;
  Envelope env = original_envelope();
  DsnRequest req;
  req.kind = DsnKind::kSuccess;
  req.original = MessageSource::of(env, kOrigId, kOriginal);
  DsnRecipientReport a = failed_bob();
  a.action = DsnAction::kDelivered;
  a.status = "2.0.0";
  a.diagnostic = "250 2.0.0 Ok: queued as 4Xyz";
  DsnRecipientReport b;
  b.final_recipient = "carol@example.net";
  b.action = DsnAction::kRelayed;
  b.status = "2.0.0";
  req.recipients = {a, b};
  const std::string m = build(req);
  check_lines(m);
  CHECK(m.find("Subject: Successful Mail Delivery Report\r\n") != std::string::npos);
  CHECK(m.find("Action: delivered\r\nStatus: 2.0.0\r\n") != std::string::npos);
  CHECK(m.find("Final-Recipient: rfc822; carol@example.net\r\nAction: relayed\r\nStatus: 2.0.0\r\n\r\n--") !=
        std::string::npos);
  CHECK(m.find("<carol@example.net>: relayed to a system that does not send delivery reports\r\n") !=
        std::string::npos);
  const std::string headers = kOriginal.substr(0, kOriginal.find("\r\n\r\n") + 2);
  CHECK(m.find("Content-Description: Delivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n" +
               headers + "\r\n--") != std::string::npos);
  CHECK(m.find("Hi Bob.") == std::string::npos);
}

TEST_CASE("dsn: RET=HDRS, bounce_size_limit and unsendable lines return the header only", "[queue][dsn]") {
  Utc utc;
  const std::string headers = kOriginal.substr(0, kOriginal.find("\r\n\r\n") + 2);
  struct Case {
    const char* what;
    DsnRet ret;
    uint64_t limit;
    std::string body;
    bool whole;
  };
  const Case cases[] = {
      {"full", DsnRet::kUnspecified, 50000, "Hi Bob.\r\n", true},
      {"RET=FULL", DsnRet::kFull, 50000, "Hi Bob.\r\n", true},
      {"RET=HDRS", DsnRet::kHdrs, 50000, "Hi Bob.\r\n", false},
      {"over bounce_size_limit", DsnRet::kFull, 100, "Hi Bob.\r\n", false},
      {"a line over 998 octets", DsnRet::kFull, 50000, std::string(1200, 'x') + "\r\n", false},
      {"a bare LF", DsnRet::kFull, 50000, "a\nb\r\n", false},
      {"a NUL", DsnRet::kFull, 50000, std::string("a\0b\r\n", 5), false},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Envelope env = original_envelope();
    env.ret = c.ret;
    std::string msg = headers + "\r\n" + c.body;
    DsnRequest req;
    req.original = MessageSource::of(env, kOrigId, msg);
    req.recipients = {failed_bob()};
    DsnSettings s = settings();
    s.bounce_size_limit = c.limit;
    const std::string m = build(req, s);
    check_lines(m);
    if (c.whole) {
      CHECK(m.find("Content-Type: message/rfc822\r\n\r\n" + msg + "\r\n--") != std::string::npos);
      CHECK(m.find("It is attached below.") != std::string::npos);
    } else {
      CHECK(m.find("Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n" +
                   headers + "\r\n--") != std::string::npos);
      CHECK(m.find("Its header is attached below.") != std::string::npos);
    }
  }
}

TEST_CASE("dsn: hostile diagnostics and headers cannot break the report", "[queue][dsn]") {
  Utc utc;
  Envelope env = original_envelope();
  std::string msg = "Subject: ok\r\nX-Long: " + std::string(1500, 'y') + "\r\n\tcontinued\r\nFrom: a@b\r\n\r\nbody\r\n";
  DsnRequest req;
  env.ret = DsnRet::kHdrs;
  req.original = MessageSource::of(env, kOrigId, msg);
  DsnRecipientReport r = failed_bob();
  r.diagnostic = "550 evil\r\nContent-Type: text/html\r\n\r\n--boundary\x01\xff\xc3\xa9 " + std::string(5000, 'z');
  r.remote_mta = "mx\r\nX-Injected: 1";
  req.recipients = {r};
  const std::string m = build(req);
  check_lines(m);
  CHECK(m.find("\r\nContent-Type: text/html") == std::string::npos);
  CHECK(m.find("\r\nX-Injected") == std::string::npos);
  CHECK(m.find("Diagnostic-Code: smtp; 550 evil Content-Type: text/html --boundary ??\r\n zzz") != std::string::npos);
  // The over-long field is left out whole, its neighbours kept.
  CHECK(m.find("Content-Type: text/rfc822-headers\r\n\r\nSubject: ok\r\nFrom: a@b\r\n\r\n--") != std::string::npos);
  CHECK(m.find("continued") == std::string::npos);
}

TEST_CASE("dsn: 8-bit originals make an 8bit report, SMTPUTF8 ones a global report", "[queue][dsn]") {
  Utc utc;
  {
    Envelope env = original_envelope();
    env.body = BodyType::k8BitMime;
    std::string msg = "Subject: caf\xc3\xa9\r\n\r\nd\xc3\xa9j\xc3\xa0 vu\r\n";
    DsnRequest req;
    req.original = MessageSource::of(env, kOrigId, msg);
    req.recipients = {failed_bob()};
    TestClock clock;
    auto b = build_dsn(req, settings(), clock, "alice@example.org", "<x@y>");
    REQUIRE(b.ok());
    CHECK(b->eight_bit);
    check_lines(b->text, true);
    CHECK(b->text.find("Content-Transfer-Encoding: 8bit\r\n\r\nThis is a MIME") != std::string::npos);
    CHECK(b->text.find("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + msg) !=
          std::string::npos);
    // The report itself stays 7bit.
    CHECK(b->text.find("charset=us-ascii") != std::string::npos);
  }
  {
    Envelope env = original_envelope();
    env.smtputf8 = true;
    env.sender = "j\xc3\xb6rg@example.org";
    std::string msg = "Subject: hi\r\n\r\nbody\r\n";
    DsnRequest req;
    req.original = MessageSource::of(env, kOrigId, msg);
    DsnRecipientReport r = failed_bob();
    r.final_recipient = "b\xc3\xb6" "b@example.net";
    r.orcpt = "utf-8;b\xc3\xb6" "b@example.net";
    req.recipients = {r};
    TestClock clock;
    auto b = build_dsn(req, settings(), clock, env.sender, "<x@y>");
    REQUIRE(b.ok());
    CHECK(b->eight_bit);
    check_lines(b->text, true);
    const std::string& m = b->text;
    CHECK(m.find("report-type=global-delivery-status;") != std::string::npos);
    CHECK(m.find("Content-Type: message/global-delivery-status\r\n") != std::string::npos);
    CHECK(m.find("Final-Recipient: utf-8; b\xc3\xb6\x62@example.net\r\n") != std::string::npos);
    CHECK(m.find("Original-Recipient: utf-8; b\xc3\xb6\x62@example.net\r\n") != std::string::npos);
    CHECK(m.find("Content-Type: message/global\r\n") != std::string::npos);
    CHECK(m.find("To: j\xc3\xb6rg@example.org\r\n") != std::string::npos);
    CHECK(m.find("charset=utf-8") != std::string::npos);
  }
}

TEST_CASE("dsn: NOTIFY decides who wants which notice (RFC 3461 4.1)", "[queue][dsn]") {
  struct Case {
    unsigned notify;
    bool failure, delay, success;
  };
  const Case cases[] = {
      {0, true, true, false},
      {kNotifyNever, false, false, false},
      {kNotifyFailure, true, false, false},
      {kNotifyDelay, false, true, false},
      {kNotifySuccess, false, false, true},
      {kNotifySuccess | kNotifyFailure | kNotifyDelay, true, true, true},
  };
  for (const auto& c : cases) {
    INFO(c.notify);
    CHECK(wants_notice(c.notify, DsnKind::kFailure) == c.failure);
    CHECK(wants_notice(c.notify, DsnKind::kDelay) == c.delay);
    CHECK(wants_notice(c.notify, DsnKind::kSuccess) == c.success);
  }
}

TEST_CASE("dsn: never a notice to <>, a failed bounce goes to the double-bounce recipient, once", "[queue][dsn]") {
  Envelope env = original_envelope();
  CHECK(notice_target(env, DsnKind::kFailure) == NoticeTarget::kSender);
  CHECK(notice_target(env, DsnKind::kDelay) == NoticeTarget::kSender);
  env.sender = "";
  CHECK(notice_target(env, DsnKind::kFailure) == NoticeTarget::kDoubleBounce);
  CHECK(notice_target(env, DsnKind::kDelay) == NoticeTarget::kNone);
  CHECK(notice_target(env, DsnKind::kSuccess) == NoticeTarget::kNone);
  env.attributes[std::string(kNoticeAttribute)] = "dsn";
  CHECK(notice_target(env, DsnKind::kFailure) == NoticeTarget::kDoubleBounce);
  env.attributes[std::string(kNoticeAttribute)] = "double-bounce";
  CHECK(notice_target(env, DsnKind::kFailure) == NoticeTarget::kNone);
}

TEST_CASE("dsn: queue_dsn writes a durable queue file from <> to the sender", "[queue][dsn]") {
  Utc utc;
  TempDir dir;
  make_queue_dirs(dir.path());
  Envelope orig = original_envelope();
  std::string path = write_queue_file(dir.path(), orig, kOriginal, kOrigId);
  auto reader = QfileReader::open(path);
  REQUIRE(reader.ok());

  DsnRequest req;
  req.original = MessageSource::of(*reader);
  CHECK(req.original.queue_id == kOrigId);
  req.recipients = {failed_bob()};
  CleanupSettings cs;
  cs.queue_dir = dir.path();
  cs.myhostname = "mail.example.com";
  TestClock clock;
  tern::queue::QueueIdGenerator ids(clock, 77);
  auto id = queue_dsn(req, settings(), cs, ids, clock);
  REQUIRE(id.ok());
  auto dsn = QfileReader::open(path_of(dir.path(), Queue::kIncoming, *id));
  REQUIRE(dsn.ok());
  const Envelope& e = dsn->envelope();
  CHECK(e.sender.empty());
  REQUIRE(e.recipients.size() == 1);
  CHECK(e.recipients[0].address == "alice@example.org");
  REQUIRE(e.attribute(kNoticeAttribute));
  CHECK(*e.attribute(kNoticeAttribute) == "dsn");
  auto text = dsn->read_message_all();
  REQUIRE(text.ok());
  CHECK(text->find("To: alice@example.org\r\n") != std::string::npos);
  CHECK(text->find("X-Tern-Queue-ID: 0J2XQ3V5K7A0AB1C0\r\n") != std::string::npos);
  CHECK(text->find("Content-Type: message/rfc822\r\n\r\n" + kOriginal) != std::string::npos);
  auto tmp = scan(dir.path(), Queue::kTmp);
  REQUIRE(tmp.ok());
  CHECK(tmp->empty());

  // That notice failing in turn goes to the postmaster, qualified with
  // myorigin; that one failing goes nowhere.
  auto again = QfileReader::open(path_of(dir.path(), Queue::kIncoming, *id));
  REQUIRE(again.ok());
  DsnRequest req2;
  req2.original = MessageSource::of(*again);
  req2.recipients = {failed_bob()};
  auto id2 = queue_dsn(req2, settings(), cs, ids, clock);
  REQUIRE(id2.ok());
  auto db = QfileReader::open(path_of(dir.path(), Queue::kIncoming, *id2));
  REQUIRE(db.ok());
  CHECK(db->envelope().recipients[0].address == "postmaster@example.com");
  CHECK(*db->envelope().attribute(kNoticeAttribute) == "double-bounce");
  auto db_text = db->read_message_all();
  REQUIRE(db_text.ok());
  CHECK(db_text->find("Subject: Postmaster Copy: Undelivered Mail\r\n") != std::string::npos);

  DsnRequest req3;
  req3.original = MessageSource::of(*db);
  req3.recipients = {failed_bob()};
  auto id3 = queue_dsn(req3, settings(), cs, ids, clock);
  REQUIRE(!id3.ok());
  CHECK(id3.error().code == Errc::kNotFound);
}

TEST_CASE("dsn: dsn_report takes the defer log's latest record, and relay names become Remote-MTA", "[queue][dsn]") {
  Utc utc;
  Recipient rcpt;
  rcpt.address = "bob@example.net";
  rcpt.orcpt = "rfc822;bob@example.net";
  DeferRecord d;
  d.index = 0;
  d.address = "bob@example.net";
  d.status = "4.7.1";
  d.relay = "mx.example.net[192.0.2.7]:25";
  d.reason = "host mx.example.net[192.0.2.7] said: 451 4.7.1 greylisted (in reply to RCPT TO command)";
  d.reply = "451 4.7.1 greylisted";
  d.time = WallTime(std::chrono::seconds(1699995600));
  DsnRecipientReport r = dsn_report(rcpt, DsnAction::kFailed, &d);
  CHECK(r.final_recipient == "bob@example.net");
  CHECK(r.orcpt == rcpt.orcpt);
  CHECK(r.status == "4.7.1");  // an expired message keeps its last status, as in Postfix
  CHECK(r.diagnostic == d.reply);
  CHECK(r.reason == d.reason);
  CHECK(r.last_attempt == d.time);

  DeferRecord other = d;
  other.address = "someone@else";
  DsnRecipientReport none = dsn_report(rcpt, DsnAction::kFailed, &other);
  CHECK(none.status == "5.0.0");
  CHECK(none.reason.empty());
  CHECK(dsn_report(rcpt, DsnAction::kDelayed, nullptr).status == "4.0.0");

  Envelope env = original_envelope();
  DsnRequest req;
  req.kind = DsnKind::kFailure;
  req.original = MessageSource::of(env, kOrigId, kOriginal);
  req.recipients = {r};
  DsnRecipientReport lmtp = r;
  lmtp.final_recipient = "carol@example.net";
  lmtp.orcpt.clear();
  lmtp.remote_mta = "private/deliver";
  lmtp.diagnostic.clear();
  lmtp.reason = "mailbox full";
  req.recipients.push_back(lmtp);
  const std::string m = build(req);
  check_lines(m);
  std::string unwrapped = m;
  for (size_t p; (p = unwrapped.find("\r\n    ")) != std::string::npos;) unwrapped.replace(p, 6, " ");
  CHECK(unwrapped.find("\r\n<bob@example.net>: host mx.example.net[192.0.2.7] said: 451 4.7.1 greylisted (in "
                       "reply to RCPT TO command)\r\n") != std::string::npos);
  CHECK(m.find("Remote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; 451 4.7.1 greylisted\r\n") !=
        std::string::npos);
  CHECK(m.find("Final-Recipient: rfc822; carol@example.net\r\nAction: failed\r\nStatus: 4.7.1\r\n"
               "Diagnostic-Code: x-tern; mailbox full\r\n") != std::string::npos);
  CHECK(m.find("Remote-MTA: dns; private") == std::string::npos);
}
