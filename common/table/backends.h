#pragma once
// Internal to common/table: the pieces the backends share, and one opener
// per table type. Code outside common/table uses table.h only.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/logical_lines.h"
#include "common/base/result.h"
#include "common/table/table.h"

namespace tern::table::detail {

// Errc::kInvalid for a key no table can hold: longer than kMaxKeyLength, or
// with a NUL byte (source files may not contain one, see read_logical_lines).
Status check_key(std::string_view key);

// invalid("file:line: reason"), the shape every parse error takes.
Error at_line(const std::string& filename, int line, std::string_view reason);

// Every source format is read as logical lines (common/base/logical_lines.h).
using tern::LogicalLine;
inline Result<std::vector<LogicalLine>> logical_lines(std::string_view text, const std::string& filename) {
  return read_logical_lines(text, filename, "entry");
}

// Keeps the first entry of each key; later ones go to warnings (if given).
std::vector<Entry> drop_duplicates(std::vector<Entry> entries, const std::string& filename,
                                   std::vector<std::string>* warnings);

Result<std::unique_ptr<Table>> open_texthash(const std::string& name, const std::string& path);
Result<std::unique_ptr<Table>> open_lmdb(const std::string& name, const std::string& path);
Result<std::unique_ptr<Table>> open_regexp(const std::string& name, const std::string& path);
Result<std::unique_ptr<Table>> open_static(const std::string& name, const std::string& value);

}  // namespace tern::table::detail
