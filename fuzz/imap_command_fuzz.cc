// The IMAP command reader and the argument parsers (common/imap/) fed
// hostile bytes. Invariants, each abort()ing:
//   - the events do not depend on where the input is cut: fed whole and fed
//     in pieces of 1..64 octets, the reader gives the same events (literals
//     answered by the same policy);
//   - limits hold: no command keeps more than max_command octets in memory,
//     has more than max_values values or lists nested deeper than
//     max_depth; a streamed literal is never over max_literal; between
//     events the reader buffers at most one piece plus one command line;
//   - every command has a valid tag and an upper-case name;
//   - what the parsers accept round-trips: a sequence set through its
//     spelling, a SEARCH program through to_string() and the reader again,
//     a date-time through format_date_time(), and every string value
//     through append_astring() and the reader again.
//
// Input: the first octet picks the piece size (1-64) and the literal policy
// (accept into memory when it fits, else stream when within the limit,
// else refuse; or refuse every other one); the rest is the client's stream.

#include <string>
#include <vector>

#include "common/imap/command_reader.h"
#include "common/imap/date.h"
#include "common/imap/fetch_items.h"
#include "common/imap/mailbox_name.h"
#include "common/imap/response.h"
#include "common/imap/search_key.h"
#include "common/imap/sequence_set.h"
#include "common/imap/store_args.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::imap;

