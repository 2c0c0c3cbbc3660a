#pragma once
// A user's Maildir++ store: layout, folder names and creation.
//
// Layout (Maildir++, as Courier and Dovecot write it):
//   <home>/Maildir/{cur,new,tmp}          INBOX
//   <home>/Maildir/.<name>/{cur,new,tmp}  every other folder, plus an empty
//                                         "maildirfolder" file
//   <home>/Maildir/maildirsize            quota usage (maildirsize.h)
//   <folder>/tern-uidlist, .lock          UIDs (uidlist.h)
// Folder names here are Maildir++ names, hierarchy levels separated by "."
// ("Archive.2024" is <Maildir>/.Archive.2024), UTF-8 here and modified UTF-7
// on disk (mutf7.h). IMAP shows the same folders with "/" between levels
// ("Archive/2024"): mailbox_list.h is that view, with stricter names.
//
// What is authoritative here: the directories and the message files
// themselves, with their flags in the ":2," suffix (message_file.h). The
// index/cache of DESIGN.md ("Mail store") is not part of this library yet.
//
// Creation is idempotent and safe against a concurrent creator (lmtp-deliver
// and imapd of the same user at once): a folder is built complete under
// tmp/ and renamed into place, so nobody ever sees a folder without its
// cur/, new/ and tmp/; losing the race to another creator is success.
// Creation does blocking file system work: run it on the worker pool.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::store {

// The special-use folders (RFC 6154) every Maildir gets.
inline constexpr std::string_view kSpecialUseFolders[] = {"Sent", "Drafts", "Trash", "Junk", "Archive"};

// Longest UTF-8 folder name accepted; the on-disk directory name must also
// fit NAME_MAX (255) once encoded.
inline constexpr size_t kMaxFolderName = 200;

// <home>/Maildir.
std::string maildir_path(std::string_view home);

// Checks a protocol (UTF-8) folder name. Refused, with Errc::kInvalid:
// empty, not UTF-8, control characters (C0, DEL, C1) or NUL, "/", a leading
// "~" or "#" (home and namespace syntax of other servers), empty hierarchy
// levels ("a..b", ".a", "a."), and "INBOX" in any case as a level of its own
// at the top (INBOX is the Maildir itself). Errc::kLimit when too long.
Status check_folder_name(std::string_view utf8_name);

// The directory name of a folder below the Maildir ("." + modified UTF-7),
// after check_folder_name().
Result<std::string> folder_dir_name(std::string_view utf8_name);
// The protocol name of a directory entry below the Maildir, or an error
// for entries that are not folders in canonical form.
Result<std::string> folder_name_from_dir(std::string_view dir_name);
// The folder's directory: the Maildir itself for "INBOX" (any case).
Result<std::string> folder_path(std::string_view maildir, std::string_view utf8_name);

// Creates <home> (mode 0700) when missing, the Maildir and the special-use
// folders. Idempotent; a concurrent creator is not an error. Durable: the
// directory entries are fsynced before this returns.
Status ensure_maildir(std::string_view home);
// Creates one folder (with its parents' directories untouched: Maildir++
// folders are flat). Idempotent and race-safe as above; repairs a folder
// whose cur/, new/ or tmp/ went missing.
Status ensure_folder(std::string_view maildir, std::string_view utf8_name);

// The folders present (protocol names, sorted; INBOX not included). Entries
// that are not canonical folder directories are skipped.
Result<std::vector<std::string>> list_folders(std::string_view maildir);

}  // namespace tern::store
