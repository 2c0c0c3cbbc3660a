// The folder tree of one user's Maildir++ as IMAP sees it (mailbox_list.h).

#include "common/store/mailbox_list.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/mail/utf8.h"
#include "common/store/keywords.h"
#include "common/store/maildir.h"
#include "common/store/subscriptions.h"
#include "common/store/uidlist.h"

namespace tern::store {
namespace {

constexpr int kDirMode = 0700;
constexpr std::string_view kTreeLockName = "tern-mailboxes.lock";
constexpr std::string_view kUidValidityName = "tern-uidvalidity";
constexpr std::string_view kDeletedPrefix = ".tern-deleted.";
std::atomic<unsigned long> scratch_counter{0};

struct SpecialUse {
  std::string_view name;
  uint32_t attr;
};
constexpr SpecialUse kSpecialUse[] = {
    {"Sent", kAttrSent}, {"Drafts", kAttrDrafts}, {"Trash", kAttrTrash}, {"Junk", kAttrJunk}, {"Archive", kAttrArchive},
};

bool is_control(char32_t c) { return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f); }

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string parent_name(std::string_view name) {
  size_t slash = name.rfind(kMailboxSeparator);
  return slash == std::string_view::npos ? std::string() : std::string(name.substr(0, slash));
}

std::string scratch_path(const std::string& maildir, std::string_view what) {
  return maildir + "/tmp/" + std::string(what) + std::to_string(::getpid()) + "." +
         std::to_string(scratch_counter.fetch_add(1, std::memory_order_relaxed));
}

// rename(2) that never replaces an existing target (an empty hierarchy-only
// directory would otherwise be replaced silently). File systems without
// RENAME_NOREPLACE get a check first: the window is covered by the tree
// lock against Tern, and lmtp-deliver never creates these names but the
// special-use ones.
Status rename_noreplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  if (errno != EINVAL && errno != ENOSYS) return sys_error("rename " + from + " to " + to);
  struct stat st;
  if (::lstat(to.c_str(), &st) == 0) return sys_error("rename " + from + " to " + to, EEXIST);
  if (::rename(from.c_str(), to.c_str()) < 0) return sys_error("rename " + from + " to " + to);
  return {};
}

bool exists_errno(const Error& e) { return e.code == Errc::kSystem && (e.err == EEXIST || e.err == ENOTEMPTY); }

// Every directory below the Maildir that is a mailbox: name → selectable.
Result<std::map<std::string, bool>> read_tree(const std::string& maildir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(maildir.c_str()), ::closedir);
  if (!d) return sys_error("opendir " + maildir);
  std::map<std::string, bool> out;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d.get());
    if (!e) {
      if (errno != 0) return sys_error("readdir " + maildir);
      break;
    }
    std::string_view n = e->d_name;
    if (n.size() < 2 || n[0] != '.' || n == "..") continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    auto name = mailbox_name_from_dir(n);
    if (!name) continue;
    const std::string path = maildir + "/" + std::string(n);
    if (e->d_type == DT_UNKNOWN && !is_dir(path)) continue;
    out.emplace(std::move(*name), is_dir(path + "/cur"));
    if (out.size() >= kMaxMailboxes) break;
  }
  return out;
}

// The entries of a tree: INBOX, the directories, their implied parents.
std::vector<MailboxEntry> entries_of(const std::map<std::string, bool>& tree) {
  std::map<std::string, uint32_t> attrs;
  attrs["INBOX"] = 0;
  for (const auto& [name, selectable] : tree) {
    attrs[name] |= selectable ? 0u : uint32_t{kAttrNoselect};
    for (std::string p = parent_name(name); !p.empty(); p = parent_name(p)) {
      // A parent sorts before its children: when it has a directory, it
      // is in already and emplace() keeps it.
      auto it = attrs.emplace(p, kAttrNoselect | kAttrNonExistent).first;
      it->second |= kAttrHasChildren;
    }
  }
  std::vector<MailboxEntry> out;
  out.reserve(attrs.size());
  auto finish = [](const std::string& name, uint32_t a) {
    if (!(a & kAttrHasChildren)) a |= kAttrHasNoChildren;
    if (!(a & kAttrNoselect)) {
      for (const SpecialUse& s : kSpecialUse)
        if (name == s.name) a |= s.attr;
    }
    return MailboxEntry{name, a};
  };
  out.push_back(finish("INBOX", attrs["INBOX"]));
  for (const auto& [name, a] : attrs)
    if (name != "INBOX") out.push_back(finish(name, a));
  return out;
}

