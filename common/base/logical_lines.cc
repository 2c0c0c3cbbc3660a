#include "common/base/logical_lines.h"

#include "common/base/strings.h"

namespace tern {

std::vector<std::string_view> physical_lines(std::string_view text) {
  std::vector<std::string_view> out = split(text, '\n');
  // "a\n" is one line, not one line and an empty one.
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

LineKind classify_line(std::string_view line) {
  std::string_view t = trim(line);
  if (t.empty() || t.front() == '#') return LineKind::kBlankOrComment;
  return (line.front() == ' ' || line.front() == '\t') ? LineKind::kContinuation : LineKind::kStart;
}

Result<std::vector<LogicalLine>> read_logical_lines(std::string_view text, const std::string& filename,
                                                   std::string_view noun) {
  std::vector<LogicalLine> out;
  int number = 0;
  for (std::string_view line : physical_lines(text)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos) return invalid(strf("%s:%d: NUL byte in line", filename.c_str(), number));
    switch (classify_line(line)) {
      case LineKind::kBlankOrComment:
        break;
      case LineKind::kStart:
        out.push_back({std::string(trim(line)), number});
        break;
      case LineKind::kContinuation:
        if (out.empty())
          return invalid(strf("%s:%d: continuation line before any %.*s: \"%s\"", filename.c_str(), number,
                              static_cast<int>(noun.size()), noun.data(), std::string(trim(line)).c_str()));
        out.back().text += ' ';
        out.back().text += trim(line);
        break;
    }
  }
  return out;
}

}  // namespace tern
