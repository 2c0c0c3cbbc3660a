// A message file mapped read-only (mapped_message.h).

#include "common/store/mapped_message.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/base/fd.h"

namespace tern::store {

Result<MappedMessage> MappedMessage::open(const std::string& path, size_t max_bytes) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) {
    Error e = fd.take_error();
    if (e.err == ENOENT) e.code = Errc::kNotFound;
    return e;
  }
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return sys_error("fstat " + path);
  if (!S_ISREG(st.st_mode)) return invalid(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return make_error(Errc::kLimit, path + ": file larger than " + std::to_string(max_bytes) + " bytes");
  MappedMessage m;
  if (st.st_size == 0) return m;
  if (static_cast<uint64_t>(st.st_size) < kCopyBelow) {
    const size_t want = static_cast<size_t>(st.st_size);
    m.copy_ = std::make_unique_for_overwrite<char[]>(want);
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd->get(), m.copy_.get() + got, want - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("read " + path);
      if (n == 0) break;  // shrank since the fstat: what is there (a broken Maildir)
      got += static_cast<size_t>(n);
    }
    m.size_ = got;
    return m;
  }
  void* addr = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd->get(), 0);
  if (addr == MAP_FAILED) return sys_error("mmap " + path);
  m.addr_ = addr;
  m.size_ = static_cast<size_t>(st.st_size);
  // Readers go front to back: read ahead more, drop behind sooner.
  ::madvise(m.addr_, m.size_, MADV_SEQUENTIAL);
  return m;
}

MappedMessage::MappedMessage(MappedMessage&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      copy_(std::move(other.copy_)),
      size_(std::exchange(other.size_, 0)) {}

MappedMessage& MappedMessage::operator=(MappedMessage&& other) noexcept {
  if (this != &other) {
    unmap();
    addr_ = std::exchange(other.addr_, nullptr);
    copy_ = std::move(other.copy_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedMessage::~MappedMessage() { unmap(); }

void MappedMessage::unmap() {
  if (addr_) ::munmap(addr_, size_);
  addr_ = nullptr;
  copy_.reset();
  size_ = 0;
}

void MappedMessage::release() const {
  // Only fails for arguments we get right; a failure leaves pages resident,
  // which costs memory, not correctness.
  if (addr_) ::madvise(addr_, size_, MADV_DONTNEED);
}

}  // namespace tern::store
