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
  bool fatal = false;
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
        case EventKind::kError:
          events.push_back("E " + ev.error.tag + " " + ev.error.text + (ev.error.fatal ? " (fatal)" : ""));
          break;
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
  CHECK(run(std::string("a1 X a\0b\r\na2 NOOP\r\n", 19)) == Events{"E a1 NUL in command", "C a2 NOOP"});
}

namespace {

// A pipelined session: every kind of value, literals of both kinds, errors,
// blank lines and bare LFs.
const std::string kPipeline =
    "a1 LOGIN {3}\r\njoe {6+}\r\nsecret\r\n"
    "a2 SELECT \"Sent \\\"Items\\\"\"\r\n"
    "\r\n"
    "a3 UID FETCH 1:*,5 (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\n"
    "a4 BAD\"x\r\n"
    "a5 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello\r\n"
    "a6 X ((a) {2+}\r\nxy (NIL \"\"))\r\n"
    "a7 NOOP\r\n";

const Events kPipelineEvents = {
    "L 3 d0",
    "L 6+ d0",
    "C a1 LOGIN {3}joe {6}secret",
    "C a2 SELECT \"Sent \"Items\"\"",
    "C a3 UID FETCH 1:*,5 (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)",
    "E a4 Invalid command name",
    "L 5 d0",
    "C a5 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}hello",
    "L 2+ d1",
    "C a6 X ((a) {2}xy (N:NIL \"\"))",
    "C a7 NOOP",
};

}  // namespace

TEST_CASE("command_reader: a pipeline gives the same events however it is split") {
  CHECK(run(kPipeline) == kPipelineEvents);
  for (size_t i = 0; i <= kPipeline.size(); ++i) {
    Driver d;
    d.feed(std::string_view(kPipeline).substr(0, i));
    d.feed(std::string_view(kPipeline).substr(i));
    INFO("split at " << i);
    CHECK(d.events == kPipelineEvents);
  }
  Driver bytewise;
  for (char c : kPipeline) bytewise.feed(std::string_view(&c, 1));
  CHECK(bytewise.events == kPipelineEvents);
}

TEST_CASE("command_reader: 1000 pipelined commands in one read") {
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "t" + std::to_string(i) + " NOOP\r\n";
  Events events = run(input);
  REQUIRE(events.size() == 1000);
  CHECK(events.front() == "C t0 NOOP");
  CHECK(events.back() == "C t999 NOOP");
}

TEST_CASE("command_reader: the command length limit, with the tag in the BAD when it was read") {
  ReaderLimits limits;
  limits.max_command = 16;
  CHECK(run("a1 X 01234567890\r\n", limits) == Events{"C a1 X 01234567890"});  // 16 bytes
  CHECK(run("a1 X 012345678901\r\na2 NOOP\r\n", limits) == Events{"E a1 Command line too long", "C a2 NOOP"});
  // Without a line end yet: refused as soon as it is too long, the rest of
  // the line skipped when it comes.
  Driver d(limits);
  d.feed("a1 X 0123456789012345");
  CHECK(d.events == Events{"E a1 Command line too long"});
  d.feed(std::string(100000, 'x'));
  d.feed("\r\na2 NOOP\r\n");
  CHECK(d.events == Events{"E a1 Command line too long", "C a2 NOOP"});
  // No tag to be seen: "*".
  CHECK(run(std::string(40, 'x') + "\r\n", limits) == Events{"E * Command line too long"});
  // Lines and in-memory literals count together.
  CHECK(run("a1 X {8}\r\n01234567 ab\r\n", limits) == Events{"L 8 d0", "E a1 Command line too long"});
  CHECK(run("a1 X {6}\r\n012345 a\r\n", limits) == Events{"L 6 d0", "C a1 X {6}012345 a"});
}

