#pragma once
// The queue file: one message in the queue, named by its queue ID
// (queue_id.h). common/queue is the only code that reads or writes it
// (qfile_writer.h, qfile_reader.h); terncat(1) prints one.
//
// FORMAT, version 1
//
// Versioned text you can cat, as OpenSMTPD's envelope; durable by
// construction, as Postfix's queue file. Three parts:
//
//   TERNQ 1                                   magic and major version
//   ARRIVAL 1718000000.123456                 envelope records, one a line,
//   SENDER alice@example.org                  ending in LF
//   client_address 192.0.2.1
//   RCPT pending   \tTO=bob@example.org\tNOTIFY=SUCCESS,FAILURE
//   EOE                                       end of the envelope
//   Received: from ...\r\n                    the message as it goes on the
//   ...\r\n                                   wire: CRLF, not dot-stuffed
//   END 1234\n                                trailer: the message's length
//
// Envelope records. Each line is "NAME" or "NAME SP VALUE" then LF. NAME is a
// letter followed by letters, digits and "_". VALUE is everything after the
// first space, %-escaped as in common/ipc/escape.h (tab, LF, CR and "%" as
// %09, %0A, %0D, %25), so a hostile address can never end a line or forge a
// record. A line is at most kMaxRecordLine bytes with its LF.
//
//   - A NAME starting with an upper-case letter is MANDATORY: a reader that
//     does not know it must not guess, and reports the file corrupt (a newer
//     writer put something there that changes what happens to the mail).
//   - A NAME starting with a lower-case letter is OPTIONAL: information a
//     reader may ignore (a named attribute). Readers keep every optional
//     record except "pad" in Envelope::attributes, so later versions can add
//     information that older readers carry along without understanding it.
//
// Version 1 records (at most once each unless said otherwise):
//
//   ARRIVAL <seconds>.<6 digits>   required; wall-clock arrival time
//   SENDER <address>               required; empty value: the null sender <>
//   BODY 7BIT|8BITMIME|BINARYMIME  MAIL FROM BODY= (RFC 6152, 3030)
//   SMTPUTF8 yes                   MAIL FROM SMTPUTF8 (RFC 6531)
//   RET FULL|HDRS                  MAIL FROM RET= (RFC 3461)
//   ENVID <text>                   MAIL FROM ENVID=, xtext already decoded
//   RCPT <status>\t<fields>        one per recipient, at least one (below)
//   EOE                            end of the envelope (required, empty)
//   <lower-case name> <value>      named attribute, e.g. client_address,
//                                  client_name, helo_name, protocol,
//                                  sasl_method, sasl_username, uid, login
//   pad <spaces>                   alignment filler (below); never kept
//
// Recipient record. "RCPT", one space, the status field (exactly
// kStatusWidth bytes: a status word padded on the right with spaces), then
// one or more tab-separated KEY=VALUE fields (VALUE %-escaped; the same
// case rule for keys: an unknown upper-case key makes the file corrupt, an
// unknown lower-case key is skipped):
//
//   TO=<address>        required; the final recipient (after alias expansion)
//   ORCPT=<type;addr>   RFC 3461 ORCPT, xtext decoded ("rfc822;bob@example.org")
//   NOTIFY=<list>       RFC 3461: NEVER, or a comma list of SUCCESS, FAILURE,
//                       DELAY; absent when the client gave none
//   original=<address>  the recipient before alias expansion (X-Original-To)
//
// Status words: pending (not yet final), delayed (not yet final, a delay
// DSN was sent), delivered, relayed (delivered to a host without DSN
// support, RFC 3461 "relayed"), bounced (failed; the DSN, if any, is already
// queued). A recipient's state changes by rewriting the status field in
// place (pwrite + fsync), never the whole file. The writer keeps every status
// field inside one 512-byte sector (it inserts a "pad" record where a field
// would straddle a boundary), so the rewrite is a single-sector write; were
// it torn anyway, the mixed word is no status word and the file reads as
// corrupt (kept in corrupt/, never mistaken for another state).
//
// Message. The EOE line is followed at once by the message bytes exactly as
// they go on the wire (CRLF line ends, NOT dot-stuffed), then the trailer
// "END <length>\n", where <length> is the message's byte count in decimal.
// The trailer must start exactly <length> bytes after the EOE line and end
// at the end of the file. A message need not end in CRLF (BDAT), so a reader
// finds the trailer by the byte count, not by looking for a line.
//
// Numbers (version, ARRIVAL seconds, trailer length) are decimal without
// sign or leading zeros: one spelling each.
//
// Corrupt (Errc::kCorrupt, with a reason): a bad magic line or a version
// other than 1, an unknown mandatory record or field, a repeated or missing
// required record, a bad value (status, NOTIFY, ARRIVAL, escape), an
// over-long line, too many records, no EOE, and a missing, short or
// mismatched trailer. Readers bound every line and every count, so a hostile
// or damaged file costs bounded memory and never crashes the reader.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"

