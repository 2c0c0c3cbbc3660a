#pragma once
// Does a message match a SEARCH program (RFC 3501 6.4.4)? The AST is
// improto's (search_key.h); the message is what the caller knows of it
// (SearchMessage) plus, when the keys need it, its bytes and MimeTree.
//
//   flags, keywords, NEW/OLD/RECENT   from SearchMessage (NEW = RECENT UNSEEN,
//                                     OLD = NOT RECENT)
//   BEFORE/ON/SINCE                   the day of the internal date, in the
//                                     zone the caller gives with it
//   SENTBEFORE/SENTON/SENTSINCE       the day written in the Date: header
//                                     ("disregarding time and timezone");
//                                     no parsable Date: uses the internal
//                                     date's day (as RFC 5256 SORT does)
//   LARGER/SMALLER                    rfc822_size (strictly larger/smaller)
//   UID <set>, <sequence set>         uid / seqnum, "*" being the caller's
//                                     largest UID / sequence number
//   FROM/TO/CC/BCC/SUBJECT            substring of any field of that name
//   HEADER name value                 substring of any field `name`; an empty
//                                     value matches every message with one
//   BODY                              substring of the body's text parts
//   TEXT                              substring of the header or BODY's text
//
// Text matching: case-insensitive substring (RFC 3501 6.4.4) on decoded
// text: header values unfolded with RFC 2047 words decoded (rfc2047.h);
// text/* parts decoded from base64 / quoted-printable and converted from
// their charset to UTF-8 (charset.h), and the headers of encapsulated
// messages; other parts (attachments) are not searched, nor preamble and
// epilogue. Case folding: ASCII and the common Latin-1/Latin Extended-A,
// Greek and Cyrillic capitals (simple one-to-one mappings), applied to both
// sides. The search string is UTF-8 (the parser refused other charsets).
//
// Bounded work for hostile messages: at most kMaxSearchTextBytes of decoded
// body text are searched per message (what is past it is not seen), and
// the part count is bounded by the MimeTree limits.
//
// Cost: a SearchEvaluator decodes each message's text at most once, when a
// key first needs it, and only when needs() says the caller must give the
// bytes at all: flag/size/date/UID-only searches never open a file.
//
// The header keys are the frequent file-opening searches (a client's
// quick filter: FROM, SUBJECT). The fields they read, decoded and folded
// exactly as matches() does it, fit in a small record a folder caches per
// message (search_header_record(), store::CacheField::kSearch, as Dovecot
// caches header fields in its index): a program for which
// search_header_suffices() is then answered from the records, with no file
// opened. The record holds every occurrence of kSearchHeaderFields and the
// Date: day:
//
//   "S1 " (day | "-") LF  then per field: name SP length LF value LF
//
// name lowercase, length the value's bytes in decimal (values may hold any
// byte), in header order.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/imap/search_key.h"
#include "common/mail/mime.h"

namespace tern::imap {

inline constexpr size_t kMaxSearchTextBytes = size_t{32} << 20;

struct SearchMessage {
  uint32_t uid = 0;
  uint32_t seqnum = 0;
  uint8_t flags = 0;  // store::SystemFlag bits
  bool recent = false;
  std::vector<std::string> keywords;  // names, compared case-insensitively
  int64_t internaldate = 0;           // seconds since the epoch
  int32_t internaldate_zone = 0;      // minutes east of UTC, for its day
  uint64_t rfc822_size = 0;
};

// What the caller must give matches() for a program.
enum class SearchNeeds : uint8_t {
  kNothing,  // flags, sizes, dates, UIDs: SearchMessage is enough
  kHeader,   // header keys or SENT*: the header section (bytes up to the body)
  kMessage,  // BODY / TEXT: the whole message
};
SearchNeeds search_needs(const SearchKey& key);

// Whether a program reads a message's internal date (BEFORE/ON/SINCE, and
// SENTBEFORE/SENTON/SENTSINCE, which fall back on it without a parsable
// Date:) or its keywords (KEYWORD/UNKEYWORD). A caller may leave out of
// SearchMessage what is not read: the date can cost a stat(2) per message
// (store::Folder::internaldate) and a time zone lookup, the keywords a
// vector of names.
bool search_uses_date(const SearchKey& key);
bool search_uses_keywords(const SearchKey& key);
// The fields a search record holds (lowercase): the SEARCH keys' own and
// those clients put in HEADER keys for threading and replies.
inline constexpr std::string_view kSearchHeaderFields[] = {"bcc",         "cc",       "from",   "in-reply-to",
                                                           "message-id",  "reply-to", "sender", "subject",
                                                           "to"};

// Whether every header key of the program reads only fields a search record
// holds (no BODY, TEXT, or HEADER of another field).
bool search_header_suffices(const SearchKey& key);
// The record of a message (bytes and parse_mime of them; the header section
// alone is enough).
std::string search_header_record(std::string_view message, const mail::MimeTree& tree);
// A record parsed: views into it (valid while it is). nullopt when it is
// not one (a damaged cache is then ignored: read the file).
struct SearchHeader {
  std::vector<std::pair<std::string_view, std::string_view>> fields;  // name, folded value
  std::optional<int32_t> sent_day;
};
std::optional<SearchHeader> parse_search_header(std::string_view record);
// The header section of a message: up to and with the empty line that ends
// it (the whole of `message` when there is none), at most `limit` bytes.
std::string_view header_section(std::string_view message, size_t limit);

class SearchEvaluator {
 public:
  // `largest_seqnum` / `largest_uid` stand for "*" in sets.
  SearchEvaluator(const SearchKey& root, uint32_t largest_seqnum, uint32_t largest_uid);

  // Whether the message matches. `message` and `tree` (parse_mime of those
  // bytes) are needed as search_needs() says; with kHeader the bytes may
  // be just the header section. Without them the keys that need them do
  // not match.
  bool matches(const SearchMessage& msg, std::string_view message = {}, const mail::MimeTree* tree = nullptr);
  // The same from a search record, when search_header_suffices().
  bool matches(const SearchMessage& msg, const SearchHeader& header);

 private:
  struct Cache;
  bool eval(const SearchKey& key, const SearchMessage& msg, Cache& cache);

  const SearchKey& root_;
  uint32_t largest_seqnum_;
  uint32_t largest_uid_;
};

// Exposed for tests. Case folding as described above, of UTF-8 text
// (invalid bytes kept as they are).
std::string fold_case(std::string_view utf8);
// The day number (date.h) written in an RFC 5322 date-time
// ("Mon, 23 Nov 2026 06:30:00 +0100" -> 23-Nov-2026), also obsolete forms
// (two-digit years, no day of week, extra white space and comments).
std::optional<int32_t> rfc5322_day(std::string_view date);

}  // namespace tern::imap