// The last UIDVALIDITY handed out by this module (0 when none).
uint32_t read_last_uidvalidity(const std::string& maildir) {
  auto fd = open_fd(maildir + "/" + std::string(kUidValidityName), O_RDONLY);
  if (!fd) return 0;
  char buf[32];
  ssize_t n = ::read(fd->get(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  auto v = parse_int(trim(std::string_view(buf, static_cast<size_t>(n))));
  return v && *v > 0 && *v < UINT32_MAX ? static_cast<uint32_t>(*v) : 0;
}

Status write_last_uidvalidity(const std::string& maildir, uint32_t v) {
  return write_file_atomic(maildir + "/" + std::string(kUidValidityName), std::to_string(v) + "\n",
                           DurableOptions{0600, true});
}

// The UIDVALIDITY of a folder's UID list, 0 when it has none.
uint32_t folder_uidvalidity(const std::string& folder) {
  auto fd = open_fd(folder + "/" + std::string(kUidListName), O_RDONLY);
  if (!fd) return 0;
  std::string buf(kMaxUidListLine + 1, '\0');
  ssize_t n = ::read(fd->get(), buf.data(), buf.size());
  if (n <= 0) return 0;
  buf.resize(static_cast<size_t>(n));
  size_t nl = buf.find('\n');
  if (nl == std::string::npos) return 0;
  UidListState st;
  if (!parse_uidlist(std::string_view(buf).substr(0, nl + 1), st)) return 0;
  return st.uidvalidity;
}

// Under the tree lock: a UIDVALIDITY above every one handed out here.
Result<uint32_t> next_uidvalidity(const std::string& maildir) {
  const uint32_t now = static_cast<uint32_t>(::time(nullptr));
  const uint32_t v = std::max(now, read_last_uidvalidity(maildir) + 1);
  if (Status st = write_last_uidvalidity(maildir, v); !st) return st.take_error();
  return v;
}

// Removes what earlier DELETEs left in tmp/ when they crashed.
void sweep_deleted(const std::string& maildir, const std::string& keep) {
  const std::string tmp = maildir + "/tmp";
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(tmp.c_str()), ::closedir);
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (n.substr(0, kDeletedPrefix.size()) == kDeletedPrefix && tmp + "/" + std::string(n) != keep)
      stale.push_back(tmp + "/" + std::string(n));
  }
  for (const std::string& p : stale) {
    std::error_code ignored;
    std::filesystem::remove_all(p, ignored);
  }
}

Status copy_keywords(const std::string& from_folder, const std::string& to_folder) {
  const std::string from = from_folder + "/" + std::string(kKeywordsName);
  auto fd = open_fd(from, O_RDONLY);
  if (!fd) return fd.error().err == ENOENT ? Status() : Status(fd.take_error());
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + from);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxKeywordsFile) break;
  }
  return write_file_atomic(to_folder + "/" + std::string(kKeywordsName), text, DurableOptions{0600, true});
}

}  // namespace

Error mailbox_exists_error(std::string_view name) {
  Error e = sys_error("mailbox exists: " + std::string(name), EEXIST);
  e.text = "mailbox already exists: " + std::string(name);
  return e;
}

bool already_exists(const Error& e) { return e.code == Errc::kSystem && e.err == EEXIST; }

std::string format_mailbox_attrs(uint32_t a, bool extended) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kAttrNoselect, "\\Noselect"},   {kAttrNonExistent, "\\NonExistent"},
      {kAttrHasChildren, "\\HasChildren"}, {kAttrHasNoChildren, "\\HasNoChildren"},
      {kAttrSubscribed, "\\Subscribed"}, {kAttrSent, "\\Sent"},
      {kAttrDrafts, "\\Drafts"},       {kAttrTrash, "\\Trash"},
      {kAttrJunk, "\\Junk"},           {kAttrArchive, "\\Archive"},
  };
  std::string out;
  for (const auto& [bit, text] : kNames) {
    if (!(a & bit)) continue;
    if (!extended && (bit == kAttrNonExistent || bit == kAttrSubscribed)) continue;
    if (!out.empty()) out += ' ';
    out += text;
  }
  return out;
}

