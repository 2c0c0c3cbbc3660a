#pragma once
// The MIME structure of one message (RFC 2045, RFC 2046, RFC 2231), as IMAP
// needs it for FETCH BODY/BODYSTRUCTURE/BODY[section] and SEARCH.
//
// parse_mime() reads a whole message held in memory (a std::string or a
// read-only mmap of a Maildir file) and returns a MimeTree: a flat vector of
// entities with offsets into that buffer. It never fails: every byte string
// is some message (a header-only message, a body without a header, a
// multipart without its closing delimiter...). It keeps no view of the
// buffer; the caller passes the same bytes again to the functions that
// read sections (common/imap/fetch_section.h) or render structures
// (common/imap/bodystructure.h, envelope.h).
//
// Entities. parts[0] is the message itself. Every entity has a header
// section and a body:
//   - kMultipart (Content-Type multipart/*, with a boundary): children are
//     its body parts in order. Its body is everything between its header
//     and the end of its own body (preamble, parts, epilogue).
//   - kMessage (message/rfc822 or message/global with identity encoding):
//     exactly one child, the encapsulated message, whose header starts
//     where this part's body starts and whose body ends where it ends.
//   - kLeaf: anything else, and every entity the limits stopped (below).
//
// IMAP part numbers (RFC 3501 6.4.5) map onto this tree as
// resolve_section() does: a number steps into a multipart's n-th child, or
// through a message/rfc822 into its encapsulated message and then into
// that message's n-th child when it is a multipart or, for n = 1, the
// message itself when it is not. "1" of a non-multipart message is the
// message (its body is BODY[1]).
//
// Line ends. IMAP counts octets of the CRLF form (RFC 3501 2.3.4 and
// RFC822.SIZE). Tern stores messages with CRLF, but Maildirs migrated from
// elsewhere hold bare-LF files. parse_mime() accepts both, even mixed in one
// file: a line ends at LF, and a LF not preceded by CR counts as CRLF. Every
// *_size and *_crlf value below is of that normalised form; the *_begin /
// *_end offsets are raw offsets into the buffer. Nothing is copied: readers
// normalise on the fly while copying out (fetch_section.h SectionCursor),
// so a CRLF file costs a memcpy and a LF file one pass. A bare CR is an
// ordinary byte (it stays, and counts 1).
//
// Boundaries (RFC 2046 5.1.1). A delimiter line starts with "--" and the
// boundary; a close delimiter line adds "--". Whatever follows on the line
// (transport padding, or garbage) is ignored, as Dovecot does. The line
// end before a delimiter line belongs to the delimiter, not to the part
// before it. Delimiters of every enclosing multipart are recognised, the
// innermost first, so a part whose close delimiter is missing ends at its
// parent's next delimiter, and a multipart whose close delimiter is missing
// ends at its parent's delimiter or the end of the message. The preamble
// (before the first delimiter) and the epilogue (after the close) belong to
// the multipart's body but to none of its parts. A multipart with no
// delimiter at all has no children (bodystructure.h renders it as Dovecot
// does, with one empty text/plain part).
//
// Limits (every input is hostile). The parse is one pass over the lines
// with an explicit stack: no recursion.
//   - nesting: no entity is deeper than `nesting` - 1 (the message is depth
//     0; each multipart or message/rfc822 level adds one, and the message
//     inside a message/rfc822 is one level below it): a multipart or
//     message/rfc822 whose insides would be at depth `nesting` is not split:
//     it becomes a kLeaf with `opaque` set, its body runs to the next
//     delimiter of an enclosing multipart. Postfix's mime_nesting_limit
//     (default 100); a 500-level message parses in linear time.
//   - parts: after `parts` entities no new one is made; the rest of the
//     message, delimiters of open multiparts included, is body of the last
//     entity (its `opaque` is set and MimeTree::limited says so). Dovecot's
//     max_total_mime_parts is also 10000.
//   - header: each entity's header goes through HeaderParser with these
//     limits; past a limit the remaining fields of that header are skipped
//     (the header section still ends at its empty line).
// Sizes are at most the buffer's size plus its line count: uint64_t.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mail/header.h"

