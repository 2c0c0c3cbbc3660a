// The IPC line codec (common/ipc/escape.h). Invariants, each abort()ing:
//   - a Line that parsed formats to text that parses back to the same Line,
//     and formatting that again gives the same text;
//   - the same for Version;
//   - unescape(escape(s)) == s for any bytes s, and an escaped string holds
//     no tab, CR or LF;
//   - a string that unescapes re-escapes to text that unescapes to it again.

#include <string>

#include "common/ipc/escape.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;

namespace {

void line_round_trip(std::string_view text) {
  auto line = tern::ipc::Line::parse(text);
  if (!line) return;
  const std::string formatted = line->format();
  auto again = tern::ipc::Line::parse(formatted);
  if (!again) fail("Line::format() output does not parse");
  if (again->command != line->command || again->fields != line->fields) fail("Line round trip changed the line");
  if (again->format() != formatted) fail("Line::format() is not stable");
}

void version_round_trip(std::string_view text) {
  auto v = tern::ipc::Version::parse(text);
  if (!v) return;
  const std::string formatted = v->format();
  auto again = tern::ipc::Version::parse(formatted);
  if (!again) fail("Version::format() output does not parse");
  if (again->proto != v->proto || again->major != v->major || again->minor != v->minor)
    fail("Version round trip changed the version");
  (void)tern::ipc::check_version(*v, "fuzz", 1);
}

void escape_round_trip(std::string_view s) {
  const std::string escaped = tern::ipc::escape(s);
  if (escaped.find_first_of("\t\r\n") != std::string::npos) fail("escape() left a tab, CR or LF");
  auto back = tern::ipc::unescape(escaped);
  if (!back || *back != s) fail("unescape(escape(s)) != s");

  auto decoded = tern::ipc::unescape(s);
  if (!decoded) return;
  auto twice = tern::ipc::unescape(tern::ipc::escape(*decoded));
  if (!twice || *twice != *decoded) fail("unescape(escape(unescape(s))) != unescape(s)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  line_round_trip(text);
  // A small field limit exercises the kLimit path.
  (void)tern::ipc::Line::parse(text, 2);
  version_round_trip(text);
  escape_round_trip(text);
  return 0;
}