bool is_inbox(std::string_view name) { return equals_nocase(name, "INBOX"); }

Result<std::string> canonical_mailbox_name(std::string_view name, bool allow_trailing_separator) {
  if (name.empty()) return invalid("empty mailbox name");
  if (name.size() > kMaxMailboxName) return make_error(Errc::kLimit, "mailbox name too long");
  std::string_view body = name;
  const bool trailing = allow_trailing_separator && body.size() > 1 && body.back() == kMailboxSeparator;
  if (trailing) body.remove_suffix(1);
  if (body[0] == '~' || body[0] == '#') return invalid("mailbox name must not start with ~ or #");
  if (body[0] == kMailboxSeparator) return invalid("mailbox name must not start with /");
  for (size_t i = 0; i < body.size();) {
    if (body[i] == '\0') return invalid("mailbox name contains NUL");
    const mail::CodePoint cp = mail::decode_utf8(body.substr(i));
    if (cp.length == 0) return invalid("mailbox name is not valid UTF-8");
    if (is_control(cp.value)) return invalid("mailbox name contains a control character");
    i += cp.length;
  }
  if (body.find("..") != std::string_view::npos) return invalid("mailbox name contains \"..\"");
  const std::vector<std::string_view> levels = split(body, kMailboxSeparator);
  if (levels.size() > kMaxMailboxLevels) return make_error(Errc::kLimit, "mailbox name has too many levels");
  for (std::string_view level : levels) {
    if (level.empty()) return invalid("mailbox name has an empty hierarchy level");
    if (level.find('.') != std::string_view::npos)
      return invalid("mailbox name has \".\" in a level (it separates levels on disk)");
  }
  std::string out;
  if (is_inbox(levels[0])) {
    out = "INBOX";
    out += body.substr(levels[0].size());
  } else {
    out = std::string(body);
  }
  if (out != "INBOX") {
    std::string flat = out;
    std::replace(flat.begin(), flat.end(), kMailboxSeparator, '.');
    if (auto dir = folder_dir_name(flat); !dir) return dir.take_error();
  }
  if (trailing) out += kMailboxSeparator;
  return out;
}

Result<std::string> mailbox_dir_name(std::string_view name) {
  auto canon = canonical_mailbox_name(name);
  if (!canon) return canon.take_error();
  if (*canon == "INBOX") return invalid("INBOX is the Maildir itself");
  std::replace(canon->begin(), canon->end(), kMailboxSeparator, '.');
  return folder_dir_name(*canon);
}

Result<std::string> mailbox_name_from_dir(std::string_view dir_name) {
  auto flat = folder_name_from_dir(dir_name);
  if (!flat) return flat.take_error();
  std::string name = std::move(*flat);
  std::replace(name.begin(), name.end(), '.', kMailboxSeparator);
  auto canon = canonical_mailbox_name(name);
  // ".inbox.x" is not canonical (".INBOX.x" is): one spelling per name.
  if (!canon || *canon != name) return invalid("not a canonical mailbox directory");
  return name;
}

Result<std::string> mailbox_path(std::string_view maildir, std::string_view name) {
  if (is_inbox(name)) return std::string(maildir);
  auto dir = mailbox_dir_name(name);
  if (!dir) return dir.take_error();
  return std::string(maildir) + "/" + *dir;
}

// ---------------------------------------------------------------- patterns

MailboxPattern::MailboxPattern(std::string_view reference, std::string_view pattern) {
  if (pattern.empty()) return;
  std::string_view ref = reference;
  if (!ref.empty() && ref.back() == kMailboxSeparator && pattern.front() == kMailboxSeparator) ref.remove_suffix(1);
  std::string joined = std::string(ref) + std::string(pattern);
  // "**", "*%" and "%*" are "*"; "%%" is "%": fewer states to track.
  for (char c : joined) {
    if ((c == '*' || c == '%') && !pattern_.empty() && (pattern_.back() == '*' || pattern_.back() == '%')) {
      if (c == '*') pattern_.back() = '*';
      continue;
    }
    pattern_ += c;
  }
  if (pattern_.size() > kMaxListPattern) pattern_.clear();
}

