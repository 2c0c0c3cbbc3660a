#include "common/ipc/delivery_protocol.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

using namespace tern::ipc;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("delivery_protocol: a request formats as the header specifies and reads back", "[ipc][delivery]") {
  DeliveryRequest r;
  r.queue_id = "4F2A1B9C0D1E2F3A4";
  r.queue_file = "active/4F2A1B9C0D1E2F3A4";
  r.transport = "lmtp";
  r.protocol = DeliveryProtocol::kLmtp;
  r.nexthop = "unix:private/deliver";
  r.recipients = {{0, "bob@example.test"}, {3, "we\tird%@example.test"}};
  const std::string text = r.format();
  CHECK(text ==
        "deliver\tid=4F2A1B9C0D1E2F3A4\tqueue_file=active/4F2A1B9C0D1E2F3A4\ttransport=lmtp\tprotocol=lmtp"
        "\tnexthop=unix:private/deliver\tnrcpt=2\n"
        "rcpt\tindex=0\taddress=bob@example.test\n"
        "rcpt\tindex=3\taddress=we%09ird%25@example.test\n"
        "end\n");
  DeliveryRequestReader reader;
  auto lines = lines_of(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto fed = reader.feed(lines[i]);
    REQUIRE(fed.ok());
    CHECK(*fed == (i + 1 == lines.size()));
  }
  DeliveryRequest back = reader.take();
  CHECK(back.queue_id == r.queue_id);
  CHECK(back.queue_file == r.queue_file);
  CHECK(back.protocol == DeliveryProtocol::kLmtp);
  CHECK(back.nexthop == r.nexthop);
  REQUIRE(back.recipients.size() == 2);
  CHECK(back.recipients[1].index == 3);
  CHECK(back.recipients[1].address == "we\tird%@example.test");
  // The reader starts over after a request.
  for (const auto& l : lines) REQUIRE(reader.feed(l).ok());
}

TEST_CASE("delivery_protocol: malformed requests are refused and the reader recovers", "[ipc][delivery]") {
  const std::string head = "deliver\tid=Q\tqueue_file=active/Q\ttransport=smtp\tprotocol=smtp\tnexthop=[h]:25";
  struct Case {
    std::vector<std::string> lines;
  };
  const Case bad[] = {
      {{"rcpt\tindex=0\taddress=a@b"}},                                              // outside a request
      {{"end"}},                                                                     // outside a request
      {{head + "\tnrcpt=0"}},                                                        // no recipients
      {{head + "\tnrcpt=1001"}},                                                     // over the bound
      {{head + "\tnrcpt=01"}},                                                       // leading zero
      {{head + "\tnrcpt=1", "end"}},                                                 // too few
      {{head + "\tnrcpt=1", "rcpt\tindex=0\taddress=a@b", "rcpt\tindex=1\taddress=c@d"}},  // too many
      {{head + "\tnrcpt=1", "rcpt\tindex=x\taddress=a@b"}},                          // bad index
      {{head + "\tnrcpt=1", "rcpt\tindex=0"}},                                       // no address
      {{head + "\tnrcpt=1", head + "\tnrcpt=1"}},                                    // nested
      {{"deliver\tid=Q\tqueue_file=../etc/passwd\ttransport=smtp\tprotocol=smtp\tnexthop=h\tnrcpt=1"}},
      {{"deliver\tid=Q\tqueue_file=/etc/passwd\ttransport=smtp\tprotocol=smtp\tnexthop=h\tnrcpt=1"}},
      {{"deliver\tid=Q\tqueue_file=active/Q\ttransport=smtp\tprotocol=uucp\tnexthop=h\tnrcpt=1"}},
      {{"deliver\tqueue_file=active/Q\ttransport=smtp\tprotocol=smtp\tnexthop=h\tnrcpt=1"}},
      {{head + "\tnrcpt=1", "rcpt\tindex=0\taddress=a@b", "bogus"}},
      {{std::string(kDeliveryMaxLine + 1, 'x')}},
  };
  for (const auto& c : bad) {
    DeliveryRequestReader reader;
    bool refused = false;
    for (const auto& l : c.lines) {
      CAPTURE(l.substr(0, 80));
      auto fed = reader.feed(l);
      if (!fed.ok()) {
        refused = true;
        break;
      }
      CHECK_FALSE(*fed);
    }
    CHECK(refused);
    // A good request afterwards is read whole.
    REQUIRE(reader.feed(head + "\tnrcpt=1").ok());
    REQUIRE(reader.feed("rcpt\tindex=0\taddress=a@b").ok());
    auto end = reader.feed("end");
    REQUIRE(end.ok());
    CHECK(*end);
  }
}