namespace {

ReaderLimits small_limits() {
  ReaderLimits l;
  l.max_command = 1024;
  l.max_literal = 4096;
  l.max_depth = 8;
  l.max_values = 64;
  return l;
}

struct CountingSink : LiteralSink {
  uint64_t bytes = 0;
  void write(std::string_view b) override { bytes += b.size(); }
};

std::string show(const Value& v) {
  std::string out = std::to_string(static_cast<int>(v.kind)) + ":" + std::to_string(v.literal_size) + ":" +
                    (v.streamed ? "s" : "") + std::to_string(v.text.size()) + ":" + v.text;
  for (const Value& m : v.list) out += "(" + show(m) + ")";
  return out;
}

void measure(const Value& v, size_t depth, size_t* bytes, size_t* values, size_t* max_depth) {
  ++*values;
  if (!v.streamed) *bytes += v.text.size();
  if (depth > *max_depth) *max_depth = depth;
  for (const Value& m : v.list) measure(m, depth + 1, bytes, values, max_depth);
}

void check_command(const Command& c, const ReaderLimits& limits) {
  if (!valid_tag(c.tag)) fail("a command with an invalid tag");
  if (c.name.empty() || ascii_upper(c.name) != c.name) fail("a command name not upper-cased");
  size_t bytes = c.tag.size() + c.name.size(), values = 0, depth = 0;
  for (const Value& v : c.args) measure(v, 1, &bytes, &values, &depth);
  if (bytes > limits.max_command) fail("a command holds more than max_command");
  if (values > limits.max_values) fail("a command has more than max_values values");
  if (depth > limits.max_depth + 1) fail("lists nested deeper than max_depth");
}

// Reads `input` fed in pieces of `piece`, answering literals by `policy`;
// the events as text.
std::vector<std::string> read_all(std::string_view input, size_t piece, int policy) {
  ReaderLimits limits = small_limits();
  CommandReader reader(limits);
  CountingSink sink;
  std::vector<std::string> events;
  int literals = 0;
  for (size_t at = 0; at < input.size() || at == 0; at += piece) {
    std::string_view chunk = input.substr(std::min(at, input.size()), piece);
    reader.feed(chunk);
    for (;;) {
      Event ev = reader.next();
      if (ev.kind == EventKind::kNeedMore) break;
      if (ev.kind == EventKind::kCommand) {
        check_command(ev.command, limits);
        std::string line = "C " + ev.command.tag + " " + ev.command.name + (ev.command.uid ? " U" : "");
        for (const Value& v : ev.command.args) line += " " + show(v);
        events.push_back(std::move(line));
      } else if (ev.kind == EventKind::kError) {
        if (ev.error.text.empty()) fail("an error without a text");
        events.push_back("E " + ev.error.tag + " " + ev.error.text);
      } else if (ev.kind == EventKind::kLiteral) {
        events.push_back("L " + std::to_string(ev.literal.size));
        ++literals;
        if (policy == 1 && literals % 2 == 0) {
          reader.refuse_literal();
        } else if (ev.literal.fits_memory) {
          reader.accept_literal();
        } else if (ev.literal.within_limit) {
          reader.stream_literal(&sink);
        } else {
          reader.refuse_literal();
        }
      } else {
        fail("an unexpected event");
      }
    }
    if (reader.buffered() > piece + limits.max_command + 2) fail("the reader buffers more than a command");
  }
  if (sink.bytes > 64 * 1024) fail("streamed more than was sent");
  return events;
}

// The first command of `line` read with the default limits, literals into
// memory; nullopt when there is none.
std::optional<Command> read_one(const std::string& line) {
  CommandReader reader;
  reader.feed(line);
  for (int i = 0; i < 1000; ++i) {
    Event ev = reader.next();
    if (ev.kind == EventKind::kLiteral) {
      if (!ev.literal.fits_memory) return std::nullopt;
      reader.accept_literal();
      continue;
    }
    if (ev.kind == EventKind::kCommand) return std::move(ev.command);
    return std::nullopt;
  }
  return std::nullopt;
}

void check_parsers(std::string_view input) {
  auto command = read_one(std::string(input));
  if (!command) return;
  for (const Value& v : command->args) {
    if (v.is_atom()) {
      if (auto set = parse_sequence_set(v.text)) {
        auto again = parse_sequence_set(set->to_string());
        if (!again || !(*again == *set)) fail("a sequence set does not round-trip");
        (void)set->resolve(set->max_explicit());
      }
      (void)parse_fetch_items(v);
    }
    if (v.is_list()) {
      (void)parse_fetch_items(v);
      (void)parse_flag_list(v);
    }
    if (auto s = v.as_string()) {
      if (auto dt = parse_date_time(*s)) {
        std::string f = format_date_time(dt->time, dt->zone_minutes);
        auto back = parse_date_time(std::string_view(f).substr(1, f.size() - 2));
        if (!back || back->time != dt->time || back->zone_minutes != dt->zone_minutes)
          fail("a date-time does not round-trip");
      }
      (void)parse_date(*s);
    }
    (void)parse_mailbox(v);
    (void)parse_list_pattern(v);
    // Any string the server writes reads back as itself.
    if (auto text = v.as_astring(); text && text->find('\0') == std::string_view::npos) {
      std::string line = "t X ";
      append_astring(&line, *text);
      line += "\r\n";
      auto back = read_one(line);
      if (!back || back->args.size() != 1 || back->args[0].as_astring() != text)
        fail("a string written by append_astring does not read back");
    }
  }
  (void)parse_store_args(command->args, 1);
  SearchParse search = parse_search(command->args);
  if (search.error == SearchError::kNone) {
    std::string printed = search.program.root.to_string();
    auto back = read_one("t SEARCH " + printed + "\r\n");
    if (back) {
      SearchParse again = parse_search(back->args);
      if (again.error != SearchError::kNone || !(again.program.root == search.program.root))
        fail("a SEARCH program does not round-trip through to_string");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  if (size == 0) return 0;
  const size_t piece = 1 + (data[0] & 0x3f);
  const int policy = data[0] >> 7;
  const std::string_view input = tern::fuzz::as_text(data + 1, size - 1);
  auto whole = read_all(input, input.size() + 1, policy);
  auto pieces = read_all(input, piece, policy);
  if (whole != pieces) fail("the events depend on where the input is cut");
  check_parsers(input);
  return 0;
}
