#pragma once
// The arguments of MAIL FROM: and RCPT TO: (RFC 5321 4.1.1.2, 4.1.1.3, 4.1.2)
// and the ESMTP parameters after the path.
//
//   Reverse-path = Path / "<>"
//   Forward-path = Path            ; plus "<Postmaster>" on RCPT (4.1.1.3)
//   Path         = "<" [ A-d-l ":" ] Mailbox ">"
//   A-d-l        = At-domain *( "," At-domain )      ; source route
//   Mailbox      = Local-part "@" ( Domain / address-literal )
//   Local-part   = Dot-string / Quoted-string
//   Mail-parameters = esmtp-param *(SP esmtp-param)
//
// Decisions (write-down per DESIGN.md):
//   - The angle brackets are required. "MAIL FROM:user@example.com" is a
//     syntax error, never guessed at: a lenient parser is how addresses like
//     "a@b c@d" turn into a relay hole.
//   - Spaces before the path ("MAIL FROM: <a@b>") are accepted, as Postfix and
//     Exim accept them, because old clients send them; the grammar has none.
//     Parameters are separated by one or more SP.
//   - A source route is parsed, dropped and reported (had_source_route);
//     RFC 5321 4.1.2 and appendix C say receivers SHOULD ignore it. Relay
//     checks still refuse it (routing_tricks()).
//   - Domains are checked against the RFC 5321 grammar (letters, digits,
//     inner hyphens, no empty label, no trailing dot), labels at most 63
//     octets (RFC 1035 2.3.4). With SMTPUTF8 a label may also hold UTF-8
//     (RFC 6531 3.3 U-label); no IDNA mapping is done here.
//   - Domains compare ASCII case-insensitively (domain_lower); local parts
//     are case-sensitive (RFC 5321 2.4) and kept as sent.
//
// Nothing returned holds a view into the input.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::mail {

// Length limits; longer ones are refused with a kLimit error that names the
// limit. RFC 5321 4.5.3.1 gives 64, 255 and 256 octets as the sizes every
// implementation must accept, and asks for no limits "to the maximum
// extent possible"; Postfix has none. SRS and VERP senders of forwarded and
// list mail have local parts well past 64 octets, so the defaults are
// larger: only the domain keeps the DNS's own 255 (RFC 1035 2.3.4).
struct PathLimits {
  size_t local_part = 512;  // 4.5.3.1.1 asks for at least 64
  size_t domain = 255;      // 4.5.3.1.2
  size_t path = 1024;       // 4.5.3.1.3 asks for at least 256; "<", ">" and any source route included
};

// Why a MAIL or RCPT argument was refused, so smtpd can pick the reply.
// The suggested replies follow RFC 5321 4.1.4 / 4.5.3.1.10, RFC 3463 and
// RFC 6531 3.5.
enum class ArgFault {
  kNone,
  kPathSyntax,        // 501 5.1.7 (sender) / 501 5.1.3 (recipient)
  kPathTooLong,       // 501 5.1.7 / 5.1.3 ("Path too long", 4.5.3.1.10)
  kNonAscii,          // 553 5.6.7: UTF-8 address without SMTPUTF8 (RFC 6531 3.5)
  kParamSyntax,       // 501 5.5.4: malformed, duplicate or bad value
  kParamUnknown,      // 555 5.5.4: unknown or not offered (RFC 5321 4.1.1.11)
};

struct Address {
  std::string local;         // unquoted: quotes and backslash escapes removed
  std::string local_quoted;  // canonical: the Dot-string, or a minimal Quoted-string
  std::string domain;        // as sent ("Example.COM", "[192.0.2.1]")
  std::string domain_lower;  // ASCII-lower-cased, for comparisons and lookups
  bool is_null = false;             // "<>" (MAIL only)
  bool is_postmaster = false;       // "<Postmaster>" with no domain (RCPT only, 4.5.1)
  bool is_address_literal = false;  // domain is "[...]"
  bool had_source_route = false;    // "<@a,@b:user@c>" was sent; the route is dropped
  bool local_was_quoted = false;    // the client sent a Quoted-string

  // The canonical address without brackets: local_quoted "@" domain,
  // "postmaster" for the bare postmaster, "" for the null path.
  std::string str() const;
  // str() with the domain lower-cased: the key for duplicate removal.
  std::string key() const;
  // True when the address holds UTF-8 and so needs SMTPUTF8 (RFC 6531).
  bool needs_smtputf8() const;
};

