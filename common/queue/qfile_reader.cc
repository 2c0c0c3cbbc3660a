// Queue file reader (qfile_reader.h; the format is in qfile.h).
//
// One parser serves files and memory images: it reads through a Source
// (pread on a descriptor, or a string_view) in chunks, so a hostile file
// costs at most one chunk plus kMaxRecordLine of buffer, and ReaderLimits
// bound what the parsed envelope holds.

#include "common/queue/qfile_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "common/base/durable.h"
#include "common/base/fault.h"
#include "common/base/strings.h"
#include "common/ipc/escape.h"

namespace tern::queue {
namespace {

constexpr size_t kChunk = 64 * 1024;
// "END " + at most 20 digits + "\n", with room to spare.
constexpr size_t kTrailerTail = 32;
constexpr uint64_t kMaxArrivalSeconds = 9'000'000'000;  // the year 2255

Error corrupt(std::string text) { return make_error(Errc::kCorrupt, std::move(text)); }

class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Reads up to n bytes at off; fewer only at the end of the data.
  virtual Result<size_t> read_at(uint64_t off, char* buf, size_t n) const = 0;
};

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  Result<size_t> read_at(uint64_t off, char* buf, size_t n) const override {
    if (off >= data_.size()) return size_t{0};
    n = std::min<uint64_t>(n, data_.size() - off);
    if (n > 0) std::memcpy(buf, data_.data() + off, n);
    return n;
  }

 private:
  std::string_view data_;
};

Result<size_t> pread_full(int fd, uint64_t off, char* buf, size_t n, const std::string& what) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return sys_error("read " + what);
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

class FdSource final : public Source {
 public:
  FdSource(int fd, uint64_t size, const std::string& path) : fd_(fd), size_(size), path_(path) {}
  uint64_t size() const override { return size_; }
  Result<size_t> read_at(uint64_t off, char* buf, size_t n) const override {
    if (off >= size_) return size_t{0};
    n = std::min<uint64_t>(n, size_ - off);
    return pread_full(fd_, off, buf, n, path_);
  }

 private:
  int fd_;
  uint64_t size_;
  const std::string& path_;
};

// Envelope lines, each without its LF, with the offset where it starts.
class LineReader {
 public:
  explicit LineReader(const Source& src) : src_(src) {}

  // kCorrupt for an over-long line or the end of the data before a LF.
  Result<std::string_view> next(uint64_t& line_offset) {
    for (;;) {
      size_t lf = buf_.find('\n', pos_);
      if (lf != std::string::npos) {
        if (lf - pos_ + 1 > kMaxRecordLine) break;
        line_offset = buf_offset_ + pos_;
        std::string_view line(buf_.data() + pos_, lf - pos_);
        pos_ = lf + 1;
        return line;
      }
      if (buf_.size() - pos_ >= kMaxRecordLine) break;
      // Drop what was consumed, then read the next chunk after the buffer.
      buf_offset_ += pos_;
      buf_.erase(0, pos_);
      pos_ = 0;
      size_t old = buf_.size();
      buf_.resize(old + kChunk);
      auto got = src_.read_at(buf_offset_ + old, buf_.data() + old, kChunk);
      if (!got) return got.take_error();
      buf_.resize(old + *got);
      if (*got == 0) return corrupt("truncated envelope: no end-of-envelope record at offset " +
                                    std::to_string(buf_offset_ + old));
    }
    return corrupt("envelope line longer than " + std::to_string(kMaxRecordLine) + " bytes at offset " +
                   std::to_string(buf_offset_ + pos_));
  }

 private:
  const Source& src_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t buf_offset_ = 0;  // file offset of buf_[0]
};

