// Maildir++ quota (maildirsize.h).

#include "common/store/maildirsize.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cerrno>
#include <memory>

#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/store/message_file.h"

namespace tern::store {
namespace {

// Maildir++: "If the maildirsize file is larger than 5120 bytes, it must be
// recalculated"; and a refusal is rechecked against a fresh scan when the
// file is older than 15 minutes.
constexpr off_t kRecalcSize = 5120;
constexpr time_t kStaleSeconds = 15 * 60;
constexpr size_t kMaxRule = 1024;
std::atomic<unsigned long> recalc_counter{0};

using DirPtr = std::unique_ptr<DIR, int (*)(DIR*)>;

Error corrupt(std::string text) { return make_error(Errc::kCorrupt, "maildirsize: " + std::move(text)); }

// "<digits>[unit][B]" with the given default multiplier.
std::optional<uint64_t> parse_size(std::string_view v, uint64_t default_mult) {
  size_t n = 0;
  while (n < v.size() && std::isdigit(static_cast<unsigned char>(v[n]))) ++n;
  if (n == 0 || n > 19) return std::nullopt;
  uint64_t value = 0;
  std::from_chars(v.data(), v.data() + n, value);
  std::string_view unit = v.substr(n);
  uint64_t mult = default_mult;
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'B': mult = 1; break;
      case 'K': mult = 1ULL << 10; break;
      case 'M': mult = 1ULL << 20; break;
      case 'G': mult = 1ULL << 30; break;
      case 'T': mult = 1ULL << 40; break;
      default: return std::nullopt;
    }
    unit.remove_prefix(1);
    if (mult != 1 && !unit.empty() && (unit[0] == 'B' || unit[0] == 'b')) unit.remove_prefix(1);
    if (!unit.empty()) return std::nullopt;
  }
  if (value > UINT64_MAX / mult) return std::nullopt;
  return value * mult;
}

std::optional<int64_t> parse_signed(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Adds the messages in <folder>/<sub> to usage; a missing subdirectory or a
// file gone since readdir is not an error (a concurrent expunge).
Status scan_dir(const std::string& dir, QuotaUsage& usage) {
  DirPtr d(::opendir(dir.c_str()), ::closedir);
  if (!d) return errno == ENOENT ? Status() : sys_error("opendir " + dir);
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d.get());
    if (!e) return errno == 0 ? Status() : sys_error("readdir " + dir);
    auto m = parse_message_name(e->d_name);
    if (!m) continue;
    uint64_t size = 0;
    if (m->size) {
      size = *m->size;
    } else {
      struct stat st;
      if (::stat((dir + "/" + e->d_name).c_str(), &st) < 0) continue;
      if (!S_ISREG(st.st_mode)) continue;
      size = static_cast<uint64_t>(st.st_size);
    }
    usage.bytes += static_cast<int64_t>(size);
    usage.messages += 1;
  }
}

Status scan_folder(const std::string& folder, QuotaUsage& usage) {
  if (Status st = scan_dir(folder + "/new", usage); !st) return st;
  return scan_dir(folder + "/cur", usage);
}

// Scans and replaces maildirsize (see the header for why no fsync).
Result<QuotaUsage> recalculate(const std::string& maildir, const QuotaLimit& limit) {
  auto usage = scan_usage(maildir);
  if (!usage) return usage;
  const std::string content = format_quota_definition(limit) + "\n" + std::to_string(usage->bytes) + " " +
                              std::to_string(usage->messages) + "\n";
  const std::string tmp = maildir + "/tmp/" + std::to_string(::time(nullptr)) + ".P" + std::to_string(::getpid()) +
                          "Q" + std::to_string(recalc_counter.fetch_add(1)) + ".maildirsize";
  auto fd = open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd) return fd.take_error();
  Status st = write_all(fd->get(), content);
  if (st && ::rename(tmp.c_str(), (maildir + "/maildirsize").c_str()) < 0) st = sys_error("rename " + tmp);
  if (!st) {
    ::unlink(tmp.c_str());
    return st.take_error();
  }
  return usage;
}

bool exceeds(const QuotaLimit& limit, const QuotaUsage& usage, uint64_t bytes, uint64_t messages) {
  if (limit.bytes != 0 && static_cast<uint64_t>(std::max<int64_t>(usage.bytes, 0)) + bytes > limit.bytes)
    return true;
  return limit.messages != 0 &&
         static_cast<uint64_t>(std::max<int64_t>(usage.messages, 0)) + messages > limit.messages;
}

}  // namespace

Result<QuotaLimit> user_quota(const std::map<std::string, std::string>& fields, std::string_view default_rule) {
  QuotaLimit limit;
  bool any = false;
  // quota_rule, then quota_rule2, quota_rule3, ... until one is missing
  // (Dovecot's numbering).
  for (int i = 1; i < 100; ++i) {
    auto it = fields.find(i == 1 ? std::string("quota_rule") : "quota_rule" + std::to_string(i));
    if (it == fields.end()) break;
    any = true;
    if (Status st = apply_quota_rule(it->second, limit); !st) return st.take_error();
  }
  if (!any && !trim(default_rule).empty()) {
    if (Status st = apply_quota_rule(default_rule, limit); !st)
      return make_error(st.error().code, "quota_rule: " + st.error().text);
  }
  return limit;
}

