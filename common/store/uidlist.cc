// The per-folder UID list (uidlist.h).

#include "common/store/uidlist.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <tuple>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/store/message_file.h"

namespace tern::store {
namespace {

constexpr std::string_view kMagic = "tern-uidlist";
constexpr std::string_view kVersion = "1";
// A list larger than this is refused as corrupt rather than read: ~10 million
// messages ever delivered to one folder.
constexpr size_t kMaxListBytes = size_t{1} << 30;
// Lock retries: 1, 2, 4 ... 64 ms, then 64 ms steps; about 5 s in all.
constexpr int kLockAttempts = 84;

Error corrupt(std::string text) { return make_error(Errc::kCorrupt, "uid list: " + std::move(text)); }

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

bool valid_base(std::string_view base) {
  auto m = parse_message_name(base);
  return m && !m->has_info && m->base == base;
}

// Up to five tab-separated fields without allocating (this runs once per
// message when a process opens a folder); more make the record bad.
struct Fields {
  std::string_view v[5];
  size_t n = 0;
  bool too_many = false;
  size_t size() const { return too_many ? 6 : n; }
  std::string_view operator[](size_t i) const { return v[i]; }
};

Fields fields_of(std::string_view line) {
  Fields f;
  for (;;) {
    size_t tab = line.find('\t');
    if (f.n == 5) {
      f.too_many = true;
      return f;
    }
    f.v[f.n++] = line.substr(0, tab);
    if (tab == std::string_view::npos) return f;
    line.remove_prefix(tab + 1);
  }
}

Status parse_record(std::string_view line, UidListState& s) {
  const Fields f = fields_of(line);
  if (!s.has_header) {
    if (f.size() != 5 || f[0] != kMagic || f[1] != kVersion) return corrupt("bad header");
    auto validity = number<uint32_t>(f[2]);
    auto next = number<uint32_t>(f[3]);
    auto modseq = number<uint64_t>(f[4]);
    if (!validity || *validity == 0 || !next || *next == 0 || !modseq) return corrupt("bad header values");
    s.has_header = true;
    s.uidvalidity = *validity;
    s.uidnext = *next;
    s.highestmodseq = *modseq;
    return {};
  }
  if (f[0] == "A" && f.size() == 4) {
    auto uid = number<uint32_t>(f[1]);
    auto modseq = number<uint64_t>(f[2]);
    if (!uid || *uid < s.uidnext || *uid == UINT32_MAX) return corrupt("UID out of order");
    if (!modseq || *modseq <= s.highestmodseq) return corrupt("MODSEQ out of order");
    if (!valid_base(f[3])) return corrupt("bad file name");
    std::string base(f[3]);
    if (!s.uids.emplace(base, *uid).second) return corrupt("file listed twice");
    s.entries.emplace(*uid, UidEntry{std::move(base), *modseq});
    s.uidnext = *uid + 1;
    s.highestmodseq = *modseq;
    return {};
  }
  if (f[0] == "K" && f.size() == 3) {
    auto index = number<size_t>(f[1]);
    if (!index || *index != s.keywords.size() || *index >= kMaxKeywords) return corrupt("keyword out of order");
    if (!valid_keyword(f[2])) return corrupt("bad keyword");
    if (std::find(s.keywords.begin(), s.keywords.end(), f[2]) != s.keywords.end())
      return corrupt("keyword listed twice");
    s.keywords.emplace_back(f[2]);
    return {};
  }
  if (f[0] == "N" && f.size() == 2) {
    auto next = number<uint32_t>(f[1]);
    if (!next || *next < s.uidnext || *next == UINT32_MAX) return corrupt("UIDNEXT out of order");
    s.uidnext = *next;
    return {};
  }
  if (f[0] == "M" && f.size() == 2) {
    auto modseq = number<uint64_t>(f[1]);
    if (!modseq || *modseq <= s.highestmodseq) return corrupt("MODSEQ out of order");
    s.highestmodseq = *modseq;
    return {};
  }
  return corrupt("unknown record");
}

// The messages in new/ then cur/ (see the header for the order), base →
// file relative to the folder; cur/ wins for a base seen in both.
Result<std::unordered_map<std::string, std::string>> scan_folder(const std::string& folder, size_t expect) {
  std::unordered_map<std::string, std::string> out;
  out.reserve(expect);  // no rehash of a big folder as it is read
  for (const char* sub : {"new", "cur"}) {
    const std::string dir = folder + "/" + sub;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
      if (errno == ENOENT) return make_error(Errc::kNotFound, "folder gone: " + dir);
      return sys_error("opendir " + dir);
    }
    for (;;) {
      errno = 0;
      dirent* e = ::readdir(d.get());
      if (!e) {
        if (errno != 0) return sys_error("readdir " + dir);
        break;
      }
      auto m = parse_message_name(e->d_name);
      if (!m) continue;
      out[std::string(m->base)] = std::string(sub) + "/" + e->d_name;
    }
  }
  return out;
}

}  // namespace

