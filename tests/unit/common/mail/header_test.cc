#include "common/mail/header.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "common/base/strings.h"

using namespace tern;
using namespace tern::mail;

namespace {

// Sun, 22 Nov 2026 21:33:27 UTC
const WallTime kTime{std::chrono::seconds(1795383207)};

}  // namespace

TEST_CASE("header: parses fields, folds and the end of the header section", "[mail]") {
  const std::string msg =
      "From: a@b.example\r\n"
      "Subject: one\r\n"
      "\ttwo\r\n"
      "  three\r\n"
      "X-Obs : old style\r\n"
      "to: c@d.example\r\n"
      "\r\n"
      "Body line\r\n";
  auto h = parse_header_block(msg);
  REQUIRE(h.ok());
  REQUIRE(h->fields.size() == 4);
  CHECK(h->fields[1].name == "Subject");
  CHECK(h->fields[1].raw == "Subject: one\r\n\ttwo\r\n  three");
  CHECK(h->fields[1].unfolded() == "one\ttwo  three");
  CHECK(h->fields[2].name == "X-Obs");
  CHECK(h->fields[2].unfolded() == "old style");
  CHECK(h->find("TO") == &h->fields[3]);
  CHECK(h->find("Cc") == nullptr);
  CHECK(h->count("subject") == 1);
  CHECK(msg.substr(h->body_offset) == "Body line\r\n");
}

