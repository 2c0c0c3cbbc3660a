#pragma once
// FETCH ENVELOPE (RFC 3501 7.4.2):
//
//   envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
//              env-reply-to SP env-to SP env-cc SP env-bcc SP
//              env-in-reply-to SP env-message-id ")"
//   env-from = "(" 1*address ")" / nil          (same for sender ... bcc)
//   address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
//
// Decisions:
//   - Each field is the first of its name in the header. Date, Subject,
//     In-Reply-To and Message-ID are nstrings of the value unfolded (RFC
//     5322 2.2.3: CRLF removed) and trimmed; absent gives NIL, present but
//     empty gives "". Encoded words stay as they are (clients decode).
//   - Sender and Reply-To absent or empty (no address in them) take the
//     value of From (RFC 3501 7.4.2). An address field without an address
//     is NIL.
//   - Addresses as common/mail/address.h splits them: group syntax as the
//     RFC describes it (start marker: NIL host with the group name as
//     mailbox; end marker: all NIL); MISSING_MAILBOX / MISSING_DOMAIN for
//     missing parts, as Dovecot.
//   - Strings are quoted, or literals when they hold CR, LF, NUL or 8-bit
//     bytes (RFC 3501 4.3).
// Deliberate differences from Dovecot 2.3: Dovecot keeps trailing white
// space of Message-ID/In-Reply-To values and drops the one white space
// character after each fold; it sends some quotable strings as literals.

#include <string>
#include <string_view>

#include "common/mail/mime.h"

namespace tern::imap {

// The ENVELOPE of the message (part 0) or of the encapsulated message
// `part` (a child of a message/rfc822 part; MimeTree::parts index), from
// the same bytes parse_mime() read.
std::string envelope(std::string_view message, const mail::MimeTree& tree, uint32_t part = 0);

// The same from a header section alone (CRLF or LF lines).
std::string envelope_of_header(std::string_view header);

}  // namespace tern::imap