namespace tern::queue {

inline constexpr std::string_view kQfileMagic = "TERNQ";
inline constexpr int kQfileVersion = 1;
inline constexpr size_t kStatusWidth = 10;
// Longest envelope line with its LF; the writer refuses to write longer ones.
inline constexpr size_t kMaxRecordLine = 16 * 1024;
// Status fields never straddle a multiple of this offset.
inline constexpr uint64_t kStatusSector = 512;

enum class RcptStatus { kPending, kDelayed, kDelivered, kRelayed, kBounced };

// "pending", "delayed", ...; parse takes the word without its padding.
std::string_view status_name(RcptStatus status);
std::optional<RcptStatus> parse_status(std::string_view word);
// delivered, relayed and bounced are final: nothing more happens to the
// recipient.
bool is_final(RcptStatus status);

// RFC 3461 NOTIFY; 0 means the client gave none.
enum NotifyFlags : unsigned {
  kNotifyNever = 1,
  kNotifySuccess = 2,
  kNotifyFailure = 4,
  kNotifyDelay = 8,
};
// "NEVER" or "SUCCESS,FAILURE,DELAY" (in that order); "" for 0.
std::string format_notify(unsigned flags);
// Case-insensitive; NEVER combined with another keyword is an error.
Result<unsigned> parse_notify(std::string_view text);

enum class BodyType { kUnspecified, k7Bit, k8BitMime, kBinaryMime };
enum class DsnRet { kUnspecified, kFull, kHdrs };
std::string_view body_type_name(BodyType body);  // "7BIT", ... ("" for unspecified)
std::string_view dsn_ret_name(DsnRet ret);       // "FULL", "HDRS" ("" for unspecified)

struct Recipient {
  std::string address;   // TO: the final recipient
  std::string orcpt;     // ORCPT "type;address", "" when not given
  unsigned notify = 0;   // NotifyFlags
  std::string original;  // before alias expansion, "" when the same or unknown
  RcptStatus status = RcptStatus::kPending;
  // Set by the reader: file offset of the status field.
  uint64_t status_offset = 0;
};

// Named attributes the programs of the suite write (optional records).
namespace attr {
inline constexpr std::string_view kClientAddress = "client_address";
inline constexpr std::string_view kClientPort = "client_port";
inline constexpr std::string_view kClientName = "client_name";  // forward-confirmed, or "unknown"
inline constexpr std::string_view kHeloName = "helo_name";
inline constexpr std::string_view kProtocol = "protocol";  // SMTP, ESMTP, ESMTPSA, ..., sendmail
inline constexpr std::string_view kSaslMethod = "sasl_method";
inline constexpr std::string_view kSaslUsername = "sasl_username";
inline constexpr std::string_view kUid = "uid";      // local submission: the caller's uid
inline constexpr std::string_view kLogin = "login";  // local submission: the caller's login name
}  // namespace attr

struct Envelope {
  WallTime arrival{};  // stored with microsecond precision
  std::string sender;  // "" is the null sender
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;
  // Lower-case names ([a-z][a-z0-9_]*, not "pad") to values.
  std::map<std::string, std::string, std::less<>> attributes;
  std::vector<Recipient> recipients;

  // Set by the reader.
  uint64_t eoe_offset = 0;      // where the EOE line starts
  uint64_t message_offset = 0;  // first message byte (just after "EOE\n")
  uint64_t message_size = 0;    // from the trailer, checked against the file size

  const std::string* attribute(std::string_view name) const;
};

// Record and field names of version 1 (for the reader and writer).
namespace record {
inline constexpr std::string_view kArrival = "ARRIVAL";
inline constexpr std::string_view kSender = "SENDER";
inline constexpr std::string_view kBody = "BODY";
inline constexpr std::string_view kSmtputf8 = "SMTPUTF8";
inline constexpr std::string_view kRet = "RET";
inline constexpr std::string_view kEnvid = "ENVID";
inline constexpr std::string_view kRcpt = "RCPT";
inline constexpr std::string_view kEoe = "EOE";
inline constexpr std::string_view kPad = "pad";
inline constexpr std::string_view kTrailer = "END";
inline constexpr std::string_view kTo = "TO";
inline constexpr std::string_view kOrcpt = "ORCPT";
inline constexpr std::string_view kNotify = "NOTIFY";
inline constexpr std::string_view kOriginal = "original";
}  // namespace record

// True for a valid optional record name the writer may use as an attribute.
bool is_attribute_name(std::string_view name);

}  // namespace tern::queue
