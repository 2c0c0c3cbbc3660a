#pragma once
// The bytes of FETCH BODY[section]<origin.count> (RFC 3501 6.4.5), and of
// RFC822 (= BODY[]), RFC822.HEADER (= BODY.PEEK[HEADER]) and RFC822.TEXT
// (= BODY[TEXT]), from a message's bytes and its MimeTree (mime.h).
//
//   BODY[]                the whole message
//   BODY[HEADER]          the message's header, with the empty line after it
//   BODY[TEXT]            the message's body
//   BODY[HEADER.FIELDS (a b)]      the fields named, in message order, each
//                         with its folds, then an empty line (always, also
//                         when no field matched)
//   BODY[HEADER.FIELDS.NOT (a b)]  the other fields, then an empty line
//   BODY[1.2]             the body of part 1.2 (mime.h resolve_section)
//   BODY[1.2.MIME]        the MIME header of part 1.2, with its empty line
//   BODY[3.HEADER], [3.TEXT], [3.HEADER.FIELDS ...]  the same as the
//                         message-level ones, of the message inside the
//                         message/rfc822 part 3
//
// A section that does not exist (BODY[7] of a 2-part message, 2.HEADER of
// a part that is not message/rfc822) gives no bytes, exists() false: send
// an empty string "" as Dovecot does (RFC 3501 leaves it open; an empty
// string keeps clients that loop over the parts going). Field names
// compare case-insensitively.
//
// <origin.count>: `count` octets from `origin`; an origin past the end
// gives the empty string (RFC 3501 6.4.5). The response names only the
// origin: BODY[]<0> (fetch_items.h FetchItem::response_name).
//
// Every octet and offset is of the CRLF form (mime.h): a bare-LF file is
// sent with CRLF line ends, and its sizes match RFC822.SIZE and
// BODYSTRUCTURE. Nothing is copied up front: a SectionData holds a range
// of the caller's buffer (the mmap) and produces the bytes as they are
// read, so a 50 MB attachment costs a 50 MB write, not a 50 MB string.
// Only HEADER.FIELDS[.NOT] builds a string (bounded by the header).
// SectionData keeps no pointer into the buffer: pass the same bytes to
// read() each time, and keep the mapping alive until the last read.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/imap/fetch_items.h"
#include "common/mail/mime.h"

namespace tern::imap {

class SectionData {
 public:
  // Whether the section exists (a missing one has size() 0).
  bool exists() const { return exists_; }
  // Octets left to send: the literal's length before the first read.
  uint64_t size() const { return left_; }
  // Appends up to `max` of the next octets to *out; returns how many (0
  // once everything was read).
  size_t read(std::string_view message, std::string* out, size_t max);
  // Everything left, in one string (for small sections and tests).
  std::string read_all(std::string_view message);

 private:
  friend SectionData fetch_section(std::string_view, const mail::MimeTree&, const Section&,
                                   const std::optional<Partial>&);
  void set_range(std::string_view message, size_t begin, size_t end, uint64_t full_size, bool bare_lf,
                 const std::optional<Partial>& partial);
  void set_text(std::string text, const std::optional<Partial>& partial);

  bool exists_ = false;
  bool built_ = false;
  std::string text_;     // built_: the section's text
  size_t pos_ = 0;       // next raw offset (or offset into text_)
  size_t end_ = 0;       // raw end of the range
  bool normalise_ = false;
  bool pending_lf_ = false;  // the CR of a normalised bare LF went out; its LF is next
  uint64_t left_ = 0;
};

// The data of BODY[section]<partial>.
SectionData fetch_section(std::string_view message, const mail::MimeTree& tree, const Section& section,
                          const std::optional<Partial>& partial = std::nullopt);

}  // namespace tern::imap
