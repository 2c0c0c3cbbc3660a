// The per-folder index/cache (index.h).

#include "common/store/index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/store/message_file.h"

namespace tern::store {
namespace {

constexpr char kMagic[8] = {'T', 'E', 'R', 'N', 'I', 'D', 'X', '\0'};
constexpr size_t kFrameHeader = 8;    // length, crc
constexpr size_t kPayloadHeader = 12;  // covered, count

enum Kind : uint8_t { kMessage = 1, kFlags = 2, kCache = 3, kExpunge = 4, kScan = 5 };
constexpr uint8_t kPlaceCur = 1;
constexpr uint8_t kPlaceInfo = 2;

Error corrupt(std::string text) { return make_error(Errc::kCorrupt, "index: " + std::move(text)); }

uint32_t crc(std::string_view data) {
  uLong c = crc32(0L, Z_NULL, 0);
  // crc32() takes a uInt length: feed large data in pieces.
  while (!data.empty()) {
    const size_t n = std::min<size_t>(data.size(), 1u << 30);
    c = crc32(c, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

void put(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_str(std::string& out, std::string_view s) {
  put(out, s.size(), 4);
  out += s;
}

// Bounded little-endian reading: every read checks the bytes are there.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t left() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  std::optional<uint64_t> get(int bytes) {
    if (left() < static_cast<size_t>(bytes)) return std::nullopt;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(data_[pos_ + i])} << (8 * i);
    pos_ += static_cast<size_t>(bytes);
    return v;
  }
  std::optional<std::string_view> str(size_t max) {
    auto n = get(4);
    if (!n || *n > max || *n > left()) return std::nullopt;
    std::string_view s = data_.substr(pos_, *n);
    pos_ += *n;
    return s;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// A base as the UID list accepts it; info as a file name allows it.
bool valid_name_part(std::string_view s, bool base) {
  if (base) {
    auto m = parse_message_name(s);
    return m && !m->has_info && m->base == s;
  }
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f || c == '/') return false;
  return true;
}

Status read_place(Reader& r, bool& in_cur, bool& has_info) {
  auto place = r.get(1);
  if (!place || *place > (kPlaceCur | kPlaceInfo)) return corrupt("bad place");
  in_cur = *place & kPlaceCur;
  has_info = *place & kPlaceInfo;
  return {};
}

Status read_info(Reader& r, bool has_info, std::string& info) {
  auto s = r.str(kMaxFileName);
  if (!s || !valid_name_part(*s, false) || (!has_info && !s->empty())) return corrupt("bad info");
  info = std::string(*s);
  return {};
}

Result<IndexEntry> read_message(Reader& r) {
  IndexEntry e;
  auto uid = r.get(4);
  auto modseq = r.get(8);
  auto date = r.get(8);
  auto size = r.get(8);
  auto rfc822 = r.get(8);
  if (!uid || !modseq || !date || !size || !rfc822 || *uid == 0) return corrupt("bad message record");
  e.uid = static_cast<uint32_t>(*uid);
  e.modseq = *modseq;
  e.internaldate = static_cast<int64_t>(*date);
  e.size = *size;
  e.rfc822_size = *rfc822;
  if (Status st = read_place(r, e.in_cur, e.has_info); !st) return st.take_error();
  auto base = r.str(kMaxFileName);
  if (!base || !valid_name_part(*base, true)) return corrupt("bad base");
  e.base = std::string(*base);
  if (Status st = read_info(r, e.has_info, e.info); !st) return st.take_error();
  auto mask = r.get(1);
  if (!mask || *mask >= (1u << kCacheFields)) return corrupt("bad cache mask");
  e.cached = static_cast<uint8_t>(*mask);
  for (size_t i = 0; i < kCacheFields; ++i) {
    if (!(e.cached & (1u << i))) continue;
    auto v = r.str(kMaxCacheValue);
    if (!v) return corrupt("bad cached value");
    e.cache[i] = std::string(*v);
  }
  return e;
}

void write_message(std::string& out, const IndexEntry& e) {
  put(out, kMessage, 1);
  put(out, e.uid, 4);
  put(out, e.modseq, 8);
  put(out, static_cast<uint64_t>(e.internaldate), 8);
  put(out, e.size, 8);
  put(out, e.rfc822_size, 8);
  put(out, (e.in_cur ? kPlaceCur : 0) | (e.has_info ? kPlaceInfo : 0), 1);
  put_str(out, e.base);
  put_str(out, e.info);
  put(out, e.cached, 1);
  for (size_t i = 0; i < kCacheFields; ++i)
    if (e.cached & (1u << i)) put_str(out, e.cache[i]);
}

// One record of a frame, applied to the state.
Status apply_record(Reader& r, uint64_t covered, IndexState& s) {
  auto kind = r.get(1);
  if (!kind) return corrupt("record cut short");
  if (*kind == kMessage) {
    auto e = read_message(r);
    if (!e) return e.take_error();
    if (e->modseq > covered) return corrupt("MODSEQ past the frame's");
    s.entries[e->uid] = std::move(*e);
    s.scan.reset();
    return {};
  }
  if (*kind == kScan) {
    auto new_sec = r.get(8), new_nsec = r.get(4), new_ino = r.get(8);
    auto cur_sec = r.get(8), cur_nsec = r.get(4), cur_ino = r.get(8);
    auto bytes = r.get(8);
    if (!new_sec || !new_nsec || !new_ino || !cur_sec || !cur_nsec || !cur_ino || !bytes)
      return corrupt("scan record cut short");
    if (*new_nsec >= 1000000000 || *cur_nsec >= 1000000000) return corrupt("bad scan record");
    s.scan = ScanStamp{static_cast<int64_t>(*new_sec), static_cast<uint32_t>(*new_nsec), *new_ino,
                       static_cast<int64_t>(*cur_sec), static_cast<uint32_t>(*cur_nsec), *cur_ino, *bytes};
    return {};
  }
  auto uid = r.get(4);
  if (!uid) return corrupt("record cut short");
  auto it = s.entries.find(static_cast<uint32_t>(*uid));
  if (it == s.entries.end()) return corrupt("record for an unknown UID");
  IndexEntry& e = it->second;
  switch (*kind) {
    case kFlags: {
      auto modseq = r.get(8);
      if (!modseq || *modseq > covered) return corrupt("bad flags record");
      bool in_cur = false, has_info = false;
      if (Status st = read_place(r, in_cur, has_info); !st) return st;
      std::string info;
      if (Status st = read_info(r, has_info, info); !st) return st;
      e.modseq = *modseq;
      e.in_cur = in_cur;
      e.has_info = has_info;
      e.info = std::move(info);
      s.scan.reset();
      return {};
    }
    case kCache: {
      auto field = r.get(1);
      if (!field || *field >= kCacheFields) return corrupt("bad cache field");
      auto v = r.str(kMaxCacheValue);
      if (!v) return corrupt("bad cached value");
      e.cache[*field] = std::string(*v);
      e.cached |= static_cast<uint8_t>(1u << *field);
      return {};
    }
    case kExpunge:
      s.entries.erase(it);
      s.scan.reset();
      return {};
    default:
      return corrupt("unknown record kind");
  }
}

}  // namespace

std::string IndexEntry::file() const {
  // One allocation: this runs for every message each time a view is built.
  std::string out;
  out.reserve(4 + base.size() + (has_info ? 3 + info.size() : 0));
  out += in_cur ? "cur/" : "new/";
  out += base;
  if (has_info) {
    out += ":2,";
    out += info;
  }
  return out;
}

Result<size_t> parse_index(std::string_view file, IndexState& s) {
  if (file.size() < kIndexHeaderSize) return corrupt("shorter than its header");
  if (file.size() > kMaxIndexBytes) return corrupt("too large");
  if (std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) return corrupt("bad magic");
  Reader h(file.substr(0, kIndexHeaderSize));
  h.get(8);
  const uint64_t version = *h.get(4);
  const uint64_t header_size = *h.get(4);
  const uint64_t uidvalidity = *h.get(4);
  const uint64_t count = *h.get(4);
  const uint64_t covered = *h.get(8);
  const uint64_t length = *h.get(8);
  const uint64_t snapshot_crc = *h.get(4);
  const uint64_t header_crc = *h.get(4);
  if (version != kIndexVersion) return corrupt("another version");
  if (header_size != kIndexHeaderSize) return corrupt("bad header size");
  if (header_crc != crc(file.substr(0, kIndexHeaderSize - 4))) return corrupt("bad header checksum");
  if (uidvalidity == 0) return corrupt("UIDVALIDITY 0");
  if (length > file.size() - kIndexHeaderSize) return corrupt("snapshot cut short");
  const std::string_view snapshot = file.substr(kIndexHeaderSize, length);
  if (snapshot_crc != crc(snapshot)) return corrupt("bad snapshot checksum");

  s = IndexState{};
  s.uidvalidity = static_cast<uint32_t>(uidvalidity);
  s.covered = covered;
  Reader r(snapshot);
  uint32_t last_uid = 0;
  for (uint64_t i = 0; i < count; ++i) {
    auto kind = r.get(1);
    if (!kind || *kind != kMessage) return corrupt("snapshot holds other than messages");
    auto e = read_message(r);
    if (!e) return e.take_error();
    if (e->uid <= last_uid) return corrupt("snapshot out of UID order");
    if (e->modseq > covered) return corrupt("MODSEQ past the snapshot's");
    last_uid = e->uid;
    s.entries.emplace_hint(s.entries.end(), e->uid, std::move(*e));
  }
  if (r.left() != 0) return corrupt("bytes after the snapshot records");
  auto frames = parse_index_frames(file.substr(kIndexHeaderSize + length), s);
  if (!frames) return frames.take_error();
  return kIndexHeaderSize + length + *frames;
}

Result<size_t> parse_index_frames(std::string_view data, IndexState& s) {
  size_t pos = 0;
  while (data.size() - pos >= kFrameHeader) {
    Reader fh(data.substr(pos, kFrameHeader));
    const uint64_t length = *fh.get(4);
    const uint64_t want = *fh.get(4);
    // A torn append (or the zeros a crash can leave): stop before it.
    if (length < kPayloadHeader || length > kMaxIndexFrame || length > data.size() - pos - kFrameHeader) break;
    const std::string_view payload = data.substr(pos + kFrameHeader, length);
    if (crc(payload) != want) break;
    Reader r(payload);
    auto covered = r.get(8);
    auto count = r.get(4);
    if (!covered || !count) return corrupt("frame cut short");
    if (*covered < s.covered) return corrupt("covered MODSEQ went down");
    for (uint64_t i = 0; i < *count; ++i)
      if (Status st = apply_record(r, *covered, s); !st) return st.take_error();
    if (r.left() != 0) return corrupt("bytes after a frame's records");
    s.covered = *covered;
    pos += kFrameHeader + length;
  }
  return pos;
}

std::string format_index(const IndexState& s) {
  std::string records;
  // About a record's size: one allocation instead of a copy per doubling.
  if (!s.entries.empty()) records.reserve(s.entries.size() * (s.entries.begin()->second.base.size() + 64));
  for (const auto& [uid, e] : s.entries) write_message(records, e);
  std::string out;
  out.reserve(kIndexHeaderSize + records.size() + 256);
  out.append(kMagic, sizeof kMagic);
  put(out, kIndexVersion, 4);
  put(out, kIndexHeaderSize, 4);
  put(out, s.uidvalidity, 4);
  put(out, s.entries.size(), 4);
  put(out, s.covered, 8);
  put(out, records.size(), 8);
  put(out, crc(records), 4);
  put(out, crc(out), 4);
  out += records;
  if (s.scan) {
    IndexFrame frame;
    frame.scan(*s.scan);
    out += frame.finish(s.covered);
  }
  return out;
}

// ---------------------------------------------------------------- IndexFrame

void IndexFrame::message(const IndexEntry& e) {
  write_message(records_, e);
  ++count_;
}

void IndexFrame::flags(uint32_t uid, uint64_t modseq, bool in_cur, bool has_info, std::string_view info) {
  put(records_, kFlags, 1);
  put(records_, uid, 4);
  put(records_, modseq, 8);
  put(records_, (in_cur ? kPlaceCur : 0) | (has_info ? kPlaceInfo : 0), 1);
  put_str(records_, info);
  ++count_;
}

void IndexFrame::cache(uint32_t uid, CacheField field, std::string_view value) {
  put(records_, kCache, 1);
  put(records_, uid, 4);
  put(records_, static_cast<uint8_t>(field), 1);
  put_str(records_, value.substr(0, kMaxCacheValue));
  ++count_;
}

void IndexFrame::expunge(uint32_t uid) {
  put(records_, kExpunge, 1);
  put(records_, uid, 4);
  ++count_;
}

void IndexFrame::scan(const ScanStamp& t) {
  put(records_, kScan, 1);
  put(records_, static_cast<uint64_t>(t.new_sec), 8);
  put(records_, t.new_nsec, 4);
  put(records_, t.new_ino, 8);
  put(records_, static_cast<uint64_t>(t.cur_sec), 8);
  put(records_, t.cur_nsec, 4);
  put(records_, t.cur_ino, 8);
  put(records_, t.uidlist_bytes, 8);
  ++count_;
}

std::string IndexFrame::finish(uint64_t covered) const {
  std::string payload;
  put(payload, covered, 8);
  put(payload, count_, 4);
  payload += records_;
  std::string out;
  put(out, payload.size(), 4);
  put(out, crc(payload), 4);
  return out + payload;
}

// ---------------------------------------------------------------- Index

Index::Index(std::string folder_dir) : path_(std::move(folder_dir) + "/" + std::string(kIndexName)) {}

namespace {

Result<std::string> read_at(int fd, size_t offset, size_t size, const std::string& path) {
  std::string buf(size, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

}  // namespace

void Index::forget() {
  ++generation_;
  state_ = IndexState{};
  valid_ = false;
  fd_.reset();
  offset_ = 0;
  snapshot_end_ = 0;
}

// The file is identified by the descriptor we hold: while it is open its
// inode cannot be reused, so a replacement always shows as another inode
// (an inode number alone can come back after two quick rewrites).
Status Index::refresh() {
  struct stat now;
  if (::stat(path_.c_str(), &now) < 0) {
    if (errno != ENOENT) return sys_error("stat " + path_);
    forget();
    return {};
  }
  struct stat held;
  if (fd_.valid() && ::fstat(fd_.get(), &held) == 0 && held.st_ino == now.st_ino && held.st_dev == now.st_dev &&
      valid_) {
    const size_t size = static_cast<size_t>(held.st_size);
    if (size == offset_) return {};
    if (size < offset_ || size > kMaxIndexBytes) {
      forget();  // cut by someone not following the protocol
      return {};
    }
    auto tail = read_at(fd_.get(), offset_, size - offset_, path_);
    if (!tail) return tail.take_error();
    auto used = parse_index_frames(*tail, state_);
    if (!used) {
      forget();
      return {};
    }
    offset_ += *used;
    ++generation_;
    return {};
  }
  forget();
  auto fd = open_fd(path_, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  if (!fd) return fd.error().err == ENOENT ? Status{} : Status{fd.take_error()};
  if (::fstat(fd->get(), &held) < 0) return sys_error("fstat " + path_);
  if (!S_ISREG(held.st_mode) || static_cast<size_t>(held.st_size) > kMaxIndexBytes) return {};
  auto buf = read_at(fd->get(), 0, static_cast<size_t>(held.st_size), path_);
  if (!buf) return buf.take_error();
  auto used = parse_index(*buf, state_);
  if (!used) {
    state_ = IndexState{};
    return {};
  }
  valid_ = true;
  ++generation_;
  fd_ = std::move(*fd);
  offset_ = *used;
  Reader h(std::string_view(*buf).substr(32, 8));
  snapshot_end_ = kIndexHeaderSize + static_cast<size_t>(*h.get(8));
  return {};
}

Status Index::append(const IndexFrame& frame, uint64_t covered, const FolderLock& lock) {
  if (!valid_) return invalid("no valid index to append to: " + path_);
  const std::string bytes = frame.finish(covered);
  // Frames past twice the snapshot, or one frame too large to be read back:
  // start over with one snapshot.
  if (offset_ + bytes.size() - snapshot_end_ > std::max<size_t>(snapshot_end_, 64 * 1024) ||
      bytes.size() - kFrameHeader > kMaxIndexFrame) {
    IndexState next = state_;
    auto used = parse_index_frames(bytes, next);
    if (!used || *used != bytes.size()) return corrupt("appended frame does not parse");  // our bug
    return rewrite(std::move(next), lock);
  }
  auto fd = open_fd(path_, O_WRONLY);
  if (!fd) return fd.take_error();
  struct stat st, held;
  if (::fstat(fd->get(), &st) < 0 || ::fstat(fd_.get(), &held) < 0) return sys_error("fstat " + path_);
  if (st.st_ino != held.st_ino || st.st_dev != held.st_dev)
    return make_error(Errc::kTemporary, "index replaced under the lock: " + path_);
  // Cut a torn tail, then write the frame where it ended.
  if (static_cast<size_t>(st.st_size) != offset_ && ::ftruncate(fd->get(), static_cast<off_t>(offset_)) < 0)
    return sys_error("ftruncate " + path_);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd->get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("write " + path_);
    done += static_cast<size_t>(n);
  }
  auto used = parse_index_frames(bytes, state_);
  if (!used || *used != bytes.size()) return corrupt("appended frame does not parse");  // our bug
  offset_ += bytes.size();
  ++generation_;
  return {};
}

Status Index::rewrite(IndexState state, const FolderLock&) {
  const std::string bytes = format_index(state);
  // No fsync: see the top of index.h.
  if (Status st = write_file_atomic(path_, bytes, DurableOptions{0600, false}); !st) return st;
  forget();
  // Under the lock nobody replaces it again: this opens what we wrote.
  auto fd = open_fd(path_, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  if (!fd) return fd.take_error();
  fd_ = std::move(*fd);
  state_ = std::move(state);
  valid_ = true;
  ++generation_;
  offset_ = bytes.size();
  snapshot_end_ = bytes.size();
  return {};
}

}  // namespace tern::store