TEST_CASE("command_reader: an over-long line ending in {n+} takes its literal along") {
  ReaderLimits limits;
  limits.max_command = 16;
  CHECK(run("a1 APPEND INBOX (\\Seen) {5+}\r\na2 NO\r\na3 NOOP\r\n", limits) ==
        Events{"E a1 Command line too long", "C a3 NOOP"});
  // A synchronizing one is never sent: the client got a BAD, not "+".
  CHECK(run("a1 APPEND INBOX (\\Seen) {5}\r\na3 NOOP\r\n", limits) ==
        Events{"E a1 Command line too long", "C a3 NOOP"});
}

TEST_CASE("command_reader: a syntax error before a {n+} skips the literal and the rest of the command") {
  CHECK(run("a1 X \"bad\\q\" {10+}\r\na9 NOOP\r\n {3+}\r\nabc)\r\na2 NOOP\r\n") ==
        Events{"E a1 Invalid escape in quoted string", "C a2 NOOP"});
}

TEST_CASE("command_reader: nesting depth and value count limits") {
  ReaderLimits limits;
  limits.max_depth = 3;
  CHECK(run("a X (((a)))\r\n", limits) == Events{"C a X (((a)))"});
  CHECK(run("a X ((((a))))\r\nb NOOP\r\n", limits) == Events{"E a Too deep parenthesis nesting", "C b NOOP"});
  ReaderLimits values;
  values.max_values = 4;
  CHECK(run("a X (a b) c\r\n", values) == Events{"C a X (a b) c"});
  CHECK(run("a X (a b) c d\r\nb NOOP\r\n", values) == Events{"E a Too many arguments", "C b NOOP"});
  // 10,000 nested parentheses with the default limits: refused, no recursion.
  CHECK(run("a X " + std::string(10000, '(') + "\r\n") == Events{"E a Too deep parenthesis nesting"});
}

TEST_CASE("command_reader: a streamed literal goes to the sink, split across reads") {
  std::string message(100000, 'm');
  message[0] = '\0';  // the reader does not look at literal octets
  std::string input = "a1 APPEND INBOX {100000}\r\n" + message + "\r\na2 NOOP\r\n";
  for (size_t chunk : {size_t(1), size_t(7), size_t(4096), input.size()}) {
    Driver d({}, Policy::kStream);
    for (size_t i = 0; i < input.size(); i += chunk) d.feed(std::string_view(input).substr(i, chunk));
    INFO("chunk " << chunk);
    CHECK(d.events == Events{"L 100000 d0", "C a1 APPEND INBOX {100000}~", "C a2 NOOP"});
    CHECK(d.sink.data == message);
  }
}

TEST_CASE("command_reader: literals over max_literal are refused without reading them") {
  ReaderLimits limits;
  limits.max_literal = 10;
  // Synchronizing: refused before "+", the client sends nothing more.
  CHECK(run("a1 APPEND INBOX {11}\r\na2 NOOP\r\n", limits, Policy::kStream) ==
        Events{"L 11 d0", "E a1 Literal too big", "C a2 NOOP"});
  // Non-synchronizing: the octets come anyway and are skipped, then the
  // rest of the command (RFC 7888).
  CHECK(run("a1 APPEND INBOX {11+}\r\na9 NOOP\r\n12 (x)\r\na2 NOOP\r\n", limits, Policy::kStream) ==
        Events{"L 11+ d0", "E a1 Literal too big", "C a2 NOOP"});
  CHECK(run("a1 APPEND INBOX {10+}\r\n0123456789\r\n", limits, Policy::kStream) ==
        Events{"L 10+ d0", "C a1 APPEND INBOX {10}~"});
  // A 19-digit size is announced like any other; 20 digits are a BAD.
  CHECK(run("a1 X {9999999999999999999}\r\na2 NOOP\r\n", limits, Policy::kStream) ==
        Events{"L 9999999999999999999 d0", "E a1 Literal too big", "C a2 NOOP"});
  CHECK(run("a1 X {99999999999999999999}\r\na2 NOOP\r\n") == Events{"E a1 Invalid literal size", "C a2 NOOP"});
}

