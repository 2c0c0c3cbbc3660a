#include "common/imap/command_reader.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace tern::imap;

namespace {

// A value as the tests spell it: atoms bare, quoted in "", literals
// {n}text (or {n}~ when streamed), NIL as N:<spelling>, lists in ().
std::string show(const Value& v) {
  switch (v.kind) {
    case ValueKind::kAtom: return v.text;
    case ValueKind::kNil: return "N:" + v.text;
    case ValueKind::kQuoted: return "\"" + v.text + "\"";
    case ValueKind::kLiteral:
      return "{" + std::to_string(v.literal_size) + "}" + (v.streamed ? std::string("~") : v.text);
    case ValueKind::kList: {
      std::string out = "(";
      for (size_t i = 0; i < v.list.size(); ++i) out += (i ? " " : "") + show(v.list[i]);
      return out + ")";
    }
  }
  return "?";
}

std::string show(const Command& c) {
  std::string out = c.tag + " " + (c.uid ? "UID " : "") + c.name;
  for (const Value& v : c.args) out += " " + show(v);
  return out;
}

struct StringSink : LiteralSink {
  std::string data;
  void write(std::string_view bytes) override { data.append(bytes); }
};

enum class Policy { kAccept, kStream, kRefuse };

// Feeds input and records every event as a line: "C <command>",
// "L <size>[+] d<depth>", "E <tag> <text>". Literals are answered per
// `policy`.
struct Driver {
  explicit Driver(ReaderLimits limits = {}, Policy policy = Policy::kAccept) : reader(limits), policy(policy) {}
  CommandReader reader;
  Policy policy;
  StringSink sink;
  std::vector<std::string> events;

  void feed(std::string_view bytes) {
    reader.feed(bytes);
    for (int guard = 0; guard < 100000; ++guard) {
      Event ev = reader.next();
      switch (ev.kind) {
        case EventKind::kNeedMore: return;
        case EventKind::kCommand: events.push_back("C " + show(ev.command)); break;
        case EventKind::kError: events.push_back("E " + ev.error.tag + " " + ev.error.text); break;
        case EventKind::kLine: events.push_back("?line"); break;
        case EventKind::kLiteral:
          events.push_back("L " + std::to_string(ev.literal.size) + (ev.literal.synchronizing ? "" : "+") + " d" +
                           std::to_string(ev.literal.depth));
          if (policy == Policy::kAccept) reader.accept_literal();
          if (policy == Policy::kStream) reader.stream_literal(&sink);
          if (policy == Policy::kRefuse) reader.refuse_literal();
          break;
      }
    }
    FAIL("reader did not stop");
  }
};

std::vector<std::string> run(std::string_view input, ReaderLimits limits = {}, Policy policy = Policy::kAccept) {
  Driver d(limits, policy);
  d.feed(input);
  return d.events;
}

using Events = std::vector<std::string>;

}  // namespace

TEST_CASE("command_reader: reads simple commands with atoms, strings, NIL and lists") {
  CHECK(run("a1 NOOP\r\n") == Events{"C a1 NOOP"});
  CHECK(run("a1 noop\r\n") == Events{"C a1 NOOP"});
  CHECK(run("a2 LOGIN \"joe\" \"s\\\"e\\\\cret\"\r\n") == Events{"C a2 LOGIN \"joe\" \"s\"e\\cret\""});
  CHECK(run("a3 uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.2048>)\r\n") ==
        Events{"C a3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.2048>)"});
  CHECK(run("a4 LIST \"\" %\r\n") == Events{"C a4 LIST \"\" %"});
  CHECK(run("a5 STATUS nil (MESSAGES)\r\n") == Events{"C a5 STATUS N:nil (MESSAGES)"});
  CHECK(run("a6 X () (()) (a (b c) d)\r\n") == Events{"C a6 X () (()) (a (b c) d)"});
  CHECK(run("a7 SELECT [Gmail]/Sent\n") == Events{"C a7 SELECT [Gmail]/Sent"});
}

TEST_CASE("command_reader: synchronizing and non-synchronizing literals") {
  CHECK(run("a LOGIN {3}\r\njoe {6+}\r\nsecret\r\n") == Events{"L 3 d0", "L 6+ d0", "C a LOGIN {3}joe {6}secret"});
  CHECK(run("a X ({2}\r\nab c)\r\n") == Events{"L 2 d1", "C a X ({2}ab c)"});
  CHECK(run("a X {0}\r\n\r\n") == Events{"L 0 d0", "C a X {0}"});
}

TEST_CASE("command_reader: syntax errors answer BAD and resynchronise at the next line") {
  CHECK(run("a1 LOGIN \"joe\r\na2 NOOP\r\n") == Events{"E a1 Unterminated quoted string", "C a2 NOOP"});
  CHECK(run("+x NOOP\r\na2 NOOP\r\n") == Events{"E * Invalid tag", "C a2 NOOP"});
  CHECK(run("a1\r\n") == Events{"E a1 Missing command"});
  CHECK(run("a1 X (a\r\n") == Events{"E a1 Missing ')'"});
  CHECK(run("a1 X a)\r\n") == Events{"E a1 Unexpected ')'"});
  CHECK(run("a1 X \"\xc3\xa9\"\r\n") == Events{"E a1 8-bit character in quoted string"});
  CHECK(run(std::string("a1 X a\0b\r\na2 NOOP\r\n", 19)) == Events{"E * NUL in command", "C a2 NOOP"});
}
