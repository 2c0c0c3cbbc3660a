#pragma once
// The defer log: per message, each recipient's latest delivery diagnostic,
// in defer/<hash>/<queue ID> (hashed as deferred/, queue_dirs.h). qmgr
// writes it when a delivery attempt does not end a recipient; mailq
// (queue_listing.h) shows the latest reason of each deferred recipient; the
// DSN builder (dsn.h, dsn_report()) puts it in delay and expiry reports.
//
// API (all BLOCKING file work: daemons call it on the worker pool):
//
//   append_defer_records(queue_dir, id, {{.index = 2, .address = "bob@example.net",
//                                         .status = "4.4.1", .relay = "mx.example.net[192.0.2.7]:25",
//                                         .reason = "connect to ...: Connection refused",
//                                         .reply = "", .time = clock.wall_now()}});
//   Result<DeferLog> log = read_defer_log(queue_dir, id);   // kNotFound: no log
//   const DeferRecord* r = log->find(2);                    // latest for recipient 2
//   remove_defer_log(queue_dir, id);  // before the queue file goes (an
//                                     // orphan log is the worse leftover)
//
// FORMAT. Text, one record per line, in the line conventions of
// common/ipc/escape.h (tab-separated key=value, %-escaping of tab, CR, LF
// and "%"); the keys are those of the delivery protocol's result line
// (common/ipc/delivery_protocol.h):
//
//   rcpt<TAB>index=2<TAB>address=bob@example.net<TAB>dsn=4.4.1
//       <TAB>relay=mx.example.net[192.0.2.7]:25<TAB>reason=connect to ...
//       [<TAB>reply=451 4.7.1 try later]<TAB>time=1700000000.123456
//
// A later record for the same index replaces an earlier one. Lines that do
// not parse (a torn write, damage, a word from a later version) are skipped
// and counted, never fatal: the log is advice for people, not state the
// mail depends on (the queue file's status fields are that).
//
// Durability: append_defer_records() appends all its records with one
// write(2) on an O_APPEND descriptor and fsyncs the file (and defer/ and its
// subdirectory when it made them), so a diagnostic qmgr has logged survives
// a crash. A torn last line (a crash during the write) is ended with a
// newline by the next append, so it costs that one record only. When the
// file passes kCompactSize, the append rewrites it (write_file_atomic:
// tmp, fsync, rename, fsync) with only the latest record per recipient, so
// a message deferred for days keeps a log of bounded size.
//
// Limits (hostile-file safe): the reader reads at most kMaxDeferLogRead
// bytes (the last ones: the latest records), skips lines longer than
// kMaxDeferLine, and keeps at most kMaxDeferRecipients recipients. Texts are
// cut to kMaxDeferText bytes when written.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"

namespace tern::queue {

inline constexpr size_t kMaxDeferText = 2000;
inline constexpr size_t kMaxDeferStatus = 32;
inline constexpr size_t kMaxDeferLine = 8 * 1024;
inline constexpr size_t kMaxDeferLogRead = 4 << 20;
inline constexpr size_t kMaxDeferRecipients = 100000;
inline constexpr size_t kCompactSize = 256 * 1024;

struct DeferRecord {
  size_t index = 0;      // the recipient's position in the queue file (0-based)
  std::string address;   // its address (TO=), to check the index against
  std::string status;    // enhanced status code, "4.4.1"
  std::string relay;     // "host[addr]:port", "private/deliver", or "" / "none"
  std::string reason;    // what mailq and the log show
  std::string reply;     // the remote server's own reply, "" if none
  WallTime time{};       // when the attempt ended
  bool operator==(const DeferRecord&) const = default;
};

// One record as a line (with its LF); texts cut to kMaxDeferText.
std::string format_defer_record(const DeferRecord& record);
// One line, without or with its LF. kInvalid for anything else.
Result<DeferRecord> parse_defer_record(std::string_view line);

struct DeferLog {
  std::vector<DeferRecord> latest;  // one per recipient index, sorted by index
  size_t damaged = 0;               // lines skipped
  const DeferRecord* find(size_t index) const;
};

// Parses a whole log image; never fails. A last line without its LF (a
// write in progress or torn) is skipped; so is a first line cut by a
// bounded read (`cut_start`).
DeferLog parse_defer_log(std::string_view text, bool cut_start = false);

Status append_defer_records(std::string_view queue_dir, std::string_view id, const std::vector<DeferRecord>& records);
// Errc::kNotFound when the message has no log.
Result<DeferLog> read_defer_log(std::string_view queue_dir, std::string_view id);
// Ok when there was none.
Status remove_defer_log(std::string_view queue_dir, std::string_view id);

}  // namespace tern::queue
