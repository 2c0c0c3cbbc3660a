// tern-dsn-sample: queues one delivery status notification of each kind
// with common/queue/dsn.h, built only for tests
// (tests/integration/test_dsn_format.py checks them with Python's email
// package, reading them back with terncat).
//
//   tern-dsn-sample QUEUE_DIR
//
// QUEUE_DIR must hold the queue directories (tmp/, incoming/, defer/, ...).
// For each case it writes an original message into incoming/, the reports
// qmgr would make (the delay one from a defer log, as qmgr will), queues
// the notice and prints one line:
//
//   CASE ORIGINAL_ID DSN_ID
//
// Cases: failure (two recipients, ORCPT, ENVID), delay, success (NOTIFY=
// SUCCESS: header returned), hdrs (RET=HDRS), utf8 (SMTPUTF8: global
// types), double (the failure notice of a message from <>). Exit 0, 1 on
// any error (with a message on stderr), 2 on a usage error.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/queue/cleanup.h"
#include "common/queue/defer_log.h"
#include "common/queue/dsn.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/qfile_writer.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"

namespace q = tern::queue;

namespace {

const char* kOriginal =
    "Received: from client.example.org (client.example.org [192.0.2.1])\r\n"
    "\tby mail.example.com (Tern) with ESMTP; Tue, 14 Nov 2023 20:00:00 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.net, carol@example.net\r\n"
    "Subject: quarterly report\r\n"
    "Message-ID: <original.1@example.org>\r\n"
    "\r\n"
    "Hello Bob and Carol,\r\n"
    "the report is attached.\r\n";

int die(const std::string& what, const tern::Error& e) {
  std::fprintf(stderr, "tern-dsn-sample: %s: %s\n", what.c_str(), e.text.c_str());
  return 1;
}

q::Recipient rcpt(std::string address, std::string orcpt = "", unsigned notify = 0) {
  q::Recipient r;
  r.address = std::move(address);
  r.orcpt = std::move(orcpt);
  r.notify = notify;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tern-dsn-sample QUEUE_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  tern::Clock& clock = tern::system_clock();
  q::QueueIdGenerator ids(clock);
  q::DsnSettings settings;
  settings.myhostname = "mail.example.com";
  settings.myorigin = "example.com";
  q::CleanupSettings cleanup;
  cleanup.queue_dir = dir;
  cleanup.myhostname = settings.myhostname;

  struct Case {
    const char* name;
    q::DsnKind kind;
    std::string sender;
    bool smtputf8;
    q::DsnRet ret;
    std::vector<q::Recipient> rcpts;
  };
  const std::vector<Case> cases = {
      {"failure", q::DsnKind::kFailure, "alice@example.org", false, q::DsnRet::kUnspecified,
       {rcpt("bob@example.net", "rfc822;Bob@Example.net"), rcpt("carol@example.net")}},
      {"delay", q::DsnKind::kDelay, "alice@example.org", false, q::DsnRet::kUnspecified, {rcpt("bob@example.net")}},
      {"success", q::DsnKind::kSuccess, "alice@example.org", false, q::DsnRet::kUnspecified,
       {rcpt("bob@example.net", "", q::kNotifySuccess)}},
      {"hdrs", q::DsnKind::kFailure, "alice@example.org", false, q::DsnRet::kHdrs, {rcpt("bob@example.net")}},
      {"utf8", q::DsnKind::kFailure, "j\xc3\xb6rg@example.org", true, q::DsnRet::kUnspecified,
       {rcpt("b\xc3\xb6" "b@example.net", "utf-8;b\xc3\xb6" "b@example.net")}},
      {"double", q::DsnKind::kFailure, "", false, q::DsnRet::kUnspecified, {rcpt("bob@example.net")}},
  };
  for (const auto& c : cases) {
    q::Envelope env;
    env.arrival = clock.wall_now();
    env.sender = c.sender;
    env.smtputf8 = c.smtputf8;
    env.ret = c.ret;
    if (c.kind == q::DsnKind::kFailure && c.ret == q::DsnRet::kUnspecified && !c.smtputf8 && !c.sender.empty())
      env.envid = "QQ314159";
    env.recipients = c.rcpts;
    std::string id = ids.next();
    auto w = q::QfileWriter::create(dir, id, env);
    if (!w) return die("create", w.error());
    std::string text = kOriginal;
    if (c.smtputf8) text = "From: j\xc3\xb6rg@example.org\r\nSubject: gr\xc3\xbc\xc3\x9f" "e\r\n\r\nHall\xc3\xb6\r\n";
    if (auto s = w->append(text); !s) return die("append", s.error());
    if (auto s = w->finish(); !s) return die("finish", s.error());
    if (auto s = w->commit(); !s) return die("commit", s.error());
    auto reader = q::QfileReader::open(w->incoming_path());
    if (!reader) return die("open", reader.error());

    q::DsnRequest req;
    req.kind = c.kind;
    req.original = q::MessageSource::of(*reader);
    const auto& rs = reader->envelope().recipients;
    if (c.kind == q::DsnKind::kDelay) {
      q::DeferRecord d;
      d.index = 0;
      d.address = rs[0].address;
      d.status = "4.4.1";
      d.relay = "mx.example.net[192.0.2.7]:25";
      d.reason = "connect to mx.example.net[192.0.2.7]:25: Connection refused";
      d.time = clock.wall_now();
      if (auto s = q::append_defer_records(dir, id, {d}); !s) return die("defer log", s.error());
      auto log = q::read_defer_log(dir, id);
      if (!log) return die("read defer log", log.error());
      req.recipients.push_back(q::dsn_report(rs[0], q::DsnAction::kDelayed, log->find(0)));
      req.will_retry_until = env.arrival + std::chrono::hours(24 * 5);
    } else {
      for (const auto& r : rs) {
        q::DsnRecipientReport rep;
        rep.final_recipient = r.address;
        rep.orcpt = r.orcpt;
        rep.last_attempt = clock.wall_now();
        if (c.kind == q::DsnKind::kSuccess) {
          rep.action = q::DsnAction::kDelivered;
          rep.status = "2.0.0";
          rep.remote_mta = "mx.example.net[192.0.2.7]:25";
          rep.diagnostic = "250 2.0.0 Ok: queued as 4Xyz";
        } else {
          rep.action = q::DsnAction::kFailed;
          rep.status = "5.1.1";
          rep.remote_mta = "mx.example.net[192.0.2.7]:25";
          rep.diagnostic = "550 5.1.1 <" + r.address + ">: Recipient address rejected: User unknown";
          rep.reason = "host mx.example.net[192.0.2.7] said: " + rep.diagnostic + " (in reply to RCPT TO command)";
        }
        req.recipients.push_back(std::move(rep));
      }
    }
    auto dsn = q::queue_dsn(req, settings, cleanup, ids, clock);
    if (!dsn) return die(std::string(c.name) + ": queue_dsn", dsn.error());
    std::printf("%s %s %s\n", c.name, id.c_str(), dsn->c_str());
  }
  return 0;
}