bool MailboxPattern::matches(std::string_view name) const {
  if (pattern_.empty()) return false;
  const size_t m = pattern_.size();
  // Positions of the pattern reachable after the name's first i bytes; a
  // wildcard may match nothing, so a position on one reaches the next.
  std::vector<char> now(m + 1, 0), next(m + 1, 0);
  auto close = [&](std::vector<char>& set) {
    for (size_t j = 0; j < m; ++j)
      if (set[j] && (pattern_[j] == '*' || pattern_[j] == '%')) set[j + 1] = 1;
  };
  now[0] = 1;
  close(now);
  // INBOX is case-insensitive, also as the first level of a longer name.
  const bool inbox = name.substr(0, 5) == "INBOX" && (name.size() == 5 || name[5] == kMailboxSeparator);
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t j = 0; j < m; ++j) {
      if (!now[j]) continue;
      const char p = pattern_[j];
      if (p == '*' || (p == '%' && c != kMailboxSeparator)) {
        next[j] = 1;
        any = true;
      } else if (p == c || (inbox && i < 5 && p != '%' && p != '*' && (p | 0x20) == (c | 0x20))) {
        next[j + 1] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close(next);
    now.swap(next);
  }
  return now[m] != 0;
}

// ---------------------------------------------------------------- the list

MailboxList::MailboxList(std::string maildir) : maildir_(std::move(maildir)) {}

Result<std::vector<MailboxEntry>> MailboxList::all() const {
  auto tree = read_tree(maildir_);
  if (!tree) return tree.take_error();
  return entries_of(*tree);
}

Result<std::vector<MailboxEntry>> MailboxList::list(const MailboxPattern& pattern) const {
  auto entries = all();
  if (!entries) return entries.take_error();
  std::vector<MailboxEntry> out;
  for (MailboxEntry& e : *entries)
    if (pattern.matches(e.name)) out.push_back(std::move(e));
  return out;
}

Result<std::vector<MailboxEntry>> MailboxList::lsub(const MailboxPattern& pattern) const {
  auto subscribed = read_subscriptions(maildir_);
  if (!subscribed) return subscribed.take_error();
  auto entries = all();
  if (!entries) return entries.take_error();
  std::map<std::string, uint32_t> existing;
  for (const MailboxEntry& e : *entries) existing.emplace(e.name, e.attrs);
  const std::set<std::string> subs(subscribed->begin(), subscribed->end());
  std::map<std::string, uint32_t> found;
  for (const std::string& s : subs) {
    if (pattern.matches(s)) {
      auto it = existing.find(s);
      found[s] = it == existing.end() || (it->second & kAttrNonExistent) ? kAttrNoselect : it->second;
      continue;
    }
    for (std::string p = parent_name(s); !p.empty(); p = parent_name(p)) {
      if (!subs.count(p) && pattern.matches(p)) found.emplace(p, kAttrNoselect);
    }
  }
  std::vector<MailboxEntry> out;
  if (auto it = found.find("INBOX"); it != found.end()) out.push_back({it->first, it->second});
  for (const auto& [name, a] : found)
    if (name != "INBOX") out.push_back({name, a});
  return out;
}

Result<std::optional<MailboxEntry>> MailboxList::find(std::string_view name) const {
  auto canon = canonical_mailbox_name(name);
  if (!canon) return canon.take_error();
  auto entries = all();
  if (!entries) return entries.take_error();
  for (MailboxEntry& e : *entries)
    if (e.name == *canon) return std::optional<MailboxEntry>(std::move(e));
  return std::optional<MailboxEntry>();
}

// ---------------------------------------------------------------- changes

