#include "common/queue/maildrop.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "common/queue/qfile_reader.h"
#include "common/queue/qfile_writer.h"

namespace {

using namespace tern::queue;
using tern::Errc;

Submission sample() {
  Submission s;
  s.sender = "alice\tSENDER x%41\nRCPT evil@x";
  s.ret = DsnRet::kHdrs;
  s.envid = "env%id";
  Recipient a;
  a.address = "bob@example.org";
  a.notify = kNotifySuccess | kNotifyDelay;
  a.orcpt = "rfc822;Bob@example.org";
  Recipient b;
  b.address = "x\tTO=y@z\nEOE";
  s.recipients = {a, b};
  return s;
}

std::string stream_of(const Submission& s, const std::string& message, size_t chunk = kMaxChunk) {
  auto env = format_submission(s);
  REQUIRE(env.ok());
  std::string out = *env;
  for (size_t off = 0; off < message.size(); off += chunk) out += format_chunk(message.substr(off, chunk));
  return out + format_submission_end(message.size());
}

// Reads from a string, at most `step` bytes a call (to cross every buffer edge).
struct StringInput {
  std::string data;
  size_t pos = 0;
  size_t step = 7;
  tern::Result<size_t> operator()(char* buf, size_t n) {
    n = std::min({n, step, data.size() - pos});
    std::memcpy(buf, data.data() + pos, n);
    pos += n;
    return n;
  }
};

struct Read {
  tern::Result<Submission> env = tern::invalid("not read");
  std::string message;
  tern::Error error;
  bool ok = false;
};

Read read_all(const std::string& data, size_t step = 7) {
  StringInput in{data, 0, step};
  SubmissionReader reader([&in](char* b, size_t n) { return in(b, n); });
  Read r;
  r.env = reader.envelope();
  if (!r.env) {
    r.error = r.env.error();
    return r;
  }
  std::string chunk;
  for (;;) {
    auto more = reader.next_chunk(&chunk);
    if (!more) {
      r.error = more.error();
      return r;
    }
    if (!*more) break;
    r.message += chunk;
  }
  r.ok = true;
  return r;
}

}  // namespace

TEST_CASE("maildrop: the submission stream carries every field and the message, hostile values included",
          "[queue]") {
  std::string message = "Subject: x\r\n\r\nline\r\n.\r\nEND 3\r\n";
  for (size_t step : {1, 7, 65536 * 3}) {
    Read r = read_all(stream_of(sample(), message), step);
    REQUIRE(r.ok);
    CHECK(r.env->sender == sample().sender);
    CHECK(r.env->ret == DsnRet::kHdrs);
    CHECK(r.env->envid == "env%id");
    REQUIRE(r.env->recipients.size() == 2);
    CHECK(r.env->recipients[0].address == "bob@example.org");
    CHECK(r.env->recipients[0].notify == (kNotifySuccess | kNotifyDelay));
    CHECK(r.env->recipients[0].orcpt == "rfc822;Bob@example.org");
    CHECK(r.env->recipients[1].address == "x\tTO=y@z\nEOE");
    CHECK(r.message == message);
  }
}

TEST_CASE("maildrop: a message larger than one chunk arrives whole, and an empty one too", "[queue]") {
  std::string big(3 * kMaxChunk + 17, 'x');
  Read r = read_all(stream_of(sample(), big), 65536);
  REQUIRE(r.ok);
  CHECK(r.message == big);
  Read empty = read_all(stream_of(sample(), ""));
  REQUIRE(empty.ok);
  CHECK(empty.message.empty());
}

