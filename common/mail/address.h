#pragma once
// Address lists split into their parts (RFC 5322 3.4), for IMAP's ENVELOPE
// (RFC 3501 7.4.2) and for SEARCH FROM/TO/CC/BCC. address_list.h gives only
// the addr-specs (for sendmail -t); this keeps display names, source routes
// and groups.
//
//   address-list = address *("," address)
//   address      = mailbox / group
//   group        = display-name ":" [group-list] ";" [CFWS]
//   mailbox      = name-addr / addr-spec
//   name-addr    = [display-name] angle-addr
//   angle-addr   = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
//   obs-route    = obs-domain-list ":"   ("@a.example,@b.example:")
//
// Decisions (as Dovecot's message_address_parse where it is sensible):
//   - A display name is the phrase's words joined by one space, quoted
//     strings unquoted (quoted-pairs resolved); RFC 2047 words are kept as
//     they are (ENVELOPE gives raw text). Without a phrase, the last
//     comment of a bare addr-spec names it ("jd@example.com (John Doe)").
//     Other comments are dropped.
//   - The local part is its words as written, without quotes around quoted
//     strings and without the white space around dots.
//   - A missing local part becomes "MISSING_MAILBOX" and a missing domain
//     "MISSING_DOMAIN", as Dovecot writes them, because ENVELOPE reserves a
//     NIL host for group markers.
//   - A group gives a start marker (mailbox = the group's name, no host)
//     then its members then an end marker (all empty); an unterminated
//     group is closed at the end of the text. Groups do not nest (RFC 5322).
//   - Garbage never fails the parse: an unclosed quote, comment or angle
//     bracket runs to the end of the text; empty list items are skipped.
//   - At most kMaxListAddresses entries (address_list.h).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mail {

// Named apart from smtp_path.h's Address (an SMTP path), which lives in
// the same namespace: two classes of one name are one ODR violation.
struct HeaderAddress {
  std::optional<std::string> name;     // display name
  std::optional<std::string> route;    // obs-route "@a,@b" without the colon
  std::optional<std::string> mailbox;  // local part; group start: the group name
  std::optional<std::string> host;     // domain; nullopt only in group markers

  bool is_group_start() const { return !host && mailbox; }
  bool is_group_end() const { return !host && !mailbox; }
};

std::vector<HeaderAddress> parse_addresses(std::string_view text);

}  // namespace tern::mail
