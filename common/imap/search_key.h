#pragma once
// SEARCH criteria (RFC 3501 6.4.4, grammar in 9 "search" / "search-key")
// as a tree, for the evaluator (search_eval.h) to run against messages.
//
//   search = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
//
// Several keys side by side are ANDed: the program's root is a kAnd node
// with the top-level keys as children; "(" key *(SP key) ")" is another
// kAnd. OR takes two keys, NOT one. A bare sequence set is kSequenceSet;
// UID <set> is kUid.
//
// Texts: every string argument is an astring (atom, quoted or literal), in
// the CHARSET named; only UTF-8 and US-ASCII are supported (RFC 3501
// 6.4.4 requires US-ASCII; any other is "NO [BADCHARSET (UTF-8
// US-ASCII)]"). Without CHARSET the strings are US-ASCII; Tern takes any
// valid UTF-8 there too, as Dovecot does, since clients send it. Invalid
// UTF-8 is a BAD. Matching is the evaluator's: substring, case-insensitive
// (RFC 3501 6.4.4 "case-insensitive substring").
//
// Dates are day numbers: days since 1970-01-01 (date.h). BEFORE/ON/SINCE
// compare the internal date, SENT* the Date: header, each "disregarding
// time and timezone" (RFC 3501 6.4.4).
//
// NEW (RECENT UNSEEN) and OLD (NOT RECENT) are kept as their own kinds: the
// evaluator knows what they mean; nothing is rewritten, so a key prints
// back as written (to_string()).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/imap/command.h"
#include "common/imap/sequence_set.h"

namespace tern::imap {

enum class SearchKind : uint8_t {
  // Flags and state: no argument.
  kAll, kAnswered, kDeleted, kDraft, kFlagged, kNew, kOld, kRecent, kSeen,
  kUnanswered, kUndeleted, kUndraft, kUnflagged, kUnseen,
  // Keyword: `text` is the keyword (an atom, RFC 3501 flag-keyword).
  kKeyword, kUnkeyword,
  // Header / body text: `text`.
  kBcc, kBody, kCc, kFrom, kSubject, kText, kTo,
  // HEADER <field-name> <string>: `field` and `text` ("" matches any
  // message that has the field, RFC 3501 6.4.4).
  kHeader,
  // Dates: `day`.
  kBefore, kOn, kSince, kSentBefore, kSentOn, kSentSince,
  // RFC822.SIZE: `number`.
  kLarger, kSmaller,
  // Sets: `set`. kUid: UID <set>; kSequenceSet: message numbers.
  kUid, kSequenceSet,
  // Composition: `children`. kNot: 1, kOr: 2, kAnd: any (>= 1).
  kNot, kOr, kAnd,
};

struct SearchKey {
  SearchKind kind = SearchKind::kAll;
  std::string text;
  std::string field;
  int32_t day = 0;
  uint64_t number = 0;
  SequenceSet set;
  std::vector<SearchKey> children;

  // Back to SEARCH syntax, strings quoted or as literals ({n}): for logs and
  // tests. kAnd at the root prints its children side by side.
  std::string to_string() const;
  bool operator==(const SearchKey&) const = default;
};

struct SearchProgram {
  std::string charset = "US-ASCII";  // upper-cased
  SearchKey root;                    // kAnd of the top-level keys
};

// Bounds: keys in one program, and nesting (OR / NOT / parentheses), so
// "NOT NOT NOT ..." cannot recurse without end in the parser or evaluator.
inline constexpr size_t kMaxSearchKeys = 4096;
inline constexpr size_t kMaxSearchDepth = 128;

enum class SearchError : uint8_t {
  kNone,
  kBad,         // syntax: "<tag> BAD <text>"
  kBadCharset,  // "<tag> NO [BADCHARSET (UTF-8 US-ASCII)] <text>"
};

struct SearchParse {
  SearchProgram program;
  SearchError error = SearchError::kNone;
  std::string text;  // the reason when error != kNone
};

// The SEARCH (or UID SEARCH) arguments, from the first one on.
SearchParse parse_search(const std::vector<Value>& args);

}  // namespace tern::imap