TEST_CASE("maildrop: the stream refuses what the caller must not say, and a stream cut short", "[queue]") {
  const std::string head = "TERNSUBMIT 1\nSENDER a@b\nRCPT TO=c@d\n";
  struct Case {
    const char* what;
    std::string data;
  } cases[] = {
      {"wrong magic", "TERNQ 1\nSENDER a@b\nRCPT TO=c@d\nEOE\nEND 0\n"},
      {"a uid record", "TERNSUBMIT 1\nuid 0\nSENDER a@b\nRCPT TO=c@d\nEOE\nEND 0\n"},
      {"a UID record", "TERNSUBMIT 1\nUID 0\nSENDER a@b\nRCPT TO=c@d\nEOE\nEND 0\n"},
      {"a client address", head + "client_address 192.0.2.1\nEOE\nEND 0\n"},
      {"a SASL login", head + "sasl_username admin\nEOE\nEND 0\n"},
      {"an ARRIVAL record", head + "ARRIVAL 1.000000\nEOE\nEND 0\n"},
      {"an original= field", "TERNSUBMIT 1\nSENDER a@b\nRCPT TO=c@d\toriginal=x@y\nEOE\nEND 0\n"},
      {"a repeated SENDER", head + "SENDER e@f\nEOE\nEND 0\n"},
      {"no SENDER", "TERNSUBMIT 1\nRCPT TO=c@d\nEOE\nEND 0\n"},
      {"no RCPT", "TERNSUBMIT 1\nSENDER a@b\nEOE\nEND 0\n"},
      {"RCPT without TO", "TERNSUBMIT 1\nSENDER a@b\nRCPT NOTIFY=NEVER\nEOE\nEND 0\n"},
      {"bad NOTIFY", "TERNSUBMIT 1\nSENDER a@b\nRCPT TO=c@d\tNOTIFY=NEVER,SUCCESS\nEOE\nEND 0\n"},
      {"bad RET", head + "RET ALL\nEOE\nEND 0\n"},
      {"bad escape", "TERNSUBMIT 1\nSENDER a%4@b\nRCPT TO=c@d\nEOE\nEND 0\n"},
      {"no end record", head + "EOE\nDATA 3\nabc"},
      {"a short DATA record", head + "EOE\nDATA 5\nabc"},
      {"a wrong total", head + "EOE\nDATA 3\nabcEND 4\n"},
      {"a total with a leading zero", head + "EOE\nDATA 3\nabcEND 03\n"},
      {"an empty DATA record", head + "EOE\nDATA 0\nEND 0\n"},
      {"a DATA record over the chunk size", head + "EOE\nDATA 65537\n"},
      {"something after END", head + "EOE\nDATA 3\nabcEND 3\nDATA 1\nx"},
      {"the envelope cut short", "TERNSUBMIT 1\nSENDER a@b\n"},
      {"an over-long line", "TERNSUBMIT 1\nSENDER " + std::string(kMaxRecordLine, 'a') + "\n"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Read r = read_all(c.data);
    CHECK_FALSE(r.ok);
  }
}

TEST_CASE("maildrop: more than kMaxSubmissionRecipients recipients are refused", "[queue]") {
  std::string data = "TERNSUBMIT 1\nSENDER a@b\n";
  for (size_t i = 0; i <= kMaxSubmissionRecipients; ++i) data += "RCPT TO=r" + std::to_string(i) + "@x\n";
  data += "EOE\nEND 0\n";
  Read r = read_all(data, 65536);
  REQUIRE_FALSE(r.ok);
  CHECK(r.error.code == Errc::kLimit);
}

TEST_CASE("maildrop: the writer refuses an envelope the reader would refuse", "[queue]") {
  Submission s = sample();
  s.recipients.clear();
  CHECK_FALSE(format_submission(s).ok());
  s = sample();
  s.recipients[0].address.clear();
  CHECK_FALSE(format_submission(s).ok());
  s = sample();
  s.recipients[0].notify = kNotifyNever | kNotifySuccess;
  CHECK_FALSE(format_submission(s).ok());
}

TEST_CASE("maildrop: check_maildrop accepts terndrop's record set and nothing more", "[queue]") {
  const tern::WallTime t{std::chrono::seconds(1700000000)};
  Envelope good = maildrop_envelope(sample(), t, 1000, "alice");
  CHECK(check_maildrop(good, 1000).ok());
  CHECK(check_maildrop(maildrop_envelope(sample(), t, 1000, ""), 1000).ok());

  auto refused = [&](Envelope e, uid_t owner, const std::string& reason) {
    auto st = check_maildrop(e, owner);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error().text, Catch::Contains(reason));
  };
  refused(good, 1001, "not the file's owner");
  Envelope e = good;
  e.attributes.erase(std::string(attr::kUid));
  refused(e, 1000, "no uid record");
  e = good;
  e.attributes[std::string(attr::kUid)] = "01000";
  refused(e, 1000, "bad uid");
  for (auto name : {attr::kClientAddress, attr::kClientName, attr::kHeloName, attr::kSaslUsername,
                    attr::kSaslMethod, attr::kProtocol}) {
    e = good;
    e.attributes[std::string(name)] = "x";
    refused(e, 1000, "trusted attribute " + std::string(name));
  }
  e = good;
  e.attributes["whatever"] = "x";
  refused(e, 1000, "unexpected record whatever");
  e = good;
  e.body = BodyType::k8BitMime;
  refused(e, 1000, "BODY");
  e = good;
  e.recipients[0].original = "postmaster@x";
  refused(e, 1000, "original=");
  e = good;
  e.recipients[0].status = RcptStatus::kDelivered;
  refused(e, 1000, "not pending");
}

TEST_CASE("maildrop: a maildrop file written by the queue file writer reads back and passes the check",
          "[queue]") {
  const tern::WallTime t{std::chrono::seconds(1700000000)};
  Envelope env = maildrop_envelope(sample(), t, 1000, "alice");
  auto text = format_envelope(env);
  REQUIRE(text.ok());
  std::string image = *text + "msg\r\n" + "END 5\n";
  auto parsed = parse_qfile(image);
  REQUIRE(parsed.ok());
  CHECK(check_maildrop(*parsed, 1000).ok());
  CHECK(parsed->sender == env.sender);
  CHECK(*parsed->attribute(attr::kLogin) == "alice");
}
