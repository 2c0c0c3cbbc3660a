#pragma once
// Message flags as Maildir keeps them: the ":2,<flags>" suffix of a message
// file name (http://cr.yp.to/proto/maildir.html, "info semantics").
//
// The suffix holds one ASCII letter per flag, in ASCII order, each at most
// once. The letters Tern maps to IMAP (RFC 3501 2.3.2):
//   D \Draft   F \Flagged   R \Answered   S \Seen   T \Deleted
//   a..z       keyword 0..25 of the folder's dovecot-keywords file
//              (keywords.h), as Dovecot writes them
// Every other character (P "passed", letters of other programs, digits) is
// kept as it is when flags change, so other Maildir tools keep their state.
// After a "," the rest of the suffix is not flags: Dovecot reserves
// "<flags>[,<fields>]" for extension fields and so does Tern; it is kept
// verbatim.
//
// A name without ":2," has no flags (a message still in new/, or written by
// a tool that never set any). Names with another info ("...:1,...") are
// taken as bases without info, as message_file.h does; giving them flags
// appends ":2,<flags>", so their base (and UID) stays the same.
//
// Nothing here touches the disk.

#include <cstdint>
#include <string>
#include <string_view>

namespace tern::store {

// The IMAP system flags that live in the file name (\Recent does not: it is
// a session property).
enum SystemFlag : uint8_t {
  kFlagSeen = 1 << 0,      // S
  kFlagAnswered = 1 << 1,  // R
  kFlagFlagged = 1 << 2,   // F
  kFlagDeleted = 1 << 3,   // T
  kFlagDraft = 1 << 4,     // D
};
inline constexpr uint8_t kAllSystemFlags = 0x1f;
// At most 26 keywords per folder: the letters a..z.
inline constexpr size_t kMaxKeywordLetters = 26;

struct MessageFlags {
  uint8_t system = 0;     // SystemFlag bits
  uint32_t keywords = 0;  // bit i: keyword index i, letter 'a' + i
  std::string other;      // other flag characters, sorted, each once
  std::string extension;  // from the first "," on (with it), verbatim

  bool has(SystemFlag f) const { return (system & f) != 0; }
  bool has_keyword(size_t index) const { return index < kMaxKeywordLetters && (keywords >> index) & 1u; }
  // The flags that IMAP sees are equal (system and keywords).
  bool same_imap(const MessageFlags& o) const { return system == o.system && keywords == o.keywords; }
  bool operator==(const MessageFlags&) const = default;
};

// What a STORE does (RFC 3501 6.4.6): FLAGS replaces, +FLAGS adds, -FLAGS
// removes. `other` and `extension` of the current flags always survive.
enum class FlagOp { kReplace, kAdd, kRemove };
MessageFlags apply_flags(const MessageFlags& current, FlagOp op, uint8_t system, uint32_t keywords);

// The flags of a ":2," suffix (the part after ":2,"). Never fails: unknown
// characters go to `other`, repeated ones count once.
MessageFlags parse_flags(std::string_view suffix);
// The suffix for these flags: every letter once, in ASCII order, then the
// extension.
std::string format_flags(const MessageFlags& flags);
// The flags of a whole file name ("<base>:2,<flags>", or no flags at all).
MessageFlags flags_of_name(std::string_view file_name);
// The file name after a flag change: "<base>:2,<flags>". `file_name` is the
// current name (with or without a suffix).
std::string name_with_flags(std::string_view file_name, const MessageFlags& flags);

// IMAP's spelling of a system flag ("\\Seen"), and back (case-insensitive,
// RFC 3501 2.3.2; 0 when it is not one of the five).
std::string_view system_flag_name(SystemFlag flag);
uint8_t system_flag_from_name(std::string_view name);

}  // namespace tern::store