TEST_CASE("command_reader: the session refuses a literal itself") {
  CHECK(run("a1 LOGIN {3}\r\na2 NOOP\r\n", {}, Policy::kRefuse) == Events{"L 3 d0", "C a2 NOOP"});
  CHECK(run("a1 LOGIN {3+}\r\nabc {4+}\r\ndefg\r\na2 NOOP\r\n", {}, Policy::kRefuse) ==
        Events{"L 3+ d0", "C a2 NOOP"});
}

TEST_CASE("command_reader: literal announcements and their syntax") {
  CHECK(run("a X {3} x\r\nb NOOP\r\n") == Events{"E a Invalid literal", "C b NOOP"});
  CHECK(run("a X {}\r\n") == Events{"E a Invalid literal size"});
  CHECK(run("a X {+}\r\n") == Events{"E a Invalid literal size"});
  CHECK(run("a X {-1}\r\n") == Events{"E a Invalid literal size"});
  CHECK(run("a X ~{3}\r\n") == Events{"E a literal8 needs BINARY, which is not supported"});
  CHECK(run("a X x{3}\r\n") == Events{"E a Invalid character in atom"});
  CHECK(run("a {3}\r\n") == Events{"E a Missing command"});
  // A literal right after another value needs its space.
  CHECK(run("a X \"a\"{3}\r\n") == Events{"E a Missing space after quoted string"});
  // The literal's line end is required before the literal's octets:
  // "{3}abc" on one line is not a literal.
  CHECK(run("a X {3}abc\r\n") == Events{"E a Invalid literal"});
}

TEST_CASE("command_reader: quoted strings, escapes, 8-bit and control characters") {
  CHECK(run("a X \"\" \"a b\" \"\\\\\" \"\\\"\"\r\n") == Events{"C a X \"\" \"a b\" \"\\\" \"\"\""});
  CHECK(run("a X \"\\a\"\r\n") == Events{"E a Invalid escape in quoted string"});
  CHECK(run("a X \"a\r\r\n") == Events{"E a CR in quoted string"});
  CHECK(run("a X \"a\"b\r\n") == Events{"E a Missing space after quoted string"});
  CHECK(run("a X \"a\\\r\n") == Events{"E a Invalid escape in quoted string"});
  CommandReader utf8;
  utf8.set_utf8(true);
  utf8.feed("a X \"caf\xc3\xa9\"\r\n");
  Event ev = utf8.next();
  REQUIRE(ev.kind == EventKind::kCommand);
  CHECK(ev.command.args[0].text == "caf\xc3\xa9");
  CHECK(run("a X caf\xc3\xa9\r\n") == Events{"E a 8-bit character in atom"});
  CHECK(run("a X a\tb\r\n") == Events{"E a Control character in atom"});
  CHECK(run("a X a\rb\r\n") == Events{"E a Control character in atom"});
}

TEST_CASE("command_reader: tags, command names and UID") {
  CHECK(run("* NOOP\r\n") == Events{"E * Invalid tag"});
  CHECK(run("a+ NOOP\r\n") == Events{"E * Invalid tag"});
  CHECK(run("a(b NOOP\r\n") == Events{"E * Invalid tag"});
  CHECK(run("a] NOOP\r\n") == Events{"C a] NOOP"});
  CHECK(run(" NOOP\r\n") == Events{"E * Invalid tag"});
  CHECK(run("a  NOOP\r\n") == Events{"E a Missing command"});
  CHECK(run("a UID\r\n") == Events{"E a Missing command after UID"});
  CHECK(run("a UID \r\n") == Events{"E a Missing command"});
  CHECK(run("a uid uid x\r\n") == Events{"C a UID UID x"});
  CHECK(run("a NOOP(\r\n") == Events{"E a Invalid command name"});
  CHECK(run("a NOOP \r\n") == Events{"C a NOOP"});
  CHECK(run("a X  b\r\n") == Events{"E a Unexpected space"});
  CHECK(run("a X (a )\r\n") == Events{"C a X (a)"});
  CHECK(run("a X ( a)\r\n") == Events{"E a Unexpected space"});
  CHECK(run("a X (a)(b)\r\n") == Events{"E a Missing space between arguments"});
  CHECK(run("a X a(b\r\n") == Events{"E a Invalid character in atom"});
}