bool valid_keyword(std::string_view name) {
  if (name.empty() || name.size() > kMaxKeywordLength || name[0] == '\\') return false;
  for (unsigned char c : name) {
    // atom-specials (RFC 3501 9): ( ) { SP CTL % * " \ ]
    if (c <= 0x20 || c >= 0x7f || std::string_view("(){%*\"\\]").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  }
  return true;
}

Result<size_t> parse_uidlist(std::string_view text, UidListState& state) {
  size_t pos = 0;
  for (;;) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (text.size() - pos > kMaxUidListLine) return corrupt("line too long");
      return pos;
    }
    if (nl - pos > kMaxUidListLine) return corrupt("line too long");
    if (Status st = parse_record(text.substr(pos, nl - pos), state); !st) return st.take_error();
    pos = nl + 1;
  }
}

std::string format_uidlist(const UidListState& s) {
  // The header carries the counters when there are no entries; otherwise the
  // entries set them and N / M records raise them past the last entry.
  const bool empty = s.entries.empty();
  std::string out = strf("%s\t%s\t%u\t%u\t%llu\n", std::string(kMagic).c_str(), std::string(kVersion).c_str(),
                         s.uidvalidity, empty ? s.uidnext : s.entries.begin()->first,
                         static_cast<unsigned long long>(empty ? s.highestmodseq : 0));
  for (size_t i = 0; i < s.keywords.size(); ++i) out += "K\t" + std::to_string(i) + "\t" + s.keywords[i] + "\n";
  for (const auto& [uid, e] : s.entries)
    out += "A\t" + std::to_string(uid) + "\t" + std::to_string(e.modseq) + "\t" + e.base + "\n";
  if (!empty) {
    if (s.uidnext > s.entries.rbegin()->first + 1) out += "N\t" + std::to_string(s.uidnext) + "\n";
    if (s.highestmodseq > s.entries.rbegin()->second.modseq) out += "M\t" + std::to_string(s.highestmodseq) + "\n";
  }
  return out;
}

// ---------------------------------------------------------------- UidList

Result<FolderLock> lock_folder(const std::string& folder) {
  return lock_file(folder + "/" + std::string(kUidLockName));
}

Result<FolderLock> lock_file(const std::string& lock_path) {
  auto fd = open_fd(lock_path, O_RDWR | O_CREAT, 0600);
  if (!fd) {
    if (fd.error().err != ENOENT) return fd.take_error();
    return make_error(Errc::kNotFound, "folder gone: " + lock_path.substr(0, lock_path.find_last_of('/')));
  }
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  int delay_ms = 1;
  for (int attempt = 0;; ++attempt) {
    if (::fcntl(fd->get(), F_OFD_SETLK, &fl) == 0) break;
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) return sys_error("lock " + lock_path);
    if (attempt >= kLockAttempts) return make_error(Errc::kTemporary, "uid list locked too long: " + lock_path);
    struct timespec ts = {0, static_cast<long>(delay_ms) * 1000000};
    ::nanosleep(&ts, nullptr);
    delay_ms = std::min(delay_ms * 2, 64);
  }
  return FolderLock(std::move(*fd));
}

UidList::UidList(std::string folder_dir)
    : folder_(std::move(folder_dir)), path_(folder_ + "/" + std::string(kUidListName)) {}