namespace {

// Under the tree lock: a new mailbox directory, complete, renamed into
// place. already_exists() when the directory is there.
Status make_mailbox(const std::string& maildir, const std::string& name, bool selectable) {
  auto dir = mailbox_dir_name(name);
  if (!dir) return dir.take_error();
  const std::string target = maildir + "/" + *dir;
  if (!selectable) {
    if (::mkdir(target.c_str(), kDirMode) < 0)
      return errno == EEXIST ? mailbox_exists_error(name) : sys_error("mkdir " + target);
    return fsync_dir(maildir);
  }
  if (is_dir(target)) return mailbox_exists_error(name);
  auto validity = next_uidvalidity(maildir);
  if (!validity) return validity.take_error();
  const std::string scratch = scratch_path(maildir, ".tern-new.");
  auto build = [&]() -> Status {
    if (::mkdir(scratch.c_str(), kDirMode) < 0) return sys_error("mkdir " + scratch);
    for (const char* sub : {"/cur", "/new", "/tmp"}) {
      if (::mkdir((scratch + sub).c_str(), kDirMode) < 0) return sys_error("mkdir " + scratch + sub);
      if (Status st = fsync_dir(scratch + sub); !st) return st;
    }
    if (Status st = write_file_atomic(scratch + "/maildirfolder", "", DurableOptions{0600, true}); !st) return st;
    UidListState list;
    list.has_header = true;
    list.uidvalidity = *validity;
    return write_file_atomic(scratch + "/" + std::string(kUidListName), format_uidlist(list),
                             DurableOptions{0600, true});
  };
  Status st = build();
  if (st) st = rename_noreplace(scratch, target);
  if (!st) {
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
    return exists_errno(st.error()) ? Status(mailbox_exists_error(name)) : st;
  }
  return fsync_dir(maildir);
}

// Under the tree lock: the missing parents of a name, as selectable
// mailboxes (RFC 3501 6.3.3 SHOULD).
Status make_parents(const std::string& maildir, const std::string& name) {
  std::vector<std::string> missing;
  for (std::string p = parent_name(name); !p.empty() && p != "INBOX"; p = parent_name(p)) {
    auto dir = mailbox_dir_name(p);
    if (!dir) return dir.take_error();
    if (is_dir(maildir + "/" + *dir)) break;
    missing.push_back(p);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    Status st = make_mailbox(maildir, *it, true);
    if (!st && !already_exists(st.error())) return st;
  }
  return {};
}

Result<size_t> count_directories(const std::string& maildir) {
  auto tree = read_tree(maildir);
  if (!tree) return tree.take_error();
  return tree->size();
}

}  // namespace

Status MailboxList::create(std::string_view name) {
  auto canon = canonical_mailbox_name(name, true);
  if (!canon) return canon.take_error();
  std::string target = *canon;
  const bool hierarchy_only = target.back() == kMailboxSeparator;
  if (hierarchy_only) target.pop_back();
  if (target == "INBOX") return mailbox_exists_error(target);
  auto lock = lock_file(maildir_ + "/" + std::string(kTreeLockName));
  if (!lock) return lock.take_error();
  auto count = count_directories(maildir_);
  if (!count) return count.take_error();
  if (*count + kMaxMailboxLevels >= kMaxMailboxes) return make_error(Errc::kLimit, "too many mailboxes");
  auto dir = mailbox_dir_name(target);
  if (!dir) return dir.take_error();
  if (is_dir(maildir_ + "/" + *dir)) return mailbox_exists_error(target);
  if (Status st = make_parents(maildir_, target); !st) return st;
  return make_mailbox(maildir_, target, !hierarchy_only);
}

Status MailboxList::remove(std::string_view name) {
  auto canon = canonical_mailbox_name(name);
  if (!canon) return canon.take_error();
  if (*canon == "INBOX") return invalid("INBOX cannot be deleted");
  const std::string trash = scratch_path(maildir_, kDeletedPrefix);
  // Under the locks: the directory leaves the tree in one rename.
  auto detach = [&]() -> Status {
    auto tree_lock = lock_file(maildir_ + "/" + std::string(kTreeLockName));
    if (!tree_lock) return tree_lock.take_error();
    auto entry = find(*canon);
    if (!entry) return entry.take_error();
    if (!*entry || ((*entry)->attrs & kAttrNonExistent))
      return make_error(Errc::kNotFound, "no such mailbox: " + *canon);
    const uint32_t attrs = (*entry)->attrs;
    // RFC 3501 6.3.4: a \Noselect name with inferiors cannot be deleted.
    if ((attrs & kAttrNoselect) && (attrs & kAttrHasChildren))
      return invalid("mailbox has children and holds no messages: delete the children first");
    auto path = mailbox_path(maildir_, *canon);
    if (!path) return path.take_error();
    // A STORE or EXPUNGE of another process in this folder finishes first.
    std::optional<FolderLock> folder_lock;
    if (!(attrs & kAttrNoselect)) {
      auto l = lock_folder(*path);
      if (!l) return l.take_error();
      folder_lock.emplace(std::move(*l));
      // A mailbox created again under this name gets a higher UIDVALIDITY.
      if (uint32_t v = folder_uidvalidity(*path); v > read_last_uidvalidity(maildir_)) {
        if (Status st = write_last_uidvalidity(maildir_, v); !st) return st;
      }
    }
    if (Status st = rename_noreplace(*path, trash); !st) {
      if (st.error().err == ENOENT) return make_error(Errc::kNotFound, "no such mailbox: " + *canon);
      return st;
    }
    if (Status st = fsync_dir(maildir_); !st) return st;
    return fsync_dir(maildir_ + "/tmp");
  };
  if (Status st = detach(); !st) return st;
  // The mailbox is gone for everyone already; whatever a crash leaves in
  // tmp/ goes with the next DELETE.
  std::error_code ignored;
  std::filesystem::remove_all(trash, ignored);
  sweep_deleted(maildir_, trash);
  return fsync_dir(maildir_ + "/tmp");
}