TEST_CASE("command_reader: BODY[...] sections are one atom, other brackets are atom characters") {
  CHECK(run("a FETCH 1 (BODY[HEADER.FIELDS (A \"B C\")] BINARY.PEEK[1]<0.5>)\r\n") ==
        Events{"C a FETCH 1 (BODY[HEADER.FIELDS (A \"B C\")] BINARY.PEEK[1]<0.5>)"});
  CHECK(run("a FETCH 1 BODY[HEADER.FIELDS (A)\r\n") == Events{"E a Missing ']'"});
  CHECK(run("a FETCH 1 BODY[HEADER.FIELDS {3}\r\n") == Events{"E a Literal in section not supported"});
  CHECK(run("a FETCH 1 BODY[[]]\r\n") == Events{"E a Invalid '[' in section"});
  CHECK(run("a LIST \"\" [x (y)]\r\n") == Events{"E a Missing space between arguments"});
  CHECK(run("a SELECT a[b\r\n") == Events{"C a SELECT a[b"});
}

TEST_CASE("command_reader: raw lines for IDLE and AUTHENTICATE") {
  ReaderLimits limits;
  limits.max_command = 8;
  CommandReader reader(limits);
  reader.feed("a IDLE\r\nDONE\r\nb NOOP\r\n");
  Event ev = reader.next();
  REQUIRE(ev.kind == EventKind::kCommand);
  CHECK(ev.command.name == "IDLE");
  ev = reader.next_line();
  REQUIRE(ev.kind == EventKind::kLine);
  CHECK(ev.line == "DONE");
  ev = reader.next();
  REQUIRE(ev.kind == EventKind::kCommand);
  CHECK(ev.command.tag == "b");
  CHECK(reader.next_line().kind == EventKind::kNeedMore);
  reader.feed("0123456789");
  ev = reader.next_line();
  REQUIRE(ev.kind == EventKind::kError);
  CHECK(ev.error.code == ReadErrorCode::kTooLong);
  reader.feed("{5+}\r\nok\r\n");  // a raw line never takes a literal along
  ev = reader.next_line();
  REQUIRE(ev.kind == EventKind::kLine);
  CHECK(ev.line == "ok");
  CHECK(reader.idle());
  CHECK(reader.buffered() == 0);
}

TEST_CASE("command_reader: a {n+} too large to count loses the framing: fatal, nothing more read") {
  // Its octets can neither be skipped nor read as commands (they may be
  // someone else's data the client quotes).
  CHECK(run("a1 APPEND INBOX {99999999999999999999+}\r\na2 LOGOUT\r\n") ==
        Events{"E a1 Literal size too large (fatal)"});
  ReaderLimits limits;
  limits.max_command = 16;
  CHECK(run("a1 APPEND INBOX (\\Seen) {123456789012345678901234567890+}\r\na2 LOGOUT\r\n", limits) ==
        Events{"E a1 Command line too long", "E * Literal size too large (fatal)"});
  CHECK(run("a1 X \"\\x\" {" + std::string(100, '9') + "+}\r\na2 LOGOUT\r\n") ==
        Events{"E a1 Invalid escape in quoted string", "E * Literal size too large (fatal)"});
  // A synchronizing one is only a BAD: the client waits for "+".
  CHECK(run("a1 X {99999999999999999999}\r\na2 NOOP\r\n") == Events{"E a1 Invalid literal size", "C a2 NOOP"});
}
