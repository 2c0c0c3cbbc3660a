#pragma once
// Address lists in header fields and on sendmail's command line (RFC 5322
// 3.4), and "sendmail -t": the recipients a message's header names.
//
//   address-list = address *("," address)
//   address      = mailbox / group
//   mailbox      = name-addr / addr-spec       name-addr = [phrase] "<" addr-spec ">"
//   group        = phrase ":" [mailbox-list] ";"
//
// Decisions (written down per DESIGN.md):
//   - Comments "(...)" (nested, with quoted pairs) and folding white space
//     are dropped; quoted strings are kept with their quotes in the local
//     part ("\"john doe\"@example.org"), as they go on the wire.
//   - An obsolete source route in angle brackets ("<@a,@b:user@c>", RFC 5322
//     4.4) is dropped: only user@c is kept.
//   - A group's addresses are taken; an empty group ("undisclosed-recipients:;")
//     gives none.
//   - An item without "@" ("root") is kept as it is: the cleanup step
//     qualifies it with myorigin, as Postfix does.
//   - "<>" gives nothing. Garbage (an unclosed quote, comment or angle
//     bracket) is an error naming what is wrong, so sendmail refuses the
//     message rather than mailing a guess.
//   - At most kMaxListAddresses addresses per list.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::mail {

inline constexpr size_t kMaxListAddresses = 10000;

// The addr-specs of an address list, in order.
Result<std::vector<std::string>> parse_address_list(std::string_view text);

// "sendmail -t" (as Postfix's sendmail does it): the recipients named in To:,
// Cc: and Bcc: of a header block, or only in Resent-To:, Resent-Cc: and
// Resent-Bcc: when the message has any Resent- field (RFC 5322 3.6.6: a
// resent message goes to the resent recipients). Bcc: and Resent-Bcc: are
// removed from the header (RFC 5322 3.6.3), whichever were used.
struct HeaderRecipients {
  std::vector<std::string> recipients;
  std::string header;  // the header block without Bcc fields (CRLF lines, no empty line)
};

// header: the header block with CRLF line ends, without the empty line that
// ends it.
Result<HeaderRecipients> header_recipients(std::string_view header);

// A local address without a domain gets "@myorigin" (Postfix's
// append_at_myorigin): "root" -> "root@host.example". Addresses with a
// domain, the null address "" and an empty myorigin leave it unchanged.
std::string qualify(std::string_view address, std::string_view myorigin);

}  // namespace tern::mail
