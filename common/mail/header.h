#pragma once
// The message header (RFC 5322 2.2, 3.6) and the header fields the cleanup
// step writes: Date:, Message-ID: and the Received: trace field.
//
//   field      = field-name ":" unstructured CRLF      (RFC 5322 2.2)
//   field-name = 1*ftext, ftext = %d33-57 / %d59-126   (printable ASCII but ':')
//   folding    = CRLF followed by WSP continues the field (2.2.3)
//
// Decisions (written down per DESIGN.md):
//   - A line that is neither a field nor a continuation ends the header
//     section and belongs to the body, as in Postfix's cleanup (a message
//     whose first body line is not preceded by an empty line is still taken).
//     The same holds for a continuation line with no field before it.
//   - White space between the field name and the colon (obsolete syntax,
//     RFC 5322 4.5) is accepted and not part of the name.
//   - Lines may end in CRLF or LF (local submissions); fields are stored with
//     CRLF folds, without their final CRLF.
//   - Limits: the whole header section, the number of fields, and one field
//     with its continuation lines; the error says which was hit.
//
// Nothing returned holds a view into the input.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"

namespace tern::mail {

struct HeaderLimits {
  size_t total = 102400;   // bytes of the header section, line endings counted as CRLF
  size_t fields = 1000;    // number of fields
  size_t field = 102400;   // one field with its folds (Postfix's header_size_limit)
};

enum class HeaderLimit { kNone, kTotal, kFields, kField };

struct HeaderField {
  std::string name;  // as sent, without trailing white space
  std::string raw;   // the whole field: name, colon, value, CRLF folds; no final CRLF

  // Everything after the colon, folds included.
  std::string_view value() const;
  // The value unfolded (RFC 5322 2.2.3: CRLF before WSP removed) with
  // leading and trailing white space trimmed.
  std::string unfolded() const;
};

// RFC 5322 2.2: 1*ftext.
bool is_field_name(std::string_view name);

// Fields by name, compared case-insensitively (RFC 5322 1.2.2).
const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name);
size_t count_fields(const std::vector<HeaderField>& fields, std::string_view name);

// Incremental parsing, one line at a time, for data that arrives in pieces.
class HeaderParser {
 public:
  enum class Step {
    kMore,  // the line was a field or a continuation: keep going
    kEnd,   // the line was the empty line that ends the header section
    kBody,  // the header section has ended and this line is the body's first
  };

  explicit HeaderParser(HeaderLimits limits = {}) : limits_(limits) {}

  // One line without its CRLF or LF. After kEnd or kBody, the parser takes
  // no more lines (returns kBody again). An error (kLimit) leaves the parser
  // failed; limit_hit() says which limit.
  Result<Step> add_line(std::string_view line);

  bool done() const { return done_; }
  HeaderLimit limit_hit() const { return limit_hit_; }
  // Header bytes seen so far, with CRLF line endings.
  size_t size() const { return size_; }
  const std::vector<HeaderField>& fields() const { return fields_; }
  std::vector<HeaderField> take_fields() { return std::move(fields_); }

 private:
  Error limit(HeaderLimit which, std::string text);

  HeaderLimits limits_;
  std::vector<HeaderField> fields_;
  size_t size_ = 0;
  bool done_ = false;
  HeaderLimit limit_hit_ = HeaderLimit::kNone;
};

struct HeaderBlock {
  std::vector<HeaderField> fields;
  // Where the body starts in the parsed text: after the empty line, or at
  // the first line that is not part of the header, or text.size().
  size_t body_offset = 0;

  const HeaderField* find(std::string_view name) const { return find_field(fields, name); }
  size_t count(std::string_view name) const { return count_fields(fields, name); }
};

// A whole message (or just its header section) in one string.
Result<HeaderBlock> parse_header_block(std::string_view text, const HeaderLimits& limits = {},
                                       HeaderLimit* which = nullptr);

// Folds every line of a field longer than width at the last white space
// before the width (RFC 5322 2.1.1: 78 is the SHOULD, 998 the MUST), by
// inserting CRLF before that white space (2.2.3). A line with no white space
// to fold at stays long.
std::string fold_field(std::string_view field, size_t width = 78);

// A fixed offset from UTC and its name for the trailing comment.
struct TimeZone {
  int offset_seconds = 0;   // east of UTC
  std::string name = "UTC";  // "" for no comment

  static TimeZone utc() { return {}; }
  // The process's local zone at time t (tzset() ran before any chroot).
  static TimeZone local(WallTime t);
};

// RFC 5322 3.3 date-time, as Postfix writes it for Date: and Received::
// "Sun, 22 Nov 2026 21:33:27 +0000 (UTC)". The day has no leading zero.
std::string rfc5322_date(WallTime t, const TimeZone& tz);
std::string rfc5322_date(WallTime t);  // in the local zone

// RFC 5322 3.6.4 msg-id, in Postfix's shape: "<YYYYMMDDhhmmss.QUEUEID@host>"
// with the UTC time. The queue ID makes it unique on this host.
std::string make_message_id(std::string_view queue_id, std::string_view hostname, WallTime t);
std::string make_message_id(std::string_view queue_id, std::string_view hostname);  // now

// RFC 3848 (and RFC 6531 3.7.3 for SMTPUTF8) "with" protocol names:
// SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, and UTF8SMTP, UTF8SMTPS, UTF8SMTPA,
// UTF8SMTPSA; LMTP variants with lmtp.
std::string with_protocol(bool esmtp, bool tls, bool auth, bool smtputf8 = false, bool lmtp = false);

// TLS details as Postfix's smtpd_tls_received_header writes them.
struct TlsDetails {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  int usebits = 0;
  int algbits = 0;
  // Postfix 3.4+ adds "key-exchange X25519 server-signature RSA-PSS (2048
  // bits) server-digest SHA256" on a continuation line; "" to leave it out.
  std::string key_exchange;
  // The client certificate line without parentheses.
  std::string client_cert = "No client certificate requested";
};

struct ReceivedInfo {
  std::string helo;         // as the client sent it; "" → client_name
  std::string client_name;  // forward-confirmed reverse name, or "unknown"
  std::string client_addr;  // "192.0.2.1" or "2001:db8::1"
  std::string by_host;      // myhostname
  std::string mail_name = "Tern";
  std::string protocol = "ESMTP";  // with_protocol()
  std::optional<TlsDetails> tls;
  std::string authenticated_sender;  // "" unless the site shows it (Postfix: smtpd_sasl_authenticated_header)
  std::string queue_id;
  std::string recipient;  // the canonical address when there is exactly one, else ""
  WallTime time;
  TimeZone zone;
};

// RFC 5321 4.4 trace field in Postfix's shape:
//   Received: from helo (name [ip])
//   	(using TLSv1.3 with cipher X (256/256 bits))
//   	(No client certificate requested)
//   	by host (Tern) with ESMTPSA id QUEUEID
//   	for <rcpt>; date
// and, without exactly one recipient, "id QUEUEID;" then the date on its
// own line. CRLF folds, no final CRLF. Client-supplied text is made printable.
std::string received_header(const ReceivedInfo& info);

// The trace field pickup writes for local submissions, as Postfix's:
//   Received: by host (Tern, from userid 1000)
//   	id QUEUEID; date
std::string local_received_header(std::string_view by_host, std::string_view mail_name, long uid,
                                  std::string_view queue_id, WallTime t, const TimeZone& tz);

}  // namespace tern::mail
