#pragma once
// FETCH data items (RFC 3501 6.4.5, grammar in 9 "fetch-att"):
//
//   fetch     = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
//               fetch-att / "(" fetch-att *(SP fetch-att) ")")
//   fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
//               "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
//               "BODY" ["STRUCTURE"] / "UID" /
//               "BODY" section ["<" number "." nz-number ">"] /
//               "BODY.PEEK" section ["<" number "." nz-number ">"]
//   section   = "[" [section-spec] "]"
//   section-spec = section-msgtext / (section-part ["." section-text])
//   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
//   section-part = nz-number *("." nz-number)
//   section-text = section-msgtext / "MIME"
//
// The macros expand (ALL = FLAGS INTERNALDATE RFC822.SIZE ENVELOPE; FAST =
// FLAGS INTERNALDATE RFC822.SIZE; FULL = ALL + BODY) and are valid only
// alone, not inside a list. "MIME" needs a part number (RFC 3501 6.4.5:
// "MIME ... MUST be prefixed by one or more numeric part specifiers").
// Item names are case-insensitive; header field names in HEADER.FIELDS are
// astrings (atoms or quoted strings here; see command.h on literals in
// brackets), kept as written and compared case-insensitively by the
// renderer. The BODY[...] item is one atom from the reader (command.h).
//
// Which items set \Seen (RFC 3501 6.4.5): BODY[...] (not BODY.PEEK),
// RFC822 and RFC822.TEXT; RFC822.HEADER is BODY.PEEK[HEADER] and does not.
//
// Not parsed yet (later issue): BINARY (RFC 3516), MODSEQ (CONDSTORE), and
// the FETCH modifiers ("CHANGEDSINCE").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/imap/command.h"

namespace tern::imap {

enum class FetchAttr : uint8_t {
  kFlags,
  kInternalDate,
  kRfc822,        // the whole message; response name "RFC822"
  kRfc822Header,  // response name "RFC822.HEADER"
  kRfc822Text,    // response name "RFC822.TEXT"
  kRfc822Size,
  kEnvelope,
  kBody,           // BODY without a section: BODYSTRUCTURE without extensions
  kBodyStructure,
  kUid,
  kBodySection,    // BODY[...] / BODY.PEEK[...]: section, partial
};

enum class SectionText : uint8_t {
  kNone,              // BODY[] or BODY[1.2]: the whole message / part
  kHeader,            // HEADER
  kHeaderFields,      // HEADER.FIELDS (fields)
  kHeaderFieldsNot,   // HEADER.FIELDS.NOT (fields)
  kText,              // TEXT
  kMime,              // MIME (with a part number only)
};

struct Section {
  std::vector<uint32_t> part;       // 1.2.3 -> {1, 2, 3}; empty: the message
  SectionText text = SectionText::kNone;
  std::vector<std::string> fields;  // HEADER.FIELDS[.NOT]: as written
  bool operator==(const Section&) const = default;
};

// <origin.count>: `count` octets from `origin` (RFC 3501 6.4.5).
struct Partial {
  uint32_t origin = 0;
  uint32_t count = 0;  // nz-number
  bool operator==(const Partial&) const = default;
};

struct FetchItem {
  FetchAttr attr = FetchAttr::kFlags;
  bool peek = false;                // BODY.PEEK[...]
  Section section;                  // kBodySection
  std::optional<Partial> partial;   // kBodySection

  // Whether fetching this item sets \Seen (see the file comment).
  bool sets_seen() const;
  // The item's name in the FETCH response (RFC 3501 7.4.2): "FLAGS",
  // "BODY[HEADER.FIELDS (FROM TO)]", "BODY[1.2]<0>" (only the origin of a
  // partial is returned; PEEK is never). Field names are upper-cased, as
  // Dovecot does; each is written as an astring.
  std::string response_name() const;
  bool operator==(const FetchItem&) const = default;
};

// Limits on what one FETCH may ask.
inline constexpr size_t kMaxFetchItems = 256;
inline constexpr size_t kMaxSectionParts = 64;    // 1.2.3... depth
inline constexpr size_t kMaxHeaderFields = 1024;

// The items of a FETCH: its argument after the sequence set (one value: a
// macro, a single item, or a list). Duplicates are kept (harmless; the
// session may fold them). Errc::kInvalid with a reason for a BAD.
Result<std::vector<FetchItem>> parse_fetch_items(const Value& arg);
// One item from its atom text ("BODY.PEEK[1.MIME]<0.100>").
Result<FetchItem> parse_fetch_item(std::string_view text);

}  // namespace tern::imap
