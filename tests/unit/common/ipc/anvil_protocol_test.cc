#include "common/ipc/anvil_protocol.h"

#include <catch2/catch.hpp>
#include <string>

using tern::Errc;
using tern::ipc::AnvilCommand;
using tern::ipc::AnvilReply;
using tern::ipc::AnvilRequest;

TEST_CASE("anvil_protocol: requests format as the header specifies and parse back", "[ipc][anvil]") {
  struct Case {
    AnvilCommand command;
    std::string service, client, line;
  };
  const Case cases[] = {
      {AnvilCommand::kConnect, "smtp", "192.0.2.1", "connect\tservice=smtp\tclient=192.0.2.1\n"},
      {AnvilCommand::kDisconnect, "smtp", "2001:db8::1", "disconnect\tservice=smtp\tclient=2001:db8::1\n"},
      {AnvilCommand::kMessage, "submission", "192.0.2.1", "message\tservice=submission\tclient=192.0.2.1\n"},
      {AnvilCommand::kRcpt, "127.0.0.1:25", "192.0.2.1", "rcpt\tservice=127.0.0.1:25\tclient=192.0.2.1\n"},
      {AnvilCommand::kLookup, "a\tb", "100%", "lookup\tservice=a%09b\tclient=100%25\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    AnvilRequest r{c.command, c.service, c.client};
    CHECK(r.format() == c.line);
    auto back = AnvilRequest::parse(c.line);
    REQUIRE(back.ok());
    CHECK(back->command == c.command);
    CHECK(back->service == c.service);
    CHECK(back->client == c.client);
  }
}

TEST_CASE("anvil_protocol: a request with unknown fields is taken, the fields ignored", "[ipc][anvil]") {
  auto r = AnvilRequest::parse("connect\tservice=smtp\tclient=192.0.2.1\tfuture=1");
  REQUIRE(r.ok());
  CHECK(r->client == "192.0.2.1");
}

TEST_CASE("anvil_protocol: malformed or hostile requests are refused with a reason", "[ipc][anvil]") {
  const std::string long_name(tern::ipc::kAnvilMaxName + 1, 'a');
  const std::string cases[] = {
      "",
      "\n",
      "connect",
      "connect\tservice=smtp",
      "connect\tclient=192.0.2.1",
      "connect\tservice=\tclient=192.0.2.1",
      "connect\tservice=smtp\tclient=",
      "CONNECT\tservice=smtp\tclient=192.0.2.1",
      "flush\tservice=smtp\tclient=192.0.2.1",
      "connect\tservice=smtp\tclient=192.0.2.1\tbroken",
      "connect\tservice=smtp\tclient=%zz",
      "connect\tservice=smtp\r\tclient=x",
      "connect\tservice=" + long_name + "\tclient=192.0.2.1",
      "connect\tservice=smtp\tclient=" + long_name,
      "connect\tservice=smtp\tclient=x" + std::string(20, '\t') + "a=b",
      "connect\tservice=smtp\tclient=" + std::string(tern::ipc::kAnvilMaxLine, 'x'),
  };
  for (const auto& c : cases) {
    CAPTURE(c);
    auto r = AnvilRequest::parse(c);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK_FALSE(r.error().text.empty());
  }
}

TEST_CASE("anvil_protocol: replies carry the fields their command answers", "[ipc][anvil]") {
  AnvilReply connect;
  connect.count = 3;
  connect.rate = 7;
  CHECK(connect.format() == "ok\tcount=3\trate=7\n");
  AnvilReply message;
  message.rate = 2;
  CHECK(message.format() == "ok\trate=2\n");
  CHECK(AnvilReply().format() == "ok\n");
  AnvilReply lookup;
  lookup.count = 1;
  lookup.rate = 2;
  lookup.message_rate = 3;
  lookup.rcpt_rate = 4;
  CHECK(lookup.format() == "ok\tcount=1\trate=2\tmessage_rate=3\trcpt_rate=4\n");
  CHECK(AnvilReply::error("table full").format() == "error\treason=table full\n");

  for (const AnvilReply& r : {connect, message, lookup, AnvilReply(), AnvilReply::error("x\ty")}) {
    auto back = AnvilReply::parse(r.format());
    REQUIRE(back.ok());
    CHECK(back->ok == r.ok);
    CHECK(back->reason == r.reason);
    CHECK(back->count == r.count);
    CHECK(back->rate == r.rate);
    CHECK(back->message_rate == r.message_rate);
    CHECK(back->rcpt_rate == r.rcpt_rate);
  }
}

TEST_CASE("anvil_protocol: replies with bad counts are refused", "[ipc][anvil]") {
  const std::string cases[] = {
      "ok\tcount=-1", "ok\tcount=", "ok\trate=1x", "ok\trate=+1", "ok\tcount=99999999999", "ok\tcount=2147483648",
      "maybe\tcount=1", "ok\tcount",
  };
  for (const auto& c : cases) {
    CAPTURE(c);
    CHECK_FALSE(AnvilReply::parse(c).ok());
  }
  auto max = AnvilReply::parse("ok\tcount=2147483647");
  REQUIRE(max.ok());
  CHECK(*max->count == 2147483647);
}