std::optional<std::string> UidList::base_of(uint32_t uid) const {
  auto it = state_.entries.find(uid);
  if (it == state_.entries.end()) return std::nullopt;
  return it->second.base;
}

std::optional<uint32_t> UidList::uid_of(std::string_view base) const {
  auto it = state_.uids.find(std::string(base));
  if (it == state_.uids.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> UidList::file_of(uint32_t uid) const {
  auto it = files_.find(uid);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

// Reads what was appended since the last call (everything, when the file
// was replaced or is new to us).
Status UidList::refresh() {
  auto fd = open_fd(path_, O_RDONLY);
  if (!fd) {
    if (fd.error().err != ENOENT) return fd.take_error();
    last_uidvalidity_ = std::max(last_uidvalidity_, state_.uidvalidity);
    missing_ = true;
    corrupt_ = false;
    ++generation_;
    return {};
  }
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return sys_error("fstat " + path_);
  const size_t size = static_cast<size_t>(st.st_size);
  if (!missing_ && !corrupt_ && st.st_ino == ino_ && size == offset_) return {};
  ++generation_;
  if (missing_ || corrupt_ || st.st_ino != ino_ || size < offset_) {
    last_uidvalidity_ = std::max(last_uidvalidity_, state_.uidvalidity);
    state_ = UidListState{};
    offset_ = 0;
    ino_ = st.st_ino;
    // About one record per 60 bytes: no rehashing while the list is read.
    state_.uids.reserve(std::min<size_t>(size, kMaxListBytes) / 60);
  }
  missing_ = false;
  corrupt_ = false;
  if (size > kMaxListBytes) {
    corrupt_ = true;
    return {};
  }
  if (size == offset_) return {};
  std::string buf(size - offset_, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd->get(), buf.data() + got, buf.size() - got, static_cast<off_t>(offset_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + path_);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  auto used = parse_uidlist(buf, state_);
  if (!used) {
    last_uidvalidity_ = std::max(last_uidvalidity_, state_.uidvalidity);
    state_ = UidListState{};
    offset_ = 0;
    corrupt_ = true;
    return {};
  }
  offset_ += *used;
  // Not even a complete header: creation is atomic, so only a crash outside
  // our protocol or another hand makes one. Treated as corrupt.
  if (!state_.has_header) corrupt_ = true;
  return {};
}

// Under the lock: the list as it is now, created when missing or corrupt.
Status UidList::prepare(const FolderLock&) {
  if (Status st = refresh(); !st) return st;
  if (missing_ || corrupt_) return create_list();
  return {};
}

template <class F>
Status UidList::locked(F&& f) {
  auto lock = lock_folder(folder_);
  if (!lock) return lock.take_error();
  if (Status st = prepare(*lock); !st) return st;
  return f(*lock);  // released when `lock` goes
}

// Under the lock: a new list (first use, or replacing a corrupt one with a
// higher UIDVALIDITY so clients know every UID changed).
Status UidList::create_list() {
  UidListState fresh;
  const uint32_t now = static_cast<uint32_t>(::time(nullptr));
  fresh.uidvalidity = std::max(now, last_uidvalidity_ + 1);
  fresh.has_header = true;
  if (Status st = write_file_atomic(path_, format_uidlist(fresh), DurableOptions{0600, true}); !st) return st;
  missing_ = true;  // refresh() starts over on the new file
  if (Status st = refresh(); !st) return st;
  if (missing_ || corrupt_) return make_error(Errc::kTemporary, "uid list vanished while created: " + path_);
  return {};
}

// Under the lock: cuts a torn tail off, appends whole records, fsyncs.
Status UidList::append(std::string_view records, const FolderLock&) {
  auto fd = open_fd(path_, O_WRONLY | O_APPEND);
  if (!fd) return fd.take_error();
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return sys_error("fstat " + path_);
  if (st.st_ino != ino_) return make_error(Errc::kTemporary, "uid list replaced under the lock: " + path_);
  if (static_cast<size_t>(st.st_size) > offset_ && ::ftruncate(fd->get(), static_cast<off_t>(offset_)) < 0)
    return sys_error("ftruncate " + path_);
  if (Status st2 = write_all(fd->get(), records); !st2) return st2;
  ++appends_;
  ++generation_;
  if (Status st2 = fsync_fd(fd->get(), path_); !st2) return st2;
  auto used = parse_uidlist(records, state_);
  if (!used || *used != records.size()) return corrupt("appended records do not parse");  // our bug
  offset_ += records.size();
  return {};
}

// Under the lock: UIDs for the bases in `files` the list does not know, in
// delivery order, appended as one write.
Status UidList::assign(const Files& files, const FolderLock& lock) {
  struct New {
    uint64_t seconds;
    uint32_t usec;
    std::string_view base;
  };
  std::vector<New> fresh;
  for (const auto& [base, file] : files) {
    if (state_.uids.count(base)) continue;
    auto m = parse_message_name(base);
    fresh.push_back({m->seconds, m->usec, base});
  }
  if (fresh.empty()) return {};
  std::sort(fresh.begin(), fresh.end(), [](const New& a, const New& b) {
    return std::tie(a.seconds, a.usec, a.base) < std::tie(b.seconds, b.usec, b.base);
  });
  if (uint64_t{state_.uidnext} + fresh.size() >= UINT32_MAX)
    return make_error(Errc::kLimit, "UIDs exhausted in " + folder_);
  std::string records;
  records.reserve(fresh.size() * (fresh.front().base.size() + 32));
  uint32_t uid = state_.uidnext;
  uint64_t modseq = state_.highestmodseq;
  for (const New& n : fresh) {
    records += "A\t";
    records += std::to_string(uid++);
    records += '\t';
    records += std::to_string(++modseq);
    records += '\t';
    records += n.base;
    records += '\n';
  }
  return append(records, lock);
}

void UidList::remember(Files& files) {
  files_.clear();
  for (auto& [base, file] : files) {
    auto it = state_.uids.find(base);
    if (it != state_.uids.end()) files_[it->second] = std::move(file);
  }
}

Status UidList::sync() {
  if (Status st = refresh(); !st) return st;
  auto files = scan_folder(folder_, std::max(state_.uids.size(), files_.size()));
  if (!files) return files.take_error();
  auto unknown_exists = [&] {
    for (const auto& [base, file] : *files)
      if (!state_.uids.count(base)) return true;
    return false;
  };
  if (missing_ || corrupt_ || unknown_exists()) {
    Status st = locked([&](const FolderLock& lock) { return assign(*files, lock); });
    if (!st) return st;
  }
  remember(*files);
  return {};
}

Status UidList::sync(const FolderLock& lock) {
  if (Status st = prepare(lock); !st) return st;
  auto files = scan_folder(folder_, std::max(state_.uids.size(), files_.size()));
  if (!files) return files.take_error();
  if (Status st = assign(*files, lock); !st) return st;
  remember(*files);
  return {};
}

Status UidList::reload(const FolderLock& lock) { return prepare(lock); }

Status UidList::assign_files(std::span<const std::string> files, const FolderLock& lock) {
  Files known;
  for (const std::string& file : files) {
    auto m = parse_message_name(std::string_view(file).substr(std::min<size_t>(4, file.size())));
    if (file.size() < 5 || (file.compare(0, 4, "new/") != 0 && file.compare(0, 4, "cur/") != 0) || !m)
      return invalid("not a message file: " + file);
    known[std::string(m->base)] = file;
  }
  if (Status st = assign(known, lock); !st) return st;
  for (auto& [base, file] : known) files_[state_.uids.at(base)] = std::move(file);
  return {};
}

Status UidList::load() {
  files_.clear();
  return refresh();
}

Result<uint64_t> UidList::next_modseq() {
  uint64_t modseq = 0;
  Status st = locked([&](const FolderLock& lock) -> Status {
    auto m = next_modseq(lock);
    if (!m) return m.take_error();
    modseq = *m;
    return {};
  });
  if (!st) return st.take_error();
  return modseq;
}

Result<uint64_t> UidList::next_modseq(const FolderLock& lock) {
  if (Status st = prepare(lock); !st) return st.take_error();
  const uint64_t modseq = state_.highestmodseq + 1;
  if (Status st = append("M\t" + std::to_string(modseq) + "\n", lock); !st) return st.take_error();
  return modseq;
}

}  // namespace tern::store