TEST_CASE("delivery_protocol: results and done lines format and parse back", "[ipc][delivery]") {
  DeliveryResult r;
  r.index = 7;
  r.action = DeliveryAction::kBounced;
  r.dsn = "5.1.1";
  r.relay = "mx.example[192.0.2.1]:25";
  r.reason = "host mx.example[192.0.2.1] said: 550 5.1.1 <x@example>: unknown (in reply to RCPT TO command)";
  r.reply = "550 5.1.1 <x@example>: unknown";
  auto back = parse_delivery_answer(r.format());
  REQUIRE(back.ok());
  REQUIRE(back->result);
  CHECK_FALSE(back->done);
  CHECK(back->result->index == 7);
  CHECK(back->result->action == DeliveryAction::kBounced);
  CHECK(back->result->dsn == "5.1.1");
  CHECK(back->result->relay == r.relay);
  CHECK(back->result->reason == r.reason);
  CHECK(back->result->reply == r.reply);

  DeliveryResult none;
  none.action = DeliveryAction::kDeferred;
  none.dsn = "4.4.1";
  none.reason = "connect to h[192.0.2.1]:25: Connection refused";
  CHECK(none.format() == "result\tindex=0\taction=deferred\tdsn=4.4.1\trelay=none\treason=connect to "
                         "h[192.0.2.1]:25: Connection refused\n");

  DeliveryDone d{0.0123, 1.5, "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"};
  CHECK(d.format() ==
        "done\tsetup=0.012\txfer=1.500\ttls=TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n");
  auto done = parse_delivery_answer(d.format());
  REQUIRE(done.ok());
  REQUIRE(done->done);
  CHECK(done->done->setup == Approx(0.012));
  CHECK(done->done->xfer == Approx(1.5));
  CHECK(done->done->tls == d.tls);
}

TEST_CASE("delivery_protocol: answers that contradict themselves are refused", "[ipc][delivery]") {
  const char* bad[] = {
      "result\tindex=0\taction=delivered\tdsn=5.0.0\trelay=none\treason=x",  // class vs action
      "result\tindex=0\taction=deferred\tdsn=2.0.0\trelay=none\treason=x",
      "result\tindex=0\taction=bounced\tdsn=4.0.0\trelay=none\treason=x",
      "result\tindex=0\taction=lost\tdsn=4.0.0\trelay=none\treason=x",
      "result\tindex=0\taction=deferred\tdsn=4.0\trelay=none\treason=x",
      "result\tindex=0\taction=deferred\tdsn=4.1000.0\trelay=none\treason=x",
      "result\taction=deferred\tdsn=4.0.0\trelay=none\treason=x",
      "done\tsetup=-1\txfer=0",
      "done\tsetup=abc\txfer=0",
      "ok",
  };
  for (const char* line : bad) {
    CAPTURE(line);
    CHECK_FALSE(parse_delivery_answer(line).ok());
  }
  CHECK(is_enhanced_status("2.0.0"));
  CHECK(is_enhanced_status("5.7.100"));
  CHECK_FALSE(is_enhanced_status("3.0.0"));
  CHECK_FALSE(is_enhanced_status("5.0.0 "));
}
