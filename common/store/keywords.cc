// The folder's keyword names, dovecot-keywords (keywords.h).

#include "common/store/keywords.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/base/strings.h"

namespace tern::store {
namespace {

// One line: "<index> <name>". Returns the index when it is readable and in
// range (even if the name is not valid), and whether the name is.
struct Line {
  std::optional<size_t> index;
  bool valid = false;
  std::string_view name;
};

Line parse_line(std::string_view line) {
  Line out;
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp > 2) return out;
  size_t index = 0;
  auto [p, ec] = std::from_chars(line.data(), line.data() + sp, index);
  if (ec != std::errc() || p != line.data() + sp || index >= kMaxKeywordLetters) return out;
  // "01" is not a spelling Dovecot writes; refusing it keeps one spelling.
  if (sp == 2 && line[0] == '0') return out;
  out.index = index;
  out.name = line.substr(sp + 1);
  out.valid = valid_keyword(out.name);
  return out;
}

}  // namespace

std::optional<size_t> KeywordTable::find(std::string_view name) const {
  if (name.empty()) return std::nullopt;
  for (size_t i = 0; i < names.size(); ++i)
    if (!names[i].empty() && equals_nocase(names[i], name)) return i;
  return std::nullopt;
}

uint32_t KeywordTable::known() const {
  uint32_t mask = 0;
  for (size_t i = 0; i < names.size(); ++i)
    if (!names[i].empty()) mask |= 1u << i;
  return mask;
}

std::optional<size_t> KeywordTable::free_index() const {
  const uint32_t used = known() | reserved;
  for (size_t i = 0; i < kMaxKeywordLetters; ++i)
    if (!(used & (1u << i))) return i;
  return std::nullopt;
}

// Index i gets a name only when exactly one line names i, that line is
// valid, and no other line has the same name: a definition that does not
// depend on the order of the lines, so a file written back from a table
// reads as the same table.
KeywordTable parse_keywords(std::string_view text, bool complete) {
  KeywordTable t;
  std::vector<std::pair<Line, std::string_view>> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos && !complete) break;  // cut at the bound
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    const std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    Line l = parse_line(raw);
    if (l.index) lines.emplace_back(l, raw);  // others name no letter at all
  }
  std::array<int, kMaxKeywordLetters> per_index = {};
  for (const auto& [l, raw] : lines) ++per_index[*l.index];
  for (const auto& [l, raw] : lines) {
    const size_t i = *l.index;
    bool named = per_index[i] == 1 && l.valid;
    for (const auto& [other, other_raw] : lines) {
      if (!named) break;
      if (*other.index != i && equals_nocase(other.name, l.name)) named = false;
    }
    if (named) {
      t.names[i] = std::string(l.name);
    } else {
      t.reserved |= 1u << i;
      t.kept.emplace_back(raw);
    }
  }
  return t;
}

std::string format_keywords(const KeywordTable& t) {
  std::string out;
  for (size_t i = 0; i < t.names.size(); ++i)
    if (!t.names[i].empty()) out += std::to_string(i) + " " + t.names[i] + "\n";
  for (const std::string& line : t.kept) out += line + "\n";
  return out;
}

// ---------------------------------------------------------------- Keywords

Keywords::Keywords(std::string folder_dir) : path_(std::move(folder_dir) + "/" + std::string(kKeywordsName)) {}

Status Keywords::load() {
  auto fd = open_fd(path_, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  if (!fd) {
    if (fd.error().err != ENOENT) return fd.take_error();
    table_ = {};
    present_ = false;
    return {};
  }
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return sys_error("fstat " + path_);
  if (!S_ISREG(st.st_mode)) return make_error(Errc::kCorrupt, "not a regular file: " + path_);
  if (present_ && st.st_ino == ino_ && st.st_size == size_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
      st.st_mtim.tv_nsec == mtime_.tv_nsec)
    return {};
  std::string buf(kMaxKeywordsFile, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd->get(), buf.data() + got, buf.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + path_);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  // A file longer than the bound is read up to its last complete line
  // within it; whether it is longer is what pread found, not what fstat said.
  const bool complete = got < kMaxKeywordsFile;
  table_ = parse_keywords(buf, complete);
  present_ = true;
  ino_ = st.st_ino;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  return {};
}

std::vector<std::string> Keywords::names(uint32_t mask) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < kMaxKeywordLetters; ++i)
    if ((mask & (1u << i)) && !table_.names[i].empty()) out.push_back(table_.names[i]);
  return out;
}

Result<size_t> Keywords::add(std::string_view name, const FolderLock&) {
  if (!valid_keyword(name)) return invalid("bad keyword name");
  // Under the lock nobody else replaces the file: what load() reads now is
  // what the new file must extend.
  if (Status st = load(); !st) return st.take_error();
  if (auto i = table_.find(name)) return *i;
  auto index = table_.free_index();
  if (!index) return make_error(Errc::kLimit, "too many keywords in " + path_);
  KeywordTable next = table_;
  next.names[*index] = std::string(name);
  if (Status st = write_file_atomic(path_, format_keywords(next), DurableOptions{0600, true}); !st)
    return st.take_error();
  // Read back what is now on disk (also resets the change detection).
  present_ = false;
  if (Status st = load(); !st) return st.take_error();
  return *index;
}

}  // namespace tern::store
