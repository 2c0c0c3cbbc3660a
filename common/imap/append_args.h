#pragma once
// APPEND's arguments before the message (RFC 3501 6.3.11, 9):
//
//   append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
//
// The session sees them in partial() when the reader announces the message
// literal (command_reader.h), so it can refuse before the client sends the
// message (a mailbox that does not exist: NO [TRYCREATE]; a message over
// imap_max_literal: NO [TOOBIG]) or choose where to stream it.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/imap/command.h"
#include "common/imap/date.h"
#include "common/imap/store_args.h"

namespace tern::imap {

struct AppendArgs {
  std::string mailbox;            // UTF-8, INBOX folded (mailbox_name.h)
  FlagSet flags;                  // empty when no flag list was given
  std::optional<DateTime> date;   // the date-time, when given
};

// `args` are the values before the message literal (mailbox, then an
// optional flag list, then an optional date-time as a quoted string).
// Errc::kInvalid with a reason: a BAD, except a mailbox name that is not
// valid modified UTF-7 (mailbox_name.h: NO); `bad_syntax` tells them apart.
Result<AppendArgs> parse_append_args(const std::vector<Value>& args, bool* bad_syntax);

}  // namespace tern::imap