TEST_CASE("header: a line that is not a field starts the body", "[mail]") {
  struct Case {
    std::string in;
    size_t fields;
    std::string body;
  };
  const Case cases[] = {
      {"A: 1\nB: 2\n\nbody\n", 2, "body\n"},                 // LF line endings
      {"A: 1\r\nnot a header\r\nmore\r\n", 1, "not a header\r\nmore\r\n"},
      {"From someone Mon Jan 1\r\nA: 1\r\n", 0, "From someone Mon Jan 1\r\nA: 1\r\n"},
      {" leading: space\r\n", 0, " leading: space\r\n"},
      {"\r\nbody", 0, "body"},
      {"A: 1\r\nB: 2", 2, ""},                               // no final CRLF, no body
      {"", 0, ""},
      {"Bad\x01Name: x\r\n", 0, "Bad\x01Name: x\r\n"},
      {": empty name\r\n", 0, ": empty name\r\n"},
      {"A: 1\r\n\xc3\xa9: x\r\n", 1, "\xc3\xa9: x\r\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto h = parse_header_block(c.in);
    REQUIRE(h.ok());
    CHECK(h->fields.size() == c.fields);
    CHECK(c.in.substr(h->body_offset) == c.body);
  }
  CHECK(is_field_name("X-Spam-Status"));
  CHECK_FALSE(is_field_name("X Spam"));
  CHECK_FALSE(is_field_name("A:B"));
  CHECK_FALSE(is_field_name(""));
}

TEST_CASE("header: limits on size, count and one field say which was hit", "[mail]") {
  HeaderLimits small;
  small.total = 64;
  small.fields = 3;
  small.field = 32;
  struct Case {
    std::string in;
    HeaderLimit hit;
  };
  const Case cases[] = {
      {"A: 1\r\nB: 2\r\nC: 3\r\n\r\n", HeaderLimit::kNone},
      {"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", HeaderLimit::kFields},
      {"A: " + std::string(29, 'x') + "\r\n\r\n", HeaderLimit::kNone},   // 32 bytes exactly
      {"A: " + std::string(30, 'x') + "\r\n\r\n", HeaderLimit::kField},
      {"A: 1234567890\r\n" + std::string(" ") + std::string(20, 'y') + "\r\n\r\n", HeaderLimit::kField},
      {"A: " + std::string(25, 'x') + "\r\nB: " + std::string(25, 'x') + "\r\nC: 1\r\n\r\n", HeaderLimit::kTotal},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    HeaderLimit which = HeaderLimit::kNone;
    auto h = parse_header_block(c.in, small, &which);
    CHECK(h.ok() == (c.hit == HeaderLimit::kNone));
    CHECK(which == c.hit);
    if (!h.ok()) CHECK(h.error().code == Errc::kLimit);
  }
  // Exactly at the total: 64 bytes with CRLFs.
  const std::string at = "A: " + std::string(25, 'x') + "\r\nB: " + std::string(27, 'x') + "\r\n\r\n";
  CHECK(parse_header_block(at, small).ok());
}

TEST_CASE("header: the incremental parser stops after the header section", "[mail]") {
  HeaderParser p;
  CHECK(*p.add_line("Received: from x") == HeaderParser::Step::kMore);
  CHECK(*p.add_line("\tby y\r") == HeaderParser::Step::kMore);
  CHECK(*p.add_line("Subject: s") == HeaderParser::Step::kMore);
  CHECK(p.size() == std::string("Received: from x\r\n\tby y\r\nSubject: s\r\n").size());
  CHECK(*p.add_line("") == HeaderParser::Step::kEnd);
  CHECK(p.done());
  CHECK(*p.add_line("Late: field") == HeaderParser::Step::kBody);
  REQUIRE(p.fields().size() == 2);
  CHECK(p.fields()[0].unfolded() == "from x\tby y");
  CHECK(count_fields(p.fields(), "received") == 1);

  HeaderLimits one;
  one.fields = 1;
  HeaderParser q(one);
  CHECK(q.add_line("A: 1").ok());
  auto over = q.add_line("B: 2");
  REQUIRE_FALSE(over.ok());
  CHECK(q.limit_hit() == HeaderLimit::kFields);
  CHECK_FALSE(q.add_line("C: 3").ok());
}

TEST_CASE("header: fold_field folds at white space before column 78", "[mail]") {
  const std::string words = "Subject: " + std::string(60, 'a') + " " + std::string(30, 'b') + " c";
  const std::string folded = fold_field(words);
  CHECK(folded == "Subject: " + std::string(60, 'a') + "\r\n " + std::string(30, 'b') + " c");
  CHECK(fold_field("Short: one") == "Short: one");
  const std::string unbreakable = "X: " + std::string(100, 'z');
  CHECK(fold_field(unbreakable) == unbreakable);
  // A long word followed by more text folds after the word.
  CHECK(fold_field("X: " + std::string(100, 'z') + " tail") == "X: " + std::string(100, 'z') + "\r\n tail");
  // Trailing white space is not a fold point (no white-space-only line).
  CHECK(fold_field("X: " + std::string(80, 'q') + "   ") == "X: " + std::string(80, 'q') + "   ");
  // Never a line holding only the field name.
  CHECK(fold_field("X: " + std::string(100, 'z')).find("X:\r\n") == std::string::npos);
  // Existing folds are kept.
  CHECK(fold_field("A: x\r\n\ty") == "A: x\r\n\ty");
}

TEST_CASE("header: RFC 5322 dates and Message-ID for a fixed time", "[mail]") {
  CHECK(rfc5322_date(kTime, TimeZone::utc()) == "Sun, 22 Nov 2026 21:33:27 +0000 (UTC)");
  CHECK(rfc5322_date(kTime, TimeZone{3600, "CET"}) == "Sun, 22 Nov 2026 22:33:27 +0100 (CET)");
  CHECK(rfc5322_date(kTime, TimeZone{-(5 * 3600 + 30 * 60), ""}) == "Sun, 22 Nov 2026 16:03:27 -0530");
  CHECK(rfc5322_date(kTime, TimeZone{0, "bad name"}) == "Sun, 22 Nov 2026 21:33:27 +0000");
  CHECK(rfc5322_date(WallTime(std::chrono::seconds(1772323200)), TimeZone::utc()) ==
        "Sun, 1 Mar 2026 00:00:00 +0000 (UTC)");
  // Sub-second parts are dropped, never rounded up.
  CHECK(rfc5322_date(kTime + std::chrono::milliseconds(999), TimeZone::utc()) ==
        "Sun, 22 Nov 2026 21:33:27 +0000 (UTC)");
  CHECK(make_message_id("4ABC123DEF", "mx.example.org", kTime) == "<20261122213327.4ABC123DEF@mx.example.org>");
  const std::string now_id = make_message_id("Q1", "h.example");
  CHECK(now_id.front() == '<');
  CHECK(now_id.size() == std::string("<20261122213327.Q1@h.example>").size());
  CHECK(!rfc5322_date(kTime).empty());
}

TEST_CASE("header: with_protocol names follow RFC 3848", "[mail]") {
  CHECK(with_protocol(false, false, false) == "SMTP");
  CHECK(with_protocol(true, false, false) == "ESMTP");
  CHECK(with_protocol(true, true, false) == "ESMTPS");
  CHECK(with_protocol(true, false, true) == "ESMTPA");
  CHECK(with_protocol(true, true, true) == "ESMTPSA");
  CHECK(with_protocol(true, true, true, true) == "UTF8SMTPSA");
  CHECK(with_protocol(true, false, false, false, true) == "LMTP");
  CHECK(with_protocol(true, true, true, false, true) == "LMTPSA");
}

TEST_CASE("header: Received: in Postfix's shape for plain, ESMTP and ESMTPSA with TLS", "[mail]") {
  ReceivedInfo r;
  r.helo = "client.example";
  r.client_name = "mail.client.example";
  r.client_addr = "192.0.2.7";
  r.by_host = "mx.example.org";
  r.queue_id = "4ABC123DEF";
  r.time = kTime;
  r.zone = TimeZone::utc();

  r.protocol = with_protocol(false, false, false);
  r.recipient = "user@example.org";
  CHECK(received_header(r) ==
        "Received: from client.example (mail.client.example [192.0.2.7])\r\n"
        "\tby mx.example.org (Tern) with SMTP id 4ABC123DEF\r\n"
        "\tfor <user@example.org>; Sun, 22 Nov 2026 21:33:27 +0000 (UTC)");

  r.protocol = with_protocol(true, false, false);
  r.recipient.clear();  // several recipients: no "for"
  r.client_name = "unknown";
  r.client_addr = "2001:db8::7";
  CHECK(received_header(r) ==
        "Received: from client.example (unknown [IPv6:2001:db8::7])\r\n"
        "\tby mx.example.org (Tern) with ESMTP id 4ABC123DEF;\r\n"
        "\tSun, 22 Nov 2026 21:33:27 +0000 (UTC)");

  r.protocol = with_protocol(true, true, true);
  r.client_name = "mail.client.example";
  r.client_addr = "192.0.2.7";
  r.recipient = "\"john doe\"@example.org";
  r.tls = TlsDetails{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, 256, "", "No client certificate requested"};
  r.authenticated_sender = "alice@example.org";
  CHECK(received_header(r) ==
        "Received: from client.example (mail.client.example [192.0.2.7])\r\n"
        "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
        "\t(No client certificate requested)\r\n"
        "\t(Authenticated sender: alice@example.org)\r\n"
        "\tby mx.example.org (Tern) with ESMTPSA id 4ABC123DEF\r\n"
        "\tfor <\"john doe\"@example.org>; Sun, 22 Nov 2026 21:33:27 +0000 (UTC)");

  r.authenticated_sender.clear();
  r.tls->key_exchange = "key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256";
  const std::string with_kex = received_header(r);
  CHECK(with_kex.find("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
                      "\t key-exchange X25519 server-signature RSA-PSS (2048 bits)") != std::string::npos);
  std::string unfolded = with_kex;  // RFC 5322 2.2.3: drop CRLF before WSP
  for (size_t p; (p = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(p, 2);
  CHECK(unfolded.find("server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n\t(No client certificate requested)") !=
        std::string::npos);
  for (auto line : split(with_kex, '\n')) CHECK(line.size() <= 79);  // 78 + the CR

  // Hostile HELO text cannot add lines or tokens; no HELO uses the name.
  r.tls.reset();
  r.helo = "evil\r\nX-Injected: yes";
  const std::string hostile = received_header(r);
  CHECK(hostile.find("X-Injected: yes") == std::string::npos);
  CHECK(hostile.rfind("Received: from evil??X-Injected:?yes (", 0) == 0);
  r.helo.clear();
  CHECK(received_header(r).rfind("Received: from mail.client.example (mail.client.example [", 0) == 0);

  // Every line of a long one is folded at 78 where there is white space.
  r.by_host = std::string(70, 'h') + ".example";
  const std::string long_one = received_header(r);
  for (auto line : split(long_one, '\n')) CHECK(line.size() <= 80);
}

TEST_CASE("header: the local Received: for pickup", "[mail]") {
  CHECK(local_received_header("host.example", "Tern", 1000, "4ABC", kTime, TimeZone::utc()) ==
        "Received: by host.example (Tern, from userid 1000)\r\n"
        "\tid 4ABC; Sun, 22 Nov 2026 21:33:27 +0000 (UTC)");
}