// Sender-specified routing an open-relay check must refuse when the
// recipient's domain is local but the local part points elsewhere (Postfix's
// allow_untrusted_routing = no).
enum RoutingTrick : unsigned {
  kNoRoutingTrick = 0,
  kPercentHack = 1u << 0,   // user%other.example@local
  kBangPath = 1u << 1,      // host!user@local (UUCP)
  kQuotedAt = 1u << 2,      // "user@other.example"@local
  kSourceRoute = 1u << 3,   // <@local:user@other.example>
};
unsigned routing_tricks(const Address& a);
inline bool has_routing_tricks(const Address& a) { return routing_tricks(a) != kNoRoutingTrick; }
// "percent hack, bang path" for log lines and replies; "" for none.
std::string describe_routing_tricks(unsigned tricks);

// recipient_delimiter: "user+tag" → {"user", "tag", '+'}. delimiters is a set
// of characters (Postfix 2.11+); the first one found splits. No split (and
// delimiter 0) when none occurs, when the user part would be empty
// ("+tag"), or for "owner-list" / "list-request" with '-' (Postfix's
// mailing-list exception).
struct Extension {
  std::string user;
  std::string extension;
  char delimiter = 0;
};
Extension split_extension(std::string_view local, std::string_view delimiters);

struct PathOptions {
  PathLimits limits;
  bool allow_null = false;        // MAIL FROM:<>
  bool allow_postmaster = false;  // RCPT TO:<Postmaster>
  bool allow_utf8 = false;        // SMTPUTF8 in effect (RFC 6531 3.3)
};

// One path, exactly "<...>" (no spaces around). kInvalid for syntax,
// kLimit for a length limit; *why says which reply fits.
Result<Address> parse_path(std::string_view text, const PathOptions& opts, ArgFault* why = nullptr);

// A bare Mailbox "local@domain" (no brackets, no route): sendmail -f, alias
// and login-map results, ORCPT values.
Result<Address> parse_mailbox(std::string_view text, const PathLimits& limits, bool allow_utf8,
                              ArgFault* why = nullptr);

// RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" 2HEXDIG.
// Encoding writes '+', '=', and bytes outside '!'..'~' as +XX (upper case).
// Decoding also accepts lower-case hex digits.
std::string xtext_encode(std::string_view raw);
Result<std::string> xtext_decode(std::string_view xtext);

enum class Body { kUnspecified, k7Bit, k8BitMime, kBinaryMime };
enum class Ret { kUnspecified, kFull, kHdrs };

// NOTIFY (RFC 3461 4.1): 0 when the parameter was not given.
enum Notify : unsigned {
  kNotifyNever = 1u << 0,
  kNotifySuccess = 1u << 1,
  kNotifyFailure = 1u << 2,
  kNotifyDelay = 1u << 3,
};
// "SUCCESS,FAILURE" / "NEVER": the parameter value; "" for 0.
std::string format_notify(unsigned notify);

// ORCPT (RFC 3461 4.2): addr-type ";" xtext, kept decoded.
struct Orcpt {
  std::string addr_type;  // as sent ("rfc822"); compare case-insensitively
  std::string address;    // decoded
  // "rfc822;user+2Bx@example.com": the parameter value, re-encoded.
  std::string format() const;
};

// Which extensions smtpd offered in its EHLO reply: a parameter of an
// extension not offered is "unknown" (555 5.5.4).
struct Offered {
  bool size = true;        // RFC 1870
  bool eightbitmime = true;  // RFC 6152
  bool chunking = false;   // RFC 3030: BODY=BINARYMIME needs it
  bool smtputf8 = true;    // RFC 6531
  bool dsn = true;         // RFC 3461
  bool auth = false;       // RFC 4954 5: AUTH= on MAIL
};

struct ArgOptions {
  PathLimits limits;
  Offered offered;
};

struct MailParams {
  std::optional<uint64_t> size;  // SIZE=; values past 2^64-1 read as UINT64_MAX
  Body body = Body::kUnspecified;
  bool smtputf8 = false;
  Ret ret = Ret::kUnspecified;
  std::optional<std::string> envid;  // decoded
  std::optional<std::string> auth;   // decoded; "<>" stays "<>" (RFC 4954 5)
};

struct RcptParams {
  unsigned notify = 0;
  std::optional<Orcpt> orcpt;
};

struct MailArgs {
  Address sender;
  MailParams params;
};

struct RcptArgs {
  Address recipient;
  RcptParams params;
};

// The text after "MAIL FROM:". UTF-8 in the path is allowed when the same
// command carries SMTPUTF8.
Result<MailArgs> parse_mail_args(std::string_view arg, const ArgOptions& opts, ArgFault* why = nullptr);
// The text after "RCPT TO:". smtputf8: the transaction's MAIL had SMTPUTF8.
Result<RcptArgs> parse_rcpt_args(std::string_view arg, const ArgOptions& opts, bool smtputf8,
                                 ArgFault* why = nullptr);

// The parameter limits of RFC 3461: ENVID 100 and ORCPT 500 characters,
// counted on the encoded value.
inline constexpr size_t kMaxEnvid = 100;
inline constexpr size_t kMaxOrcpt = 500;

}  // namespace tern::mail
