#pragma once
// The line structure every Tern text file shares (main.cf, master.cf, lookup
// table sources, aliases, regexp tables), as Postfix's readllines()
// defines it: a logical line starts with non-white-space text; a line that
// starts with white space continues it (the parts are joined with one space);
// blank lines and lines whose first non-white-space character is "#" are
// skipped and do not end a logical line. "#" elsewhere is ordinary text.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern {

struct LogicalLine {
  std::string text;  // trimmed at both ends, continuations joined with one space
  int line = 0;      // physical line (1-based) where it starts
};

// A CR before the LF is dropped. Errors: "file:line: NUL byte in line" (a NUL
// would silently cut a key short in the C libraries) and "file:line:
// continuation line before any <noun>: \"text\"".
Result<std::vector<LogicalLine>> read_logical_lines(std::string_view text, const std::string& filename,
                                                   std::string_view noun = "setting");

// One physical line and how the rules above classify it (edit_main_cf keeps
// the lines it does not touch byte for byte).
enum class LineKind { kBlankOrComment, kStart, kContinuation };
LineKind classify_line(std::string_view line);
// Splits on "\n", keeping each line without its "\n" (a trailing "\r" stays).
std::vector<std::string_view> physical_lines(std::string_view text);

}  // namespace tern
