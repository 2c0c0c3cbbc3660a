#pragma once
// The per-folder index/cache of DESIGN.md ("Mail store"): per message its
// MODSEQ (RFC 7162), sizes, INTERNALDATE, where its file was last seen, and
// cached ENVELOPE / BODYSTRUCTURE / BODY / header text / SEARCH's decoded
// header fields that imapd computes once. Disposable: anything wrong with it (another version, another
// UIDVALIDITY, a bad checksum, a truncated file, garbage, a record out of
// line) makes readers treat it as absent and rebuild it (folder.h); the
// authoritative data is the message files, the UID list (uidlist.h) and the
// keyword names (keywords.h).
//
// File <folder>/tern-index, binary, integers little-endian:
//
//   header, 48 bytes:
//     0  magic        8 bytes "TERNIDX\0"
//     8  version      u32, 1
//     12 header size  u32, 48
//     16 uidvalidity  u32  of the UID list the index belongs to
//     20 count        u32  message records in the snapshot
//     24 covered      u64  MODSEQ the snapshot covers (see below)
//     32 length       u64  bytes of the snapshot records
//     40 crc          u32  zlib crc32 of the snapshot records
//     44 header crc   u32  zlib crc32 of bytes 0..43
//   snapshot: `count` message records (kind 1) in strictly growing UID order
//   frames, appended after the snapshot, each:
//     u32 payload length (at most kMaxIndexFrame), u32 crc32 of the payload,
//     payload: u64 covered, u32 record count, then the records
//   records, each starting with a u8 kind:
//     1 message  u32 uid, u64 modseq, i64 internaldate (Unix seconds, or kDateUnknown),
//                u64 size (bytes on disk), u64 rfc822 size (CRLF), u8 place
//                (bit 0: in cur/, bit 1: the name has ":2,"), str base,
//                str info (after ":2,"), u8 cached-field mask, then one str
//                per set bit (CacheField order)          — adds or replaces
//     2 flags    u32 uid, u64 modseq, u8 place, str info — the file renamed
//     3 cache    u32 uid, u8 field, str value           — one cached field
//     4 expunge  u32 uid                                — the message is gone
//     5 scan     i64 new/ mtime seconds, u32 nanoseconds, u64 new/ inode,
//                i64 cur/ mtime seconds, u32 nanoseconds, u64 cur/ inode,
//                u64 UID list bytes                    — see "Scan stamp"
//   str: u32 length + bytes; a base or info at most kMaxFileName bytes, a
//   cached value at most kMaxCacheValue.
// A snapshot written when the state has a scan stamp is followed by one
// frame holding just that scan record (the snapshot holds messages only).
// A frame may only name UIDs that exist at that point (message records
// excepted), modseqs at most its covered value, and covered never goes
// down. A frame whose length runs past the end or whose crc is wrong is a
// torn append: it and everything after it are ignored, and the next writer
// cuts them off. A frame with a good crc but bad content is garbage: the
// whole index is.
//
// Why snapshot + appended frames: flag changes are the frequent write and a
// frame for one is a few dozen bytes, where rewriting the file would cost
// the whole folder's records (and their cached envelopes) per STORE.
// Appends happen under the folder lock (lock_folder(), uidlist.h), so a
// torn tail is cut before anyone appends after it. When the frames outgrow
// the snapshot the file is rewritten whole (tmp + rename) with a new
// snapshot.
//
// Why no fsync: the index is disposable and every loss is detected.
// "covered" = C says every MODSEQ change of a message already in the index
// up to C is in it. MODSEQ values come only from the UID list, durably,
// before they are used: one per new message (its "A" record) and one per
// change batch (an "M" record raising by one, UidList::next_modseq). So the
// values in (C, HIGHESTMODSEQ] must be exactly the A records of messages the
// index does not have yet; anything else is a change whose index append was
// lost, and the folder is rebuilt with a MODSEQ above every old value. A
// rename whose append was lost shows as a file whose name differs from the
// recorded one, which counts as a change too.
//
// Scan stamp (record kind 5): "a scan of new/ and cur/, started after the
// directories had these mtimes and inodes, found exactly the files this
// index records, and the UID list was this many bytes". Folder::sync()
// (folder.h) skips its directory scans while the directories, the UID list
// and the stamp still say so. A message, flags or expunge record clears the
// stamp (cache records do not: they say nothing about files), so a stamp
// always describes the state right after it.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "common/base/fd.h"
#include "common/base/result.h"
#include "common/store/uidlist.h"

