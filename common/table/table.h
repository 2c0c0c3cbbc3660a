#pragma once
// Lookup tables behind one interface, named "type:path" as in Postfix:
//   texthash:/path  "key value" lines read into memory at open (no build step)
//   lmdb:/path      an LMDB file /path.lmdb built by ternmap from /path
//   regexp:/path    "/pattern/flags result" lines (POSIX extended), first match wins,
//                   $1..$9 substituted in the result
// Keys of texthash and lmdb tables are matched case-insensitively (folded to
// lower case at build and at lookup), as Postfix does for its maps.
// Open everything before a chroot; lookups after it need no file access
// except lmdb, which keeps its file descriptor open.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::table {

class Table {
 public:
  virtual ~Table() = default;
  // The value for key; Errc::kNotFound when absent; other errors are
  // temporary failures (a database problem), never "not found".
  virtual Result<std::string> lookup(std::string_view key) const = 0;
  virtual const std::string& name() const = 0;  // "type:path" as opened
};

// Opens "type:path". Errors name the table and the file:line of a bad entry.
Result<std::unique_ptr<Table>> open(std::string_view spec);

// One entry of a source file for texthash/lmdb ("key value", '#' comments,
// continuation lines starting with white space).
struct Entry {
  std::string key;
  std::string value;
  int line = 0;
};
Result<std::vector<Entry>> parse_source(std::string_view text, const std::string& filename);
// /etc/aliases format: "name: value, value", continuation lines, comments.
Result<std::vector<Entry>> parse_aliases(std::string_view text, const std::string& filename);
// Writes entries into an lmdb table at <path>.lmdb atomically (build beside,
// fsync, rename), so readers never see a half-built table.
Status build_lmdb(const std::string& path, const std::vector<Entry>& entries);

}  // namespace tern::table
