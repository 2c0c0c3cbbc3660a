#pragma once
// local_login_sender_maps (as Postfix 3.6's): which envelope senders a local
// user may give to sendmail(1). Enforced by terndrop (so sendmail fails at
// once) and again by pickup (which trusts nothing terndrop's caller wrote).
//
// The tables are searched by the login name, or "uid:<n>" when the uid has
// no login name. The value is a list of sender patterns separated by commas
// or white space:
//   *            any sender
//   <>           the null sender
//   @domain      any address in domain (compared case-insensitively)
//   user@domain  that address (the domain case-insensitively)
// The sender is compared without its address extension (recipient_delimiter:
// "user+tag@domain" counts as "user@domain"). A login found in no table may
// use no sender at all. No tables at all (the default, Postfix's "static:*")
// allows any sender.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/table/table.h"

namespace tern::queue {

struct LocalSenderPolicy {
  std::vector<const table::Table*> maps;  // local_login_sender_maps, in order
  std::string delimiters;                 // recipient_delimiter
};

// OK when login (or "uid:<uid>" if login is empty) may use sender ("" for
// the null sender); kNotFound/kInvalid with the reason when not;
// kTemporary when a table failed.
Status check_local_sender(const LocalSenderPolicy& policy, std::string_view login, long uid, std::string_view sender);

}  // namespace tern::queue