namespace tern::store {

inline constexpr std::string_view kIndexName = "tern-index";
inline constexpr uint32_t kIndexVersion = 1;
inline constexpr size_t kIndexHeaderSize = 48;
inline constexpr size_t kMaxIndexBytes = size_t{1} << 31;
inline constexpr size_t kMaxIndexFrame = size_t{64} << 20;
inline constexpr size_t kMaxCacheValue = size_t{1} << 20;

enum class CacheField : uint8_t {
  kEnvelope = 0,       // FETCH ENVELOPE
  kBodyStructure = 1,  // FETCH BODYSTRUCTURE
  kBody = 2,           // FETCH BODY (non-extensible BODYSTRUCTURE)
  kHeader = 3,         // the header text (BODY[HEADER])
  kSearch = 4,         // SEARCH's header fields, decoded (imap/search_eval.h)
};
inline constexpr size_t kCacheFields = 5;

// IndexEntry::internaldate when the file was not stat()ed (Folder::describe
// takes sizes from ,S=/,W= without a stat; Folder::internaldate() asks).
inline constexpr int64_t kDateUnknown = INT64_MIN;

struct IndexEntry {
  uint32_t uid = 0;
  uint64_t modseq = 0;
  int64_t internaldate = 0;  // or kDateUnknown
  uint64_t size = 0;
  uint64_t rfc822_size = 0;
  bool in_cur = false;
  bool has_info = false;
  std::string base;
  std::string info;
  std::array<std::string, kCacheFields> cache;
  uint8_t cached = 0;  // bit i: cache[i] is set (an empty value can be cached)

  // The file relative to the folder: "new/<base>" or "cur/<base>:2,<info>".
  std::string file() const;
  bool operator==(const IndexEntry&) const = default;
};

// The directories of a folder as stat(2) saw them, and the UID list's
// length: what a scan stamp records.
struct ScanStamp {
  int64_t new_sec = 0;
  uint32_t new_nsec = 0;
  uint64_t new_ino = 0;
  int64_t cur_sec = 0;
  uint32_t cur_nsec = 0;
  uint64_t cur_ino = 0;
  uint64_t uidlist_bytes = 0;
  bool operator==(const ScanStamp&) const = default;
};

struct IndexState {
  uint32_t uidvalidity = 0;
  uint64_t covered = 0;
  std::map<uint32_t, IndexEntry> entries;
  std::optional<ScanStamp> scan;  // the last scan stamp, when still true
  bool operator==(const IndexState&) const = default;
};

// Parses a whole file. Returns the bytes of the good part (header,
// snapshot, whole frames with a good crc); Errc::kCorrupt for anything that
// makes the index absent (see above), with `state` then to be discarded.
Result<size_t> parse_index(std::string_view file, IndexState& state);
// Parses frames appended after what parse_index() consumed; the same return.
Result<size_t> parse_index_frames(std::string_view frames, IndexState& state);
// A whole file for a state (header + snapshot, no frames).
std::string format_index(const IndexState& state);

// Builds the records of one frame.
class IndexFrame {
 public:
  void message(const IndexEntry& e);
  void flags(uint32_t uid, uint64_t modseq, bool in_cur, bool has_info, std::string_view info);
  void cache(uint32_t uid, CacheField field, std::string_view value);
  void expunge(uint32_t uid);
  // Put last in a frame: records after it would clear it again.
  void scan(const ScanStamp& stamp);
  bool empty() const { return count_ == 0; }
  // The framed bytes, ready to append.
  std::string finish(uint64_t covered) const;

 private:
  std::string records_;
  uint32_t count_ = 0;
};

// One folder's index as one process sees it. Not thread-safe.
class Index {
 public:
  explicit Index(std::string folder_dir);

  // Reads what changed since the last call: the whole file when it was
  // replaced, else the frames appended since. Afterwards valid() says
  // whether there is a usable index (false: absent or damaged; rebuild).
  Status refresh();
  bool valid() const { return valid_; }
  const IndexState& state() const { return state_; }
  // Changes whenever state() may have (read, appended, replaced, lost).
  uint64_t generation() const { return generation_; }

  // Under the folder lock, after refresh(): appends a frame (cutting a
  // torn tail first) and applies it to state(); Errc::kInvalid when there
  // is no valid index to append to. Rewrites the file whole instead when
  // the frames have outgrown the snapshot.
  Status append(const IndexFrame& frame, uint64_t covered, const FolderLock& lock);
  // Under the folder lock: replaces the file with this state.
  Status rewrite(IndexState state, const FolderLock& lock);

 private:
  void forget();

  std::string path_;
  IndexState state_;
  bool valid_ = false;
  Fd fd_;                     // the file state_ was read from, while valid
  size_t offset_ = 0;         // bytes of the good part
  size_t snapshot_end_ = 0;   // header + snapshot
  uint64_t generation_ = 0;
};

}  // namespace tern::store
