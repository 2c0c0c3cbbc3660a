#pragma once
// A user's subscribed mailbox names (IMAP SUBSCRIBE/UNSUBSCRIBE/LSUB, RFC
// 3501 6.3.6, 6.3.7, 6.3.9) in Dovecot's file, so a Maildir moved between
// Dovecot and Tern keeps its subscriptions.
//
// File <Maildir>/subscriptions, text, Dovecot's version 2:
//   "V" TAB "2" LF LF           the header
//   <level> (TAB <level>)* LF   one subscribed name per line, its hierarchy
//                               levels separated by TAB, each level
//                               tab-escaped: \001 → \0011, TAB → \001t,
//                               CR → \001r, LF → \001n
// Names are UTF-8 as IMAP shows them (mailbox_list.h), "INBOX" in capitals.
// A file without the header is Dovecot's version 1: one name per line with
// the separator as written; Tern reads its lines as "/"-separated names and
// writes version 2 on the next change. Lines that do not decode to a valid
// name are skipped when read and kept unchanged when the file is rewritten
// (they may be another server's names; dropping them is not ours to do).
// At most kMaxSubscriptionsFile bytes are read; a longer file is
// Errc::kLimit (no partial answer that a rewrite would then truncate).
//
// Subscribing does not need the mailbox to exist, and DELETE/RENAME do not
// change subscriptions (RFC 3501 6.3.9: the server MUST NOT remove a name
// on its own).
//
// Writing: the whole file is replaced (write tmp, fsync, rename, fsync the
// Maildir: common/base/durable.h) under an OFD lock on
// <Maildir>/tern-subscriptions.lock, so two imapd processes changing
// subscriptions at once do not lose either change. Blocking disk calls: run
// on the worker pool.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::store {

inline constexpr std::string_view kSubscriptionsName = "subscriptions";
inline constexpr size_t kMaxSubscriptionsFile = size_t{1} << 20;
inline constexpr size_t kMaxSubscriptions = 10000;

// The subscribed names, in file order, without duplicates; an empty list
// when the file does not exist.
Result<std::vector<std::string>> read_subscriptions(std::string_view maildir);

// Adds (subscribe = true) or removes a name (canonical_mailbox_name(),
// mailbox_list.h). Subscribing a subscribed name or unsubscribing one that
// is not subscribed changes nothing and succeeds (RFC 3501 6.3.7 leaves
// the answer to the server; imapd may answer NO for the latter). Errc::kInvalid for a bad name, Errc::kLimit past
// kMaxSubscriptions.
Status set_subscribed(std::string_view maildir, std::string_view name, bool subscribe);

// The file's text for a list of names (header + lines); and its parse: the
// names of the valid lines (first) and every line as it was (second).
std::string format_subscriptions(const std::vector<std::string>& names);
struct ParsedSubscriptions {
  std::vector<std::string> names;  // valid, canonical, no duplicates
  std::vector<std::string> lines;  // every line after the header, verbatim
  std::vector<bool> valid;         // per line: decoded to a name in `names`
};
ParsedSubscriptions parse_subscriptions(std::string_view text);

}  // namespace tern::store
