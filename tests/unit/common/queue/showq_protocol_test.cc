#include "common/queue/showq_protocol.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using namespace tern::queue;
using namespace tern::queue::showq;
using tern::Errc;

ListingEntry sample() {
  ListingEntry e;
  e.where = Queue::kHold;
  e.id = "0J2XQ3V5K7A0AB1C0";
  e.arrival_us = 1718000000123456LL;
  e.size = 1234;
  e.sender = "evil\tsender%\n@x";
  e.recipients = {{"bob@example.org", RcptStatus::kPending, "connect to x: Connection\trefused"},
                  {"c\td@e", RcptStatus::kDelivered, ""}};
  return e;
}

// Feeds a whole transcript; returns the entries, or the first error.
tern::Result<std::vector<ListingEntry>> decode(const std::string& text, bool* ended = nullptr) {
  Decoder d;
  std::vector<ListingEntry> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    auto ev = d.feed(std::string_view(text).substr(start, nl - start));
    if (!ev) return ev.take_error();
    if (*ev == Decoder::Event::kEntry) out.push_back(d.take_entry());
    if (*ev == Decoder::Event::kEnd && ended) *ended = true;
    start = nl + 1;
  }
  return out;
}

const std::string kGreeting = "VERSION\tshowq\t1\t0\n";

}  // namespace

TEST_CASE("showq_protocol: the golden transcript", "[queue][showq]") {
  CHECK(Request{}.format() == "LIST\n");
  CHECK(Request{"0J2XQ3V5K7A0AB1C0"}.format() == "LIST\tid=0J2XQ3V5K7A0AB1C0\n");
  CHECK(format_entry(sample()) ==
        "MESSAGE\tqueue=hold\tid=0J2XQ3V5K7A0AB1C0\tarrival=1718000000123456\tsize=1234\t"
        "sender=evil%09sender%25%0A@x\trcpts=2\n"
        "RCPT\taddress=bob@example.org\tstatus=pending\treason=connect to x: Connection%09refused\n"
        "RCPT\taddress=c%09d@e\tstatus=delivered\n");
  CHECK(format_end(1) == "END\tcount=1\n");
  CHECK(format_error("cannot read the queue") == "ERROR\ttext=cannot read the queue\n");
}

TEST_CASE("showq_protocol: entries round-trip, hostile bytes included", "[queue][showq]") {
  ListingEntry none = sample();
  none.recipients.clear();
  none.where = Queue::kActive;
  bool ended = false;
  auto got = decode(kGreeting + format_entry(sample()) + format_entry(none) + format_end(2), &ended);
  REQUIRE(got.ok());
  CHECK(ended);
  REQUIRE(got->size() == 2);
  CHECK((*got)[0] == sample());
  CHECK((*got)[1] == none);
}

TEST_CASE("showq_protocol: a 1.0 server's RCPT lines, without reason=, still decode", "[queue][showq]") {
  auto got = decode(kGreeting + "MESSAGE\tqueue=deferred\tid=0J2XQ3V5K7A0AB1C0\tarrival=1\tsize=2\tsender=\trcpts=1\n" +
                    "RCPT\taddress=a@b\tstatus=pending\n");
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].recipients[0] == ListingRecipient{"a@b", RcptStatus::kPending, ""});
}

TEST_CASE("showq_protocol: requests parse, and anything else is refused", "[queue][showq]") {
  auto all = Request::parse("LIST");
  REQUIRE(all.ok());
  CHECK(all->id.empty());
  auto one = Request::parse("LIST\tid=0J2XQ3V5K7A0AB1C0\n");
  REQUIRE(one.ok());
  CHECK(one->id == "0J2XQ3V5K7A0AB1C0");
  CHECK_FALSE(Request::parse("LIST\tid=../../etc/passwd").ok());
  CHECK_FALSE(Request::parse("DELETE\tid=0J2XQ3V5K7A0AB1C0").ok());
  CHECK_FALSE(Request::parse("").ok());
  auto longer = Request::parse("LIST\tx=" + std::string(2000, 'a'));
  REQUIRE_FALSE(longer.ok());
  CHECK(longer.error().code == Errc::kLimit);
}

TEST_CASE("showq_protocol: the decoder refuses what breaks the protocol", "[queue][showq]") {
  const std::string m = "MESSAGE\tqueue=hold\tid=0J2XQ3V5K7A0AB1C0\tarrival=1\tsize=2\tsender=\trcpts=";
  struct Case {
    const char* what;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"another protocol", "VERSION\tqmgr\t1\t0\n"},
      {"a newer major version", "VERSION\tshowq\t2\t0\n"},
      {"no greeting", "END\tcount=0\n"},
      {"an RCPT without a MESSAGE", kGreeting + "RCPT\taddress=a\tstatus=pending\n"},
      {"fewer RCPT lines than announced", kGreeting + m + "2\nRCPT\taddress=a\tstatus=pending\nEND\tcount=1\n"},
      {"a bad status", kGreeting + m + "1\nRCPT\taddress=a\tstatus=gone\n"},
      {"a negative size", kGreeting + "MESSAGE\tqueue=hold\tid=0J2XQ3V5K7A0AB1C0\tarrival=1\tsize=-2\tsender=\trcpts=0\n"},
      {"an unknown queue", kGreeting + "MESSAGE\tqueue=nowhere\tid=0J2XQ3V5K7A0AB1C0\tarrival=1\tsize=2\tsender=\trcpts=0\n"},
      {"a bad ID", kGreeting + "MESSAGE\tqueue=hold\tid=x\tarrival=1\tsize=2\tsender=\trcpts=0\n"},
      {"too many recipients", kGreeting + m + "100001\n"},
      {"a missing field", kGreeting + "MESSAGE\tqueue=hold\tid=0J2XQ3V5K7A0AB1C0\tsize=2\tsender=\trcpts=0\n"},
      {"data after END", kGreeting + "END\tcount=0\nEND\tcount=0\n"},
      {"an over-long line", kGreeting + std::string(kMaxReplyLine + 1, 'a') + "\n"},
      {"the server's error", kGreeting + "ERROR\ttext=cannot read the queue\n"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK_FALSE(decode(c.text).ok());
  }
  auto err = decode(kGreeting + "ERROR\ttext=cannot read the queue\n");
  CHECK(err.error().code == Errc::kTemporary);
  CHECK(err.error().text == "cannot read the queue");
  // Unknown fields are ignored (a later minor version may add some).
  auto extra = decode(kGreeting + m + "0\tnew=1\nEND\tcount=1\textra=2\n");
  REQUIRE(extra.ok());
  CHECK(extra->size() == 1);
}
