#pragma once
// Flag lists (RFC 3501 2.3.2, 9 "flag-list") and the STORE command's
// arguments (RFC 3501 6.4.6):
//
//   store          = "STORE" SP sequence-set SP store-att-flags
//   store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
//                     (flag-list / (flag *(SP flag)))
//   flag-list      = "(" [flag *(SP flag)] ")"
//   flag           = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" /
//                    "\Draft" / flag-keyword / flag-extension
//
// System flags are case-insensitive and map to store::SystemFlag bits.
// \Recent is a session property no client may set (RFC 3501 2.3.2: "not
// ... via STORE"; it is not a "flag" in the grammar): BAD. Other
// "\Something" (flag-extension) are refused too, as Dovecot does: no
// extension defines one a client may store. Keywords are atoms valid as
// Maildir keywords (store::valid_keyword); they keep the client's case
// (the folder's dovecot-keywords file matches them case-insensitively).
// Duplicates count once.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/imap/command.h"
#include "common/store/flags.h"

namespace tern::imap {

inline constexpr size_t kMaxFlagsInList = 256;

struct FlagSet {
  uint8_t system = 0;                 // store::SystemFlag bits
  std::vector<std::string> keywords;  // in the order given, each once
  bool operator==(const FlagSet&) const = default;
};

struct StoreArgs {
  store::FlagOp op = store::FlagOp::kReplace;  // FLAGS, +FLAGS, -FLAGS
  bool silent = false;                         // .SILENT: no untagged FETCH
  FlagSet flags;
  bool operator==(const StoreArgs&) const = default;
};

// A flag list value "(\Seen foo)" (APPEND, STORE). Errc::kInvalid for a BAD.
Result<FlagSet> parse_flag_list(const Value& list);
// STORE's arguments after the sequence set: the item name, then a flag list
// or one or more flags.
Result<StoreArgs> parse_store_args(const std::vector<Value>& args, size_t first);

}  // namespace tern::imap
