#pragma once
// FETCH BODY and BODYSTRUCTURE (RFC 3501 7.4.2, grammar in 9 "body"):
//
//   body            = "(" (body-type-1part / body-type-mpart) ")"
//   body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
//   body-type-1part = (body-type-basic / body-type-msg / body-type-text)
//                     [SP body-ext-1part]
//   body-type-basic = media-basic SP body-fields
//   body-type-msg   = media-message SP body-fields SP envelope SP body SP
//                     body-fld-lines
//   body-type-text  = media-text SP body-fields SP body-fld-lines
//   body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP
//                     body-fld-enc SP body-fld-octets
//   body-ext-1part  = body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc
//   body-ext-mpart  = body-fld-param SP body-fld-dsp SP body-fld-lang SP body-fld-loc
//
// BODY is the same without the extension data, everywhere in the tree.
//
// Decisions (as Dovecot 2.3 gives them, checked against its imap process;
// see tests/unit/common/imap/bodystructure_test.cc):
//   - Type, subtype, parameters, encoding, id and description as written
//     in the message; RFC 2231 parameters joined (mime.h MimeParam).
//     Missing or invalid Content-Type: "text" "plain" ("charset"
//     "us-ascii") (RFC 2045 5.2), or "message" "rfc822" NIL in a
//     multipart/digest; text/* without a charset gets ("charset"
//     "us-ascii") appended. Missing encoding: "7bit".
//   - body-fld-md5 is always NIL (no client uses Content-MD5).
//   - body-fld-lang: NIL or a list, also of one.
//   - A multipart with no parts (no boundary parameter, or no delimiter
//     found) shows one empty part, ("text" "plain" ("charset" "us-ascii")
//     NIL NIL "7bit" 0 0), since the grammar needs at least one.
//   - A message/rfc822 that is not 7bit/8bit/binary encoded cannot be
//     read: an all-NIL envelope and the empty part above.
//   - A multipart or message/rfc822 the limits stopped (mime.h "opaque")
//     is shown as ("application" "octet-stream" NIL NIL NIL "7bit" size):
//     its type would promise parts that are not there.
//   - Sizes (body-fld-octets) and lines are of the CRLF form (mime.h).
// All of these are what Dovecot 2.3 gives. Deliberate differences: an
// invalid Content-Type ("text" without a subtype) is text/plain (Dovecot:
// "text" ""); an empty Content-Disposition is NIL (Dovecot: ("" NIL));
// folding white space is removed from Content-Location (RFC 2557 4.1);
// a multipart whose close delimiter is directly followed by its parent's
// delimiter (no epilogue) ends before the CRLF that starts the parent's
// delimiter (RFC 2046 5.1.1), where Dovecot counts that CRLF in.
// The output is for the message; cache it (store::Folder::cache).

#include <string>
#include <string_view>

#include "common/mail/mime.h"

namespace tern::imap {

// BODYSTRUCTURE (extended = true) or BODY (false) of the message, from the
// bytes parse_mime() read.
std::string body_structure(std::string_view message, const mail::MimeTree& tree, bool extended);

}  // namespace tern::imap