Status apply_quota_rule(std::string_view rule, QuotaLimit& limit) {
  if (rule.size() > kMaxRule) return make_error(Errc::kLimit, "quota rule too long");
  auto parts = split(trim(rule), ':');
  if (parts.size() < 2) return invalid("quota rule is not <mailbox>:<limit>: " + std::string(rule));
  if (parts[0] != "*") return invalid("only quota rules for * are supported: " + std::string(rule));
  QuotaLimit out = limit;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    size_t eq = p.find('=');
    std::string_view key = p.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : p.substr(eq + 1);
    std::optional<uint64_t> v;
    if (key == "storage") {
      v = parse_size(value, 1024);  // Dovecot: kilobytes without a unit
      if (v) out.bytes = *v;
    } else if (key == "bytes") {
      v = parse_size(value, 1);
      if (v) out.bytes = *v;
    } else if (key == "messages") {
      auto n = parse_int(value);
      if (n && *n >= 0 && value.find_first_not_of("0123456789") == std::string_view::npos) v = *n;
      if (v) out.messages = *v;
    } else {
      return invalid("unsupported quota rule limit '" + std::string(key) + "': " + std::string(rule));
    }
    if (!v) return invalid("bad quota rule value: " + std::string(rule));
  }
  limit = out;
  return {};
}

std::string format_quota_definition(const QuotaLimit& limit) {
  std::string out;
  if (limit.bytes != 0) out += std::to_string(limit.bytes) + "S";
  if (limit.messages != 0) out += (out.empty() ? "" : ",") + std::to_string(limit.messages) + "C";
  return out;
}

Result<MaildirSizeFile> parse_maildirsize(std::string_view content) {
  if (content.empty() || content.back() != '\n') return corrupt("missing or torn last line");
  MaildirSizeFile f;
  size_t nl = content.find('\n');
  std::string_view def = content.substr(0, nl);
  if (!def.empty()) {
    for (std::string_view part : split(def, ',')) {
      if (part.size() < 2) return corrupt("bad quota definition");
      const char kind = part.back();
      std::string_view digits = part.substr(0, part.size() - 1);
      if (digits.find_first_not_of("0123456789") != std::string_view::npos || digits.size() > 19)
        return corrupt("bad quota definition");
      uint64_t v = 0;
      std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (kind == 'S') {
        f.limit.bytes = v;
      } else if (kind == 'C') {
        f.limit.messages = v;
      } else {
        return corrupt("bad quota definition");
      }
    }
  }
  size_t pos = nl + 1;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return corrupt("bad usage line");
    auto bytes = parse_signed(line.substr(0, sp));
    auto count = parse_signed(trim(line.substr(sp + 1)));
    if (!bytes || !count) return corrupt("bad usage line");
    // Bounded well inside int64 so the sum of a 5 KiB file cannot overflow.
    if (*bytes > (1LL << 50) || *bytes < -(1LL << 50) || *count > (1LL << 40) || *count < -(1LL << 40))
      return corrupt("usage line out of range");
    f.usage.bytes += *bytes;
    f.usage.messages += *count;
  }
  if (f.usage.bytes < 0 || f.usage.messages < 0) return corrupt("negative usage");
  return f;
}

Result<QuotaUsage> scan_usage(const std::string& maildir) {
  QuotaUsage usage;
  if (Status st = scan_folder(maildir, usage); !st) return st.take_error();
  DirPtr d(::opendir(maildir.c_str()), ::closedir);
  if (!d) return sys_error("opendir " + maildir);
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d.get());
    if (!e) {
      if (errno != 0) return sys_error("readdir " + maildir);
      break;
    }
    std::string_view n = e->d_name;
    if (n.size() < 2 || n[0] != '.' || n == "..") continue;
    // Any ".X" directory with new/ or cur/ holds mail, canonical name or not.
    if (Status st = scan_folder(maildir + "/" + std::string(n), usage); !st) return st.take_error();
  }
  return usage;
}

Result<QuotaUsage> read_usage(const std::string& maildir, const QuotaLimit& limit) {
  const std::string path = maildir + "/maildirsize";
  struct stat st;
  if (::stat(path.c_str(), &st) < 0 || st.st_size > kRecalcSize) return recalculate(maildir, limit);
  auto content = read_file(path, kRecalcSize);
  if (!content) return recalculate(maildir, limit);
  auto parsed = parse_maildirsize(*content);
  if (!parsed || !(parsed->limit == limit)) return recalculate(maildir, limit);
  return parsed->usage;
}

Result<QuotaVerdict> check_quota(const std::string& maildir, const QuotaLimit& limit, uint64_t bytes,
                                 uint64_t messages) {
  if (limit.unlimited()) return QuotaVerdict::kOk;
  if (limit.bytes != 0 && bytes > limit.bytes) return QuotaVerdict::kTooBig;
  if (limit.messages != 0 && messages > limit.messages) return QuotaVerdict::kTooBig;
  auto usage = read_usage(maildir, limit);
  if (!usage) return usage.take_error();
  if (!exceeds(limit, *usage, bytes, messages)) return QuotaVerdict::kOk;
  struct stat st;
  if (::stat((maildir + "/maildirsize").c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime > kStaleSeconds) {
    usage = recalculate(maildir, limit);
    if (!usage) return usage.take_error();
    if (!exceeds(limit, *usage, bytes, messages)) return QuotaVerdict::kOk;
  }
  return QuotaVerdict::kOverQuota;
}

Status add_usage(const std::string& maildir, int64_t bytes, int64_t messages) {
  const std::string path = maildir + "/maildirsize";
  auto owner = open_fd(path, O_WRONLY | O_APPEND);
  if (!owner) return owner.error().err == ENOENT ? Status() : owner.take_error();
  const int fd = owner->get();
  // One write(2) per line: with O_APPEND concurrent writers never interleave
  // inside a line.
  const std::string line = std::to_string(bytes) + " " + std::to_string(messages) + "\n";
  ssize_t n;
  do {
    n = ::write(fd, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("write " + path);
  if (static_cast<size_t>(n) != line.size()) return make_error(Errc::kSystem, "short write to " + path);
  return {};
}

}  // namespace tern::store