bool is_name(std::string_view name) {
  if (name.empty()) return false;
  char c0 = name[0];
  if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z'))) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool is_mandatory(std::string_view name) { return name[0] >= 'A' && name[0] <= 'Z'; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Canonical decimal (no sign, no leading zero); nullopt when empty, not
// digits or too large. Only one spelling per number, as the writer writes.
std::optional<uint64_t> parse_u64(std::string_view s, size_t max_digits = 19) {
  if (!all_digits(s) || s.size() > max_digits || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

class EnvelopeParser {
 public:
  EnvelopeParser(const Source& src, const ReaderLimits& limits) : src_(src), limits_(limits), lines_(src) {}

  Result<Envelope> parse() {
    uint64_t off = 0;
    auto first = lines_.next(off);
    if (!first) return first.take_error();
    if (Status st = check_magic(*first); !st) return st.take_error();
    size_t max_records = 2 * limits_.max_recipients + limits_.max_attributes + 16;
    for (size_t records = 0;; ++records) {
      if (records > max_records) return corrupt("too many envelope records");
      auto line = lines_.next(off);
      if (!line) return line.take_error();
      if (line->find('\r') != std::string_view::npos) return at(off, "raw CR in an envelope line");
      size_t sp = line->find(' ');
      std::string_view name = line->substr(0, sp);
      bool has_value = sp != std::string_view::npos;
      std::string_view value = has_value ? line->substr(sp + 1) : std::string_view();
      if (!is_name(name)) return at(off, "bad record name \"" + ipc::escape(name) + "\"");
      if (name == record::kEoe) {
        if (has_value) return at(off, "EOE record with a value");
        env_.eoe_offset = off;
        env_.message_offset = off + line->size() + 1;
        break;
      }
      Status st = is_mandatory(name) ? mandatory(name, value, off) : optional(name, value, off);
      if (!st) return st.take_error();
    }
    if (!seen_.count(std::string(record::kArrival))) return corrupt("no ARRIVAL record");
    if (!seen_.count(std::string(record::kSender))) return corrupt("no SENDER record");
    if (env_.recipients.empty()) return corrupt("no RCPT record");
    if (Status st = check_trailer(); !st) return st.take_error();
    return std::move(env_);
  }

 private:
  Error at(uint64_t off, std::string text) { return corrupt(std::move(text) + " at offset " + std::to_string(off)); }

  Status check_magic(std::string_view line) {
    std::string_view magic = line.substr(0, line.find(' '));
    if (magic != kQfileMagic) return corrupt("not a queue file (no " + std::string(kQfileMagic) + " line)");
    std::string_view version = line.size() > magic.size() ? line.substr(magic.size() + 1) : std::string_view();
    auto v = parse_u64(version, 9);
    if (!v) return corrupt("bad version line");
    if (*v != static_cast<uint64_t>(kQfileVersion))
      return corrupt("unsupported queue file version " + std::string(version) + " (this program reads " +
                     std::to_string(kQfileVersion) + ")");
    return {};
  }

  // Marks a record seen; a second one is corrupt.
  Status once(std::string_view name, uint64_t off) {
    if (!seen_.emplace(name).second) return at(off, "repeated " + std::string(name) + " record");
    return {};
  }

  Status mandatory(std::string_view name, std::string_view value, uint64_t off) {
    if (name == record::kRcpt) return recipient(value, off);
    if (name != record::kArrival && name != record::kSender && name != record::kBody && name != record::kSmtputf8 &&
        name != record::kRet && name != record::kEnvid)
      return at(off, "unknown mandatory record " + std::string(name));
    if (Status st = once(name, off); !st) return st;
    if (name == record::kArrival) return arrival(value, off);
    if (name == record::kSmtputf8) {
      if (value != "yes") return at(off, "bad SMTPUTF8 value");
      env_.smtputf8 = true;
      return {};
    }
    if (name == record::kBody) {
      for (BodyType b : {BodyType::k7Bit, BodyType::k8BitMime, BodyType::kBinaryMime})
        if (value == body_type_name(b)) env_.body = b;
      if (env_.body == BodyType::kUnspecified) return at(off, "bad BODY value");
      return {};
    }
    if (name == record::kRet) {
      for (DsnRet r : {DsnRet::kFull, DsnRet::kHdrs})
        if (value == dsn_ret_name(r)) env_.ret = r;
      if (env_.ret == DsnRet::kUnspecified) return at(off, "bad RET value");
      return {};
    }
    auto text = ipc::unescape(value);
    if (!text) return at(off, "bad escape in " + std::string(name));
    if (name == record::kSender) {
      env_.sender = std::move(*text);
    } else {  // ENVID
      if (text->empty()) return at(off, "empty ENVID");
      env_.envid = std::move(*text);
    }
    return {};
  }

  Status arrival(std::string_view value, uint64_t off) {
    size_t dot = value.find('.');
    if (dot == std::string_view::npos) return at(off, "bad ARRIVAL value");
    auto sec = parse_u64(value.substr(0, dot), 12);
    std::string_view frac = value.substr(dot + 1);
    // The fraction is always six digits, leading zeros included.
    std::optional<uint64_t> us;
    if (frac.size() == 6 && all_digits(frac)) {
      us = 0;
      for (char c : frac) *us = *us * 10 + static_cast<uint64_t>(c - '0');
    }
    // WallTime counts nanoseconds in 64 bits: beyond about 2262 it overflows.
    if (!sec || !us || *sec > kMaxArrivalSeconds) return at(off, "bad ARRIVAL value");
    env_.arrival = WallTime(std::chrono::microseconds(static_cast<long long>(*sec * 1000000 + *us)));
    return {};
  }

  Status optional(std::string_view name, std::string_view value, uint64_t off) {
    if (name == record::kPad) return {};
    if (env_.attributes.size() >= limits_.max_attributes) return at(off, "too many attributes");
    auto text = ipc::unescape(value);
    if (!text) return at(off, "bad escape in " + std::string(name));
    if (!env_.attributes.emplace(std::string(name), std::move(*text)).second)
      return at(off, "repeated " + std::string(name) + " record");
    return {};
  }

  Status recipient(std::string_view value, uint64_t off) {
    if (env_.recipients.size() >= limits_.max_recipients) return at(off, "too many recipients");
    if (value.size() < kStatusWidth + 1 || value[kStatusWidth] != '\t') return at(off, "bad RCPT status field");
    std::string_view word = value.substr(0, kStatusWidth);
    while (!word.empty() && word.back() == ' ') word.remove_suffix(1);
    auto status = parse_status(word);
    if (!status) return at(off, "unknown recipient status \"" + ipc::escape(word) + "\"");
    Recipient r;
    r.status = *status;
    r.status_offset = off + record::kRcpt.size() + 1;
    std::set<std::string_view> keys;
    for (std::string_view field : split(value.substr(kStatusWidth + 1), '\t')) {
      size_t eq = field.find('=');
      std::string_view key = field.substr(0, eq);
      if (eq == std::string_view::npos || !is_name(key)) return at(off, "bad RCPT field");
      if (!keys.insert(key).second) return at(off, "repeated RCPT field " + std::string(key));
      bool known = key == record::kTo || key == record::kOrcpt || key == record::kNotify || key == record::kOriginal;
      if (!known) {
        if (is_mandatory(key)) return at(off, "unknown mandatory RCPT field " + std::string(key));
        continue;
      }
      auto text = ipc::unescape(field.substr(eq + 1));
      if (!text) return at(off, "bad escape in RCPT " + std::string(key));
      if (key == record::kTo) {
        r.address = std::move(*text);
      } else if (key == record::kOrcpt) {
        r.orcpt = std::move(*text);
      } else if (key == record::kOriginal) {
        r.original = std::move(*text);
      } else {
        auto flags = parse_notify(*text);
        if (!flags) return at(off, "RCPT: " + flags.error().text);
        r.notify = *flags;
      }
    }
    if (r.address.empty()) return at(off, "RCPT without TO");
    env_.recipients.push_back(std::move(r));
    return {};
  }

  // The trailer "END <n>\n" starts exactly n bytes after the EOE line and
  // ends the file (qfile.h).
  Status check_trailer() {
    uint64_t size = src_.size();
    uint64_t start = env_.message_offset;
    if (size < start + record::kTrailer.size() + 3) return corrupt("missing trailer");
    size_t tail_len = static_cast<size_t>(std::min<uint64_t>(kTrailerTail, size - start));
    std::string tail(tail_len, '\0');
    auto got = src_.read_at(size - tail_len, tail.data(), tail_len);
    if (!got) return got.take_error();
    if (*got != tail_len) return corrupt("file shrank while being read");
    if (tail.back() != '\n') return corrupt("missing trailer (the file does not end in a newline)");
    std::string prefix = std::string(record::kTrailer) + " ";
    size_t at_pos = tail.rfind(prefix);
    if (at_pos == std::string::npos) return corrupt("missing trailer");
    std::string_view digits = std::string_view(tail).substr(at_pos + prefix.size());
    digits.remove_suffix(1);
    auto n = parse_u64(digits);
    if (!n) return corrupt("bad trailer");
    uint64_t trailer_offset = size - tail_len + at_pos;
    if (*n > trailer_offset || trailer_offset - *n != start)
      return corrupt("trailer says " + std::to_string(*n) + " message bytes, the file holds " +
                     std::to_string(trailer_offset - start));
    env_.message_size = *n;
    return {};
  }

  const Source& src_;
  const ReaderLimits& limits_;
  LineReader lines_;
  Envelope env_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace

Result<Envelope> parse_qfile(std::string_view image, ReaderLimits limits) {
  MemorySource src(image);
  return EnvelopeParser(src, limits).parse();
}

Result<QfileReader> QfileReader::open(const std::string& path, OpenMode mode, ReaderLimits limits) {
  // O_NONBLOCK: a FIFO planted where a queue file should be must not hang
  // the open; it is refused below. Regular files ignore the flag.
  auto fd = open_fd(path, (mode == OpenMode::kReadWrite ? O_RDWR : O_RDONLY) | O_NONBLOCK);
  if (!fd) return fd.take_error();
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return sys_error("fstat " + path);
  if (!S_ISREG(st.st_mode)) return invalid(path + ": not a regular file");
  QfileReader r;
  r.path_ = path;
  r.mode_ = mode;
  r.owner_ = st.st_uid;
  FdSource src(fd->get(), static_cast<uint64_t>(st.st_size), r.path_);
  auto env = EnvelopeParser(src, limits).parse();
  if (!env) {
    Error e = env.take_error();
    e.text = path + ": " + e.text;
    return e;
  }
  r.envelope_ = std::move(*env);
  r.fd_ = std::move(*fd);
  return r;
}

Result<size_t> QfileReader::read_message(uint64_t pos, char* buf, size_t n) const {
  const uint64_t size = envelope_.message_size;
  if (pos >= size || n == 0) return size_t{0};
  n = static_cast<size_t>(std::min<uint64_t>(n, size - pos));
  auto got = pread_full(fd_.get(), envelope_.message_offset + pos, buf, n, path_);
  if (!got) return got;
  if (*got == 0) return corrupt(path_ + ": file shrank while being read");
  return got;
}

Result<std::string> QfileReader::read_message_all(size_t max_bytes) const {
  if (envelope_.message_size > max_bytes)
    return make_error(Errc::kLimit, path_ + ": message larger than " + std::to_string(max_bytes) + " bytes");
  std::string out(static_cast<size_t>(envelope_.message_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    auto got = read_message(done, out.data() + done, out.size() - done);
    if (!got) return got.take_error();
    done += *got;
  }
  return out;
}

Status QfileReader::set_recipient_status(size_t index, RcptStatus status) {
  return set_recipient_statuses({{index, status}});
}

Status QfileReader::set_recipient_statuses(const std::vector<std::pair<size_t, RcptStatus>>& changes) {
  if (mode_ != OpenMode::kReadWrite) return invalid(path_ + ": opened read-only");
  for (const auto& [index, status] : changes) {
    if (index >= envelope_.recipients.size())
      return invalid(path_ + ": no recipient " + std::to_string(index));
  }
  for (const auto& [index, status] : changes) {
    if (Status st = write_status_field(envelope_.recipients[index].status_offset, status); !st) return st;
  }
  if (changes.empty()) return {};
  if (Status st = fsync_fd(fd_.get(), path_); !st) return st;
  for (const auto& [index, status] : changes) envelope_.recipients[index].status = status;
  return {};
}

Status QfileReader::write_status_field(uint64_t offset, RcptStatus status) {
  char field[kStatusWidth];
  std::memset(field, ' ', sizeof field);
  std::string_view word = status_name(status);
  std::memcpy(field, word.data(), word.size());
  if (int err = fault::check(fault::Point::kWrite)) return sys_error("write " + path_, err);
  for (;;) {
    ssize_t n = ::pwrite(fd_.get(), field, sizeof field, static_cast<off_t>(offset));
    if (n == static_cast<ssize_t>(sizeof field)) break;
    if (n < 0 && errno == EINTR) continue;
    // A short pwrite of 10 bytes inside one sector does not happen on a
    // local file system; treat it as the failure it would be.
    if (n >= 0) return make_error(Errc::kSystem, "write " + path_ + ": short write of a status field");
    return sys_error("write " + path_);
  }
  return {};
}

}  // namespace tern::queue
