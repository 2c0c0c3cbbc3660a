#pragma once
// Lookup tables behind one interface, named "type:path" as in Postfix:
//   texthash:/path  "key value" lines read into memory at open (no build step)
//   lmdb:/path      an LMDB file /path.lmdb built by ternmap from /path
//   regexp:/path    "/pattern/flags result" lines (POSIX extended), first match wins,
//                   $1..$9 substituted in the result
//   static:VALUE    every key finds VALUE (Postfix's static: type), e.g. static:HOLD;
//                   no file, nothing to build
// Keys of texthash and lmdb tables are matched case-insensitively (folded to
// lower case at build and at lookup), as Postfix does for its maps.
// Open everything before a chroot; lookups after it need no file access
// except lmdb, which keeps its file descriptor open. Lookups are const and
// may run on several threads at once.
//
// The file formats are described for operators in ternmap(1); each backend's
// source file documents its own decisions (texthash_table.cc, lmdb_table.cc,
// regexp_table.cc, and source_parser.cc for the text formats).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::table {

// Lookup keys longer than this are refused with Errc::kInvalid: no table
// holds such a key, and it bounds the work a hostile key can cause.
inline constexpr size_t kMaxKeyLength = 4096;

// One entry of a source file for texthash/lmdb ("key value", '#' comments,
// continuation lines starting with white space).
struct Entry {
  std::string key;
  std::string value;
  int line = 0;
};

class Table {
 public:
  virtual ~Table() = default;
  // The value for key; Errc::kNotFound when absent; other errors are
  // temporary failures (a database problem), never "not found".
  // Keys longer than kMaxKeyLength are Errc::kInvalid.
  virtual Result<std::string> lookup(std::string_view key) const = 0;
  virtual const std::string& name() const = 0;  // "type:path" as opened
  // Every entry (texthash in file order, lmdb in key order), for "ternmap -s".
  // Tables that cannot be listed (regexp) return Errc::kInvalid.
  virtual Result<std::vector<Entry>> entries() const;
};

// Opens "type:path". Errors name the table and the file:line of a bad entry.
Result<std::unique_ptr<Table>> open(std::string_view spec);

// "type:path" split in two; the type is lower-cased. Does not check the type.
struct Spec {
  std::string type;
  std::string path;
};
Result<Spec> parse_spec(std::string_view spec);

// Duplicate keys keep the first entry, as Postfix does; each later one is
// reported in `warnings` ("file:line: duplicate entry ...") when given.
Result<std::vector<Entry>> parse_source(std::string_view text, const std::string& filename);
Result<std::vector<Entry>> parse_source(std::string_view text, const std::string& filename,
                                        std::vector<std::string>* warnings);
// /etc/aliases format: "name: value, value", continuation lines, comments.
// Values are stored as one string "a, b, c"; a quoted item ("|cmd a, b")
// keeps its quotes so that split_alias_list() can take it apart again.
Result<std::vector<Entry>> parse_aliases(std::string_view text, const std::string& filename);
Result<std::vector<Entry>> parse_aliases(std::string_view text, const std::string& filename,
                                         std::vector<std::string>* warnings);
// The items of an alias value: split on commas outside double quotes, trimmed,
// empty items dropped; an item that is one whole quoted string is unquoted
// ("\"|/bin/prog a, b\"" -> "|/bin/prog a, b"). Quotes inside an item, as in
// "\"john doe\"@example.com", are part of the address and kept.
std::vector<std::string> split_alias_list(std::string_view value);

// Builds a table from its source file, as "ternmap [-a] spec" and
// newaliases do: lmdb:<path> from <path> (key value lines, or the
// /etc/aliases format when aliases is set) into <path>.lmdb; texthash and
// regexp have no build step, so for them the file is parsed and what a
// daemon would refuse is reported. Warnings (duplicate keys) go to warnings.
Status build_from_source(std::string_view spec, bool aliases, std::vector<std::string>* warnings);

// Writes entries into an lmdb table at <path>.lmdb atomically (build beside,
// fsync, rename), so readers never see a half-built table.
Status build_lmdb(const std::string& path, const std::vector<Entry>& entries);
// "<path>.lmdb": the database file of lmdb:<path>.
std::string lmdb_file(const std::string& path);

}  // namespace tern::table