Status MailboxList::rename(std::string_view from_name, std::string_view to_name) {
  auto from = canonical_mailbox_name(from_name);
  if (!from) return from.take_error();
  auto to = canonical_mailbox_name(to_name);
  if (!to) return to.take_error();
  if (*to == "INBOX" || *to == *from) return mailbox_exists_error(*to);
  if (to->size() > from->size() && to->compare(0, from->size(), *from) == 0 &&
      (*to)[from->size()] == kMailboxSeparator && *from != "INBOX")
    return invalid("a mailbox cannot move below itself");
  auto lock = lock_file(maildir_ + "/" + std::string(kTreeLockName));
  if (!lock) return lock.take_error();
  auto tree = read_tree(maildir_);
  if (!tree) return tree.take_error();
  if (tree->count(*to)) return mailbox_exists_error(*to);

  if (*from == "INBOX") {
    // RFC 3501 6.3.5: INBOX's messages move to the new mailbox, INBOX
    // stays, its children do not move.
    if (Status st = make_parents(maildir_, *to); !st) return st;
    if (Status st = make_mailbox(maildir_, *to, true); !st) return st;
    auto target = mailbox_path(maildir_, *to);
    if (!target) return target.take_error();
    auto inbox_lock = lock_folder(maildir_);
    if (!inbox_lock) return inbox_lock.take_error();
    if (Status st = copy_keywords(maildir_, *target); !st) return st;
    // new/ before cur/: a file another program moves from new/ to cur/
    // meanwhile is found in cur/.
    for (const char* sub : {"new", "cur"}) {
      const std::string src = maildir_ + "/" + sub;
      std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(src.c_str()), ::closedir);
      if (!d) return sys_error("opendir " + src);
      std::vector<std::string> names;
      while (dirent* e = ::readdir(d.get()))
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
      for (const std::string& n : names) {
        Status st = rename_noreplace(src + "/" + n, *target + "/" + sub + "/" + n);
        if (!st && st.error().err != ENOENT) return st;
      }
    }
    for (const char* sub : {"/new", "/cur"}) {
      if (Status st = fsync_dir(*target + sub); !st) return st;
      if (Status st = fsync_dir(maildir_ + sub); !st) return st;
    }
    return {};
  }

  auto it = tree->find(*from);
  if (it == tree->end()) return make_error(Errc::kNotFound, "no such mailbox: " + *from);
  // The mailbox and every child directory, each to its new name.
  std::vector<std::pair<std::string, std::string>> moves;
  const std::string prefix = *from + kMailboxSeparator;
  for (auto c = it; c != tree->end(); ++c) {
    if (c->first != *from && c->first.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string next = *to + c->first.substr(from->size());
    auto canon = canonical_mailbox_name(next);
    if (!canon) return canon.take_error();
    if (*canon != next || tree->count(next)) return mailbox_exists_error(next);
    moves.emplace_back(c->first, next);
  }
  // Children sort after their parent ("a" < "a/b") but "a-b" sorts between
  // them: the loop above skips it by the prefix test; the parent is first.
  if (Status st = make_parents(maildir_, *to); !st) return st;
  for (const auto& [old_name, new_name] : moves) {
    auto src = mailbox_path(maildir_, old_name);
    auto dst = mailbox_path(maildir_, new_name);
    if (!src) return src.take_error();
    if (!dst) return dst.take_error();
    if (Status st = rename_noreplace(*src, *dst); !st) {
      if (exists_errno(st.error())) return mailbox_exists_error(new_name);
      if (st.error().err == ENOENT) return make_error(Errc::kNotFound, "no such mailbox: " + old_name);
      return st;
    }
  }
  return fsync_dir(maildir_);
}

}  // namespace tern::store
