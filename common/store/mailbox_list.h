#pragma once
// The folder tree of one user's Maildir++ as IMAP sees it: names,
// attributes, LIST/LSUB pattern matching, CREATE, DELETE and RENAME.
//
// Names. The protocol speaks UTF-8 names (the parser decodes modified UTF-7
// at the edge) with "/" as the hierarchy separator; "INBOX" (any case, RFC
// 3501 5.1) is the Maildir root. Every other mailbox "a/b/c" is the
// directory <Maildir>/.a.b.c (Maildir++, Dovecot's layout with
// LAYOUT=maildir++), each level in modified UTF-7 (mutf7.h). The names of
// maildir.h ("a.b", used by lmtp-deliver and ternadm) are these names with
// "/" written "."; a level therefore cannot contain "." (Dovecot refuses it
// with the "/" separator too). "INBOX" as the first level of a longer name
// is written in capitals ("inbox/x" is "INBOX/x", directory .INBOX.x).
// Refused, with Errc::kInvalid and a reason: empty names and levels
// ("a//b", a trailing "/" except where CREATE allows it), "..", a "." in a
// level, NUL and control characters (C0, DEL, C1), malformed UTF-8, a
// leading "~", "#" or "/" (home, namespace and absolute syntax of other
// servers); Errc::kLimit past kMaxMailboxName bytes, kMaxMailboxLevels
// levels, or a directory name longer than NAME_MAX once encoded. A valid
// name always maps to exactly one directory directly below the Maildir, so
// no name reaches another user's mail or leaves the Maildir.
//
// Attributes (list()): a directory .x with cur/ is a selectable mailbox; a
// directory .x without cur/ is a hierarchy-only name (\Noselect: made by
// CREATE "x/"); a name that has no directory but has children (".x.y"
// exists, ".x" does not) is listed too, as \Noselect \NonExistent (RFC 5258
// 3: LIST-EXTENDED clients see \NonExistent, which implies \Noselect; plain
// RFC 3501 LIST shows \Noselect). Every entry has \HasChildren or
// \HasNoChildren (RFC 3348). The top-level Sent, Drafts, Trash, Junk and
// Archive that lmtp-deliver creates (kSpecialUseFolders, maildir.h) carry
// \Sent \Drafts \Trash \Junk \Archive (RFC 6154).
//
// Errors imapd turns into response codes (RFC 5530): already_exists() →
// [ALREADYEXISTS] (Errc::kSystem with errno EEXIST, as mkdir(2) says it), Errc::kNotFound → [NONEXISTENT], Errc::kInvalid →
// [CANNOT] (a bad name or a forbidden operation, with the reason in the
// text), Errc::kLimit → [LIMIT], Errc::kTemporary → [INUSE] (a lock held
// too long), other → [SERVERBUG]/[UNAVAILABLE].
//
// DELETE (RFC 3501 6.3.4), decided as Dovecot does for Maildir++: the
// mailbox's directory goes with everything in it (messages, tern-uidlist,
// tern-index, dovecot-keywords); its children are separate directories and
// stay, so a deleted parent shows afterwards as \Noselect \NonExistent
// \HasChildren. INBOX can never be deleted. A \Noselect name with children
// cannot be deleted (RFC 3501 6.3.4); a hierarchy-only name without
// children can. Subscriptions are not touched (RFC 3501 6.3.9: a server
// MUST NOT remove a subscription on its own). The directory is first
// renamed into <Maildir>/tmp/ (one atomic step that makes it vanish for
// everyone, durable with an fsync of the Maildir) and only then removed,
// so a crash never leaves a half-deleted mailbox visible; a crash during
// the removal leaves a ".tern-deleted.*" directory in tmp/ that the next
// DELETE removes.
//
// RENAME (RFC 3501 6.3.5): the mailbox and all its children move (one
// rename(2) per directory, each with RENAME_NOREPLACE so an existing target
// is never overwritten); the target and the target names of the children
// must not exist, a mailbox cannot move below itself, and missing parents
// of the target are created. Renaming INBOX creates the target and moves
// INBOX's messages (and its keyword names) into it one rename(2) each, so
// every message is in exactly one of the two at every instant; INBOX stays,
// empty, and its children do not move. The target's UIDs are new (a new
// UID list and UIDVALIDITY).
//
// CREATE (RFC 3501 6.3.3): missing parents are created as selectable
// mailboxes (the RFC's SHOULD); a trailing "/" creates a hierarchy-only
// name (a directory without cur/). A new mailbox is built complete in
// <Maildir>/tmp/ (cur/, new/, tmp/, maildirfolder, a UID list) and renamed
// into place with RENAME_NOREPLACE: nobody sees it half made, and losing a
// race to another creator is already_exists(). UIDVALIDITY of a new mailbox is
// above every UIDVALIDITY this Maildir has handed out through this module
// (<Maildir>/tern-uidvalidity), so a mailbox deleted and created again in
// the same second still gets a new one (RFC 3501 2.3.1.1).
//
// Concurrency: CREATE, DELETE and RENAME of one user serialise on an OFD
// lock on <Maildir>/tern-mailboxes.lock (another imapd), and DELETE and
// INBOX's RENAME also hold the folder's lock (uidlist.h) so a STORE or
// EXPUNGE in flight finishes first. lmtp-deliver takes no lock: a delivery
// racing a DELETE lands before the directory moves (and goes with it) or
// fails and is retried (its rename into new/ finds no directory); a
// delivery racing INBOX's RENAME stays in INBOX. Another process's Folder
// (folder.h) on a deleted or renamed mailbox gets Errc::kNotFound from
// sync().
//
// Everything here blocks on the disk: call it from the worker pool. No
// event loop dependency; no state kept between calls (each call reads the
// directory afresh), so one object may serve any number of sessions of the
// user from one thread at a time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::store {