namespace tern::mail {

struct MimeLimits {
  size_t nesting = 100;  // mime_nesting_limit
  size_t parts = 10000;  // entities in one message
  // Per entity. The field limit is generous because a long To: of a big
  // list is legitimate; only the Content-* fields are kept.
  HeaderLimits header = {1024 * 1024, 1000, 128 * 1024};
};

// One Content-Type or Content-Disposition parameter (RFC 2045 5.1).
// RFC 2231 continuations (name*0, name*1*...) are joined into one
// parameter; when any segment is encoded (name*, name*0*) the joined
// parameter is named "name*" and keeps its value in RFC 2231 form
// (charset'language'%XX...), as Dovecot's BODYSTRUCTURE gives it (Tern
// also percent-encodes the plain segments joined to encoded ones, where
// Dovecot copies them raw). Joined parameters follow the others. Names keep
// the case they were written in; values are unquoted (quoted-pairs
// resolved). At most kMaxMimeParams per field.
struct MimeParam {
  std::string name;
  std::string value;
};
inline constexpr size_t kMaxMimeParams = 256;

// The decoded value of an RFC 2231 parameter value as stored above
// ("utf-8''%E2%82%AC" -> "€" in UTF-8); other values as they are.
// Unknown charsets keep the raw bytes.
std::string decode_param_value(const MimeParam& param);
// The value of parameter `name` (plain or "name*" form, decoded), if any.
std::optional<std::string> param_value(const std::vector<MimeParam>& params, std::string_view name);

// "type/subtype; params" (RFC 2045 5.1). type and subtype keep the case
// they were written in (BODYSTRUCTURE shows them so); compare with
// equals_nocase. Absent or unparsable: nullopt, and the defaults apply
// (text/plain; charset=us-ascii, or message/rfc822 in multipart/digest).
struct ContentType {
  std::string type;
  std::string subtype;
  std::vector<MimeParam> params;
};
std::optional<ContentType> parse_content_type(std::string_view value);

// "disposition; params" (RFC 2183). nullopt when absent or empty.
struct ContentDisposition {
  std::string type;  // as written ("attachment", "inline", ...)
  std::vector<MimeParam> params;
};
std::optional<ContentDisposition> parse_content_disposition(std::string_view value);

struct MimePart {
  enum class Kind : uint8_t { kLeaf, kMultipart, kMessage };

  Kind kind = Kind::kLeaf;
  // The limits stopped this entity from being split further (see above).
  bool opaque = false;
  // Content-Type was present and parsed; else type/subtype/params hold the
  // defaults.
  bool has_content_type = false;
  uint32_t depth = 0;
  uint32_t parent = 0;  // parts[0].parent is 0 too
  // Indices into MimeTree::parts: a multipart's parts, or the encapsulated
  // message of a message/rfc822 part.
  std::vector<uint32_t> children;

  // Raw offsets into the buffer. The header section runs from header_begin
  // to body_begin and includes the empty line that ends it (when there is
  // one); the body runs from body_begin to body_end.
  size_t header_begin = 0;
  size_t body_begin = 0;
  size_t body_end = 0;
  // The same, counted in the CRLF form: sizes for IMAP.
  uint64_t header_size = 0;
  uint64_t body_size = 0;
  // Lines of the body (RFC 3501 body-fld-lines, for text/* and
  // message/rfc822): the line ends in the body, so a last line without
  // one does not count (as Dovecot counts).
  uint64_t body_lines = 0;

  // Content-Type (defaults filled in: "text" "plain" charset=us-ascii;
  // a text/* type without a charset gets charset=us-ascii appended).
  std::string type = "text";
  std::string subtype = "plain";
  std::vector<MimeParam> params;
  // The other Content-* fields, unfolded and trimmed; nullopt when absent.
  std::optional<std::string> encoding;     // Content-Transfer-Encoding, as written
  std::optional<std::string> id;           // Content-ID
  std::optional<std::string> description;  // Content-Description (raw, RFC 2047 words kept)
  std::optional<std::string> md5;          // Content-MD5
  std::optional<ContentDisposition> disposition;
  std::vector<std::string> language;       // Content-Language tags, in order
  std::optional<std::string> location;     // Content-Location (folds removed)

  bool is_type(std::string_view t) const;                         // nocase
  bool is_type(std::string_view t, std::string_view sub) const;  // nocase
  // The Content-Transfer-Encoding lowercased; "7bit" when absent.
  std::string encoding_lower() const;
};

struct MimeTree {
  std::vector<MimePart> parts;  // parts[0]: the message
  // The parts or nesting limit was hit somewhere (also logged by callers
  // that care: the message is served, just less finely divided).
  bool limited = false;
  // The buffer held at least one bare LF line end.
  bool has_bare_lf = false;
  // The whole message in CRLF form: RFC822.SIZE.
  uint64_t size() const { return parts.empty() ? 0 : parts[0].header_size + parts[0].body_size; }
};

MimeTree parse_mime(std::string_view message, const MimeLimits& limits = {});
// The same, calling progress(offset) each time the parse has gone past
// another kMimeProgressStep bytes: it never reads the bytes before
// `offset` again, so a reader of a mapped file may drop those pages from
// its resident set (store/mapped_message.h) and parse a 1 GB message with
// little memory.
inline constexpr size_t kMimeProgressStep = 1 << 20;
MimeTree parse_mime(std::string_view message, const MimeLimits& limits,
                    const std::function<void(size_t offset)>& progress);

// The entity an IMAP section part number names ({} for the message
// itself, {1, 2} for "1.2"), or nullopt when there is no such part. See the
// mapping at the top. The result may be an encapsulated message (for the
// "1" of a non-multipart message/rfc822 body).
std::optional<uint32_t> resolve_section(const MimeTree& tree, const std::vector<uint32_t>& numbers);

// The header fields of an entity's header section (parsed again from the
// buffer, with the tree's limits; what a limit cut is missing).
std::vector<HeaderField> entity_fields(std::string_view message, const MimePart& part,
                                       const HeaderLimits& limits = {});

}  // namespace tern::mail
