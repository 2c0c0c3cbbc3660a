#pragma once
// The line structure main.cf and master.cf share, as Postfix's readllines()
// defines it: a logical line starts with non-white-space text; a line that
// starts with white space continues it (the parts are joined with one space);
// blank lines and lines whose first non-white-space character is "#" are
// skipped and do not end a logical line. "#" elsewhere is ordinary text.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::config {

struct LogicalLine {
  std::string text;  // trimmed at both ends, continuations joined with one space
  int line = 0;      // physical line (1-based) where it starts
};

// Errors: "file:line: continuation line before any setting".
Result<std::vector<LogicalLine>> read_logical_lines(std::string_view text, const std::string& filename);

// One physical line and how the rules above classify it (edit_main_cf keeps
// the lines it does not touch byte for byte).
enum class LineKind { kBlankOrComment, kStart, kContinuation };
LineKind classify_line(std::string_view line);
// Splits on "\n", keeping each line without its "\n" (a trailing "\r" stays).
std::vector<std::string_view> physical_lines(std::string_view text);

}  // namespace tern::config
