#include "smtp-client/outcome.h"

#include <catch2/catch.hpp>

#include "common/queue/qfile.h"

using namespace tern;
using namespace tern::smtp_client;
using tern::mail::ReplyReader;

namespace {

Reply reply(const std::string& line) {
  ReplyReader r;
  auto got = r.feed(line);
  REQUIRE(got);
  REQUIRE(*got);
  return **got;
}

const Peer kPeer{"mx.example[192.0.2.1]", "mx.example[192.0.2.1]:25"};

}  // namespace

TEST_CASE("outcome: a reply maps to an action, a code and a reason worded as Postfix does") {
  struct Case {
    const char* line;
    const char* command;
    ipc::DeliveryAction action;
    const char* dsn;
    const char* reason;
  };
  Case cases[] = {
      {"250 2.0.0 <bob@x> Saved", "end of DATA", ipc::DeliveryAction::kDelivered, "2.0.0", "250 2.0.0 <bob@x> Saved"},
      {"250 Ok: queued as X", "end of DATA", ipc::DeliveryAction::kDelivered, "2.0.0", "250 Ok: queued as X"},
      {"450 4.2.0 busy", "RCPT TO", ipc::DeliveryAction::kDeferred, "4.2.0",
       "host mx.example[192.0.2.1] said: 450 4.2.0 busy (in reply to RCPT TO command)"},
      {"550 5.1.1 <bob@x> unknown", "RCPT TO", ipc::DeliveryAction::kBounced, "5.1.1",
       "host mx.example[192.0.2.1] said: 550 5.1.1 <bob@x> unknown (in reply to RCPT TO command)"},
      {"554 no", "MAIL FROM", ipc::DeliveryAction::kBounced, "5.0.0",
       "host mx.example[192.0.2.1] said: 554 no (in reply to MAIL FROM command)"},
      {"451 later", "DATA", ipc::DeliveryAction::kDeferred, "4.0.0",
       "host mx.example[192.0.2.1] said: 451 later (in reply to DATA command)"},
      {"354 go on", "RCPT TO", ipc::DeliveryAction::kDeferred, "4.5.0",
       "host mx.example[192.0.2.1] said: 354 go on (in reply to RCPT TO command)"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto r = result_from_reply(7, reply(c.line), kPeer, c.command, true, 0);
    CHECK(r.index == 7);
    CHECK(r.action == c.action);
    CHECK(r.dsn == c.dsn);
    CHECK(r.reason == c.reason);
    CHECK(r.reply == c.line);
    CHECK(r.relay == kPeer.relay);
  }
}

TEST_CASE("outcome: success without DSN at the next hop is 'relayed' for NOTIFY=SUCCESS (RFC 3461 5.2.2)") {
  Reply ok = reply("250 2.0.0 Ok");
  CHECK(result_from_reply(0, ok, kPeer, "end of DATA", false, queue::kNotifySuccess).action ==
        ipc::DeliveryAction::kRelayed);
  CHECK(result_from_reply(0, ok, kPeer, "end of DATA", true, queue::kNotifySuccess).action ==
        ipc::DeliveryAction::kDelivered);
  CHECK(result_from_reply(0, ok, kPeer, "end of DATA", false, queue::kNotifyFailure).action ==
        ipc::DeliveryAction::kDelivered);
}

TEST_CASE("outcome: action_for_dsn follows the class") {
  CHECK(action_for_dsn("2.0.0") == ipc::DeliveryAction::kDelivered);
  CHECK(action_for_dsn("4.4.1") == ipc::DeliveryAction::kDeferred);
  CHECK(action_for_dsn("5.4.4") == ipc::DeliveryAction::kBounced);
  CHECK(action_for_dsn("") == ipc::DeliveryAction::kDeferred);
}
