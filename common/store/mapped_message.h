#pragma once
// A message file mapped read-only, for readers that must not copy a whole
// message into memory (FETCH BODY[] of a 50 MB message, imapd/cmd_fetch.cc).
//
// Why a mapping is safe here: Maildir message files are written once in
// tmp/ and never rewritten, only renamed (flag changes, new/ -> cur/) or
// unlinked (EXPUNGE); an unlinked file's pages stay valid while mapped. A
// mapping past the end of a file that shrank would raise SIGBUS on access,
// so the length comes from fstat(2) of the descriptor just opened; a file
// that shrinks after that is a broken Maildir, not something a Tern
// process or a Maildir tool does. MAP_PRIVATE + PROT_READ: nothing we do
// can write through it.
//
// Memory: the pages a reader touches count in the process's resident set
// (VmRSS/VmHWM) until unmapped, although they are the page cache's. A
// reader that goes through a large file once calls release() now and then
// (madvise MADV_DONTNEED: the pages leave this process's page tables and
// come back from the page cache, with no disk I/O, if touched again), so
// a 1 GB message costs its reader a few hundred KB, not 1 GB.
//
// Small files (under kCopyBelow) are read into memory instead: mapping
// one costs an mmap, a page fault per page and a munmap, and a munmap in a
// process with worker threads flushes the TLB of every CPU that ran one of
// them (an inter-processor interrupt each): 12 % of imapd's CPU in the
// bench/imap stay shape, whose messages are 2-20 KB. A copy of that size
// comes from malloc's arena (below its mmap threshold) and is one read(2).
//
// Blocking: page faults read the disk. Use it on the worker pool.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::store {

// Files smaller than this are read, not mapped (see above): below glibc's
// default mmap threshold (128 KiB), so the buffer is no mapping either.
inline constexpr size_t kCopyBelow = 120 * 1024;

class MappedMessage {
 public:
  // Opens and maps `path` (at most max_bytes: larger is Errc::kLimit; an
  // absent file is Errc::kNotFound). An empty file maps to no bytes.
  static Result<MappedMessage> open(const std::string& path, size_t max_bytes);

  MappedMessage() = default;
  MappedMessage(MappedMessage&& other) noexcept;
  MappedMessage& operator=(MappedMessage&& other) noexcept;
  MappedMessage(const MappedMessage&) = delete;
  MappedMessage& operator=(const MappedMessage&) = delete;
  ~MappedMessage();

  std::string_view bytes() const {
    return {copy_ ? copy_.get() : static_cast<const char*>(addr_), size_};
  }
  size_t size() const { return size_; }
  // Drops the pages touched so far from the resident set (see above).
  void release() const;

 private:
  void unmap();

  void* addr_ = nullptr;
  std::unique_ptr<char[]> copy_;  // a small file's bytes (addr_ is then null)
  size_t size_ = 0;
};

}  // namespace tern::store
