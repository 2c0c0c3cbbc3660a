#pragma once
// Tern's line protocols (DESIGN.md): one request per line, tab-separated
// key=value fields; tab, newline, CR and '%' inside a key or value are written
// as %09, %0A, %0D and %25. A server greets with
//   VERSION<TAB><proto><TAB><major><TAB><minor>
// A client refuses a server whose major differs from its own.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.h"

namespace tern::ipc {

std::string escape(std::string_view s);
// Rejects a bad escape ("%" not followed by two hex digits).
Result<std::string> unescape(std::string_view s);

// One line: a command word then key=value fields.
struct Line {
  std::string command;
  std::vector<std::pair<std::string, std::string>> fields;

  const std::string* get(std::string_view key) const;
  Line& add(std::string key, std::string value);
  // "command\tk=v\tk=v\n" with escaping.
  std::string format() const;
  // Parses one line (without or with the trailing "\n"); max_fields bounds
  // hostile input.
  static Result<Line> parse(std::string_view text, size_t max_fields = 256);
};

struct Version {
  std::string proto;
  int major = 0;
  int minor = 0;
  std::string format() const;  // "VERSION\tproto\t1\t0\n"
  static Result<Version> parse(std::string_view text);
};

// Checks a server greeting against what the client speaks.
Status check_version(const Version& server, std::string_view proto, int major);

}  // namespace tern::ipc
