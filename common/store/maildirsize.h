#pragma once
// Quota for a Maildir++ store: Dovecot-style rules and the Maildir++
// "maildirsize" file (Courier's Maildir++ specification, "Quotas").
//
// <Maildir>/maildirsize:
//   line 1   the quota definition: "<bytes>S,<count>C", either part left out
//            when that dimension is unlimited (an empty line: no quota)
//   then     "<bytes> <count>\n" lines, deltas (negative for removals),
//            each appended with one write(2) on an O_APPEND descriptor
// Usage is the sum of the delta lines. The file is disposable: it is
// recalculated by a scan of every folder's new/ and cur/ (sizes from S=, else
// stat) and replaced (written under tmp/, renamed over) when it is missing,
// unparsable (a torn line after a crash included), larger than 5120 bytes,
// or its definition differs from the limit in force; and, as the
// specification asks, once more before refusing a message when it is older
// than 15 minutes. So a delivery never walks the Maildir, except for the
// rare recalculation. Deltas racing a recalculation can drift the sum by a
// message; the next recalculation corrects it, which is the specification's
// trade too. The replacement is not fsynced: a file lost in a crash is
// recalculated.
//
// Blocking I/O (and the occasional scan): run on the worker pool.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::store {

// 0 means unlimited in either dimension.
struct QuotaLimit {
  uint64_t bytes = 0;
  uint64_t messages = 0;
  bool unlimited() const { return bytes == 0 && messages == 0; }
  bool operator==(const QuotaLimit&) const = default;
};

struct QuotaUsage {
  int64_t bytes = 0;
  int64_t messages = 0;
  bool operator==(const QuotaUsage&) const = default;
};

// Applies one Dovecot quota rule to `limit` (later rules override earlier
// ones, dimension by dimension): "*:storage=1G", "*:messages=1000",
// "*:bytes=1048576", or several at once ("*:storage=1G:messages=1000").
// storage= counts kilobytes unless a unit follows, bytes= counts bytes;
// units B, K, M, G, T (powers of 1024, an optional trailing "B" as in "10MB").
// Only rules for "*" (the whole store) are supported: others (Trash:...,
// percentages, "+" increments, "ignore") are Errc::kInvalid.
Status apply_quota_rule(std::string_view rule, QuotaLimit& limit);

// A user's quota: Dovecot's quota_rule, quota_rule2, quota_rule3, ...
// userdb fields (userdb_quota_rule in the passwd-file; authd removes the
// prefix) applied in that order, or, when the user has none,
// `default_rule` (main.cf quota_rule; "" = no quota). A rule that does not
// parse is an error: lmtp-deliver defers rather than bounce or deliver
// without a limit.
Result<QuotaLimit> user_quota(const std::map<std::string, std::string>& userdb_fields, std::string_view default_rule);

// "<bytes>S,<count>C" without the unlimited parts; "" when unlimited.
std::string format_quota_definition(const QuotaLimit& limit);

// The parsed file. Errc::kCorrupt for anything that is not exactly the
// format above (the caller recalculates).
struct MaildirSizeFile {
  QuotaLimit limit;
  QuotaUsage usage;
};
Result<MaildirSizeFile> parse_maildirsize(std::string_view content);

// Walks every folder of the Maildir (new/ and cur/): the expensive path.
Result<QuotaUsage> scan_usage(const std::string& maildir);

// Current usage: from maildirsize, recalculated as described above.
Result<QuotaUsage> read_usage(const std::string& maildir, const QuotaLimit& limit);

enum class QuotaVerdict {
  kOk,         // deliver
  kOverQuota,  // the store is (or would be) full: 452 4.2.2
  kTooBig,     // the message alone exceeds the quota: 552 5.2.2
};
// Would a message of `bytes` (its file size, as S= will say) exceed the
// quota? An unlimited quota answers kOk without touching the disk.
// `messages` > 1: would that many messages of `bytes` in all (imapd's COPY)?
Result<QuotaVerdict> check_quota(const std::string& maildir, const QuotaLimit& limit, uint64_t bytes,
                                 uint64_t messages = 1);

// Records a delivery (+bytes, +1) or a removal (negative) by appending one
// line. A missing maildirsize is left missing (the next read recalculates
// and counts the message then).
Status add_usage(const std::string& maildir, int64_t bytes, int64_t messages);

}  // namespace tern::store
