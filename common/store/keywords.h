#pragma once
// The keyword names of one Maildir folder: which IMAP keyword (RFC 3501
// 2.3.2, "flag-keyword") each flag letter a..z of the file names stands for
// (flags.h). The file is Dovecot's, so a Maildir moved between Dovecot and
// Tern keeps its keywords.
//
// File <folder>/dovecot-keywords, text, one line per keyword:
//   <index> SP <name> LF
// index: decimal 0..25 (letter 'a' + index); name: an IMAP atom without "\"
// (valid_keyword(), uidlist.h), at most kMaxKeywordLength bytes. Indexes need
// not be contiguous nor sorted; Tern writes them sorted.
//
// Writing: only ever replaced whole (write tmp, fsync, rename, fsync the
// folder: common/base/durable.h), under the folder lock (lock_folder(),
// uidlist.h), which is also the lock Dovecot's documentation asks writers
// of this file to hold (it takes dovecot-uidlist.lock; Tern never shares a
// folder with a running Dovecot, only the files). A new keyword takes the
// lowest free index. The file is written before any file name uses the new
// letter, so a letter on disk always has its name durable first.
//
// Reading is for a hostile file: at most kMaxKeywordsFile bytes are read
// (complete lines only when the file is longer); a line that is not
// "<index> <name>" with a valid, in-range index and a valid name is
// skipped. When a damaged line still names an index in range, when two
// lines name one index, or two indexes one keyword (names compare
// case-insensitively: "$junk" is "$Junk"), those indexes are reserved: files may carry its letter, so
// it is never handed to a new keyword, and the line is written back as it
// was when the file is replaced (so the reservation lasts as long as the
// damage). A missing file means no keywords.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <time.h>
#include <vector>

#include "common/base/result.h"
#include "common/store/flags.h"
#include "common/store/uidlist.h"

namespace tern::store {

inline constexpr std::string_view kKeywordsName = "dovecot-keywords";
// 26 lines of "25 " + 64 bytes + LF are under 2 KiB; leave room for
// comments or longer names other writers may have left.
inline constexpr size_t kMaxKeywordsFile = 16 * 1024;

struct KeywordTable {
  std::array<std::string, kMaxKeywordLetters> names;  // "" = free
  uint32_t reserved = 0;  // bit i: a damaged line names index i
  std::vector<std::string> kept;  // those lines, verbatim, without LF

  // The index of a keyword (case-insensitive, RFC 3501 2.3.2).
  std::optional<size_t> find(std::string_view name) const;
  // Bits of the indexes that have a name.
  uint32_t known() const;
  // The lowest index neither named nor reserved.
  std::optional<size_t> free_index() const;
  bool operator==(const KeywordTable&) const = default;
};

// Never fails: what cannot be read is skipped (see above). `complete` is
// false when `text` is a prefix cut at the size bound: a last line without
// LF is then ignored.
KeywordTable parse_keywords(std::string_view text, bool complete = true);
// The file for a table: named indexes in order, then the kept lines.
std::string format_keywords(const KeywordTable& table);

// One folder's keywords as one process sees it. Not thread-safe: one shared
// object per folder per process. Blocking file I/O: the worker pool.
class Keywords {
 public:
  explicit Keywords(std::string folder_dir);

  // Reads the file again when it was replaced (inode, size, mtime).
  Status load();
  const KeywordTable& table() const { return table_; }
  std::optional<size_t> find(std::string_view name) const { return table_.find(name); }
  // The names of the letters in `mask` that have one, in index order.
  std::vector<std::string> names(uint32_t mask) const;

  // The index of `name`, adding it when new, under the folder lock the
  // caller holds. Errc::kInvalid for a name that is not a keyword,
  // Errc::kLimit when all 26 letters are taken.
  Result<size_t> add(std::string_view name, const FolderLock& lock);

 private:
  std::string path_;
  KeywordTable table_;
  bool present_ = false;
  ino_t ino_ = 0;
  off_t size_ = 0;
  struct timespec mtime_ = {};
};

}  // namespace tern::store