inline constexpr char kMailboxSeparator = '/';
// Longest UTF-8 name accepted (as maildir.h's kMaxFolderName).
inline constexpr size_t kMaxMailboxName = 200;
inline constexpr size_t kMaxMailboxLevels = 16;
// More directories than this below one Maildir: CREATE fails with
// Errc::kLimit and list() reads no further.
inline constexpr size_t kMaxMailboxes = 10000;
// LIST patterns longer than this match nothing.
inline constexpr size_t kMaxListPattern = 1024;

enum MailboxAttr : uint32_t {
  kAttrNoselect = 1u << 0,      // \Noselect
  kAttrNonExistent = 1u << 1,   // \NonExistent (RFC 5258); always with kAttrNoselect
  kAttrHasChildren = 1u << 2,   // \HasChildren (RFC 3348)
  kAttrHasNoChildren = 1u << 3, // \HasNoChildren
  kAttrSubscribed = 1u << 4,    // \Subscribed (RFC 5258), only where asked for
  kAttrSent = 1u << 5,          // RFC 6154
  kAttrDrafts = 1u << 6,
  kAttrTrash = 1u << 7,
  kAttrJunk = 1u << 8,
  kAttrArchive = 1u << 9,
};

struct MailboxEntry {
  std::string name;   // UTF-8, "/"-separated; "INBOX" for the Maildir root
  uint32_t attrs = 0; // MailboxAttr bits
  bool operator==(const MailboxEntry&) const = default;
};

// The error of a CREATE or RENAME whose target exists.
Error mailbox_exists_error(std::string_view name);
bool already_exists(const Error& e);

// The attributes as IMAP writes them between the parentheses, in a fixed
// order ("\Noselect \HasChildren"). With extended = false (RFC 3501 LIST,
// LSUB) \NonExistent and \Subscribed are left out.
std::string format_mailbox_attrs(uint32_t attrs, bool extended);

// "INBOX" in any case.
bool is_inbox(std::string_view name);
// Checks a name (see the top of this file) and returns its canonical form:
// "INBOX" in capitals as the first level, nothing else changed. With
// allow_trailing_separator (CREATE), one trailing "/" is accepted and kept.
Result<std::string> canonical_mailbox_name(std::string_view name, bool allow_trailing_separator = false);
// The directory of a mailbox below the Maildir (".a.b", modified UTF-7);
// Errc::kInvalid for INBOX, which is the Maildir itself.
Result<std::string> mailbox_dir_name(std::string_view name);
// The mailbox name of a directory entry below the Maildir; an error for
// entries that are not mailbox directories in canonical form.
Result<std::string> mailbox_name_from_dir(std::string_view dir_name);
// The directory of a mailbox: the Maildir for INBOX. Checks the name only,
// not that the mailbox exists (MailboxList::find does).
Result<std::string> mailbox_path(std::string_view maildir, std::string_view name);

// A LIST/LSUB pattern (RFC 3501 6.3.8): the reference and the mailbox
// argument joined ("" + "*", "Archive/" + "%"); "*" matches anything, "%"
// anything but "/". INBOX matches case-insensitively ("inbox", "iN%"). An
// empty mailbox argument is the caller's special case (RFC 3501 6.3.8:
// answer the hierarchy delimiter, `* LIST (\Noselect) "/" ""`); it matches
// nothing here.
class MailboxPattern {
 public:
  MailboxPattern(std::string_view reference, std::string_view pattern);
  bool matches(std::string_view name) const;
  const std::string& text() const { return pattern_; }

 private:
  std::string pattern_;
};

class MailboxList {
 public:
  // The user's Maildir (maildir_path(home)), which must exist
  // (ensure_maildir, maildir.h).
  explicit MailboxList(std::string maildir);
  const std::string& maildir() const { return maildir_; }

  // Every name (see "Attributes" above): INBOX first, then the others in
  // byte order of their UTF-8 names, implied parents included.
  Result<std::vector<MailboxEntry>> all() const;
  // LIST: the entries whose names match.
  Result<std::vector<MailboxEntry>> list(const MailboxPattern& pattern) const;
  // LSUB (RFC 3501 6.3.9): the subscribed names (subscriptions.h) that
  // match, with their attributes when they exist and \Noselect when they
  // do not; a name that is not subscribed itself but is a parent of a
  // subscribed name the pattern does not match ("%" stopped at its level)
  // is listed \Noselect when the pattern matches it.
  Result<std::vector<MailboxEntry>> lsub(const MailboxPattern& pattern) const;
  // One name's entry (SELECT, STATUS, APPEND need a selectable one);
  // std::nullopt when the name neither exists nor has children.
  Result<std::optional<MailboxEntry>> find(std::string_view name) const;

  // CREATE. already_exists() when the name exists (INBOX always does).
  Status create(std::string_view name);
  // DELETE. Errc::kNotFound, Errc::kInvalid for INBOX and for a \Noselect
  // name with children.
  Status remove(std::string_view name);
  // RENAME. Errc::kNotFound for a missing source, already_exists() when the
  // target or a child's target exists, Errc::kInvalid for a move below
  // itself.
  Status rename(std::string_view from, std::string_view to);

 private:
  std::string maildir_;
};

}  // namespace tern::store
