#pragma once
// Message files in a Maildir folder: their names and their delivery.
//
// A file name is <base>[:2,<flags>] (http://cr.yp.to/proto/maildir.html).
// The base is unique and never changes once delivered; moving new/ → cur/
// and changing flags only rewrites the ":2," part. Tern writes bases as
//   <seconds>.M<microseconds>P<pid>Q<counter>.<host>,S=<bytes>,W=<size>
// with "/", ":" and "," in the host name written as \057, \072 and \054.
// S= is the file's size, W= its RFC 822 size (CRLF line ends). Messages are
// stored CRLF, so for Tern's own files S = W; readers also accept LF files
// (migrated mail) and never take RFC822.SIZE from S= (crlf_size()).
//
// The files are authoritative (the message and its flags); nothing here is
// a cache.
//
// Delivery (DESIGN.md "Mail store"): write tmp/<base>, fsync, rename to
// new/<base>,S=,W=, fsync new/. The rename is the commit: no lock is taken,
// and a crash leaves at most a stale file in tmp/. Blocking I/O: run it on
// the worker pool.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/base/result.h"

namespace tern::store {

// Longest file name accepted (NAME_MAX).
inline constexpr size_t kMaxFileName = 255;

struct MessageName {
  std::string_view base;   // before ":2,"; the whole name when there is none
  std::string_view flags;  // after ":2,"; empty when none
  bool has_info = false;   // ":2," present
  std::optional<uint64_t> size;         // S=
  std::optional<uint64_t> rfc822_size;  // W=
  // Delivery time from the leading "<seconds>." and "M<usec>" (0 when absent):
  // the order in which readers hand out UIDs.
  uint64_t seconds = 0;
  uint32_t usec = 0;
};

// Parses a directory entry of new/ or cur/. std::nullopt for names that are
// not messages: empty, starting with ".", longer than kMaxFileName, or
// holding "/", a tab, a newline or another control byte (such a base could
// not be recorded in the UID list).
std::optional<MessageName> parse_message_name(std::string_view file_name);

// The RFC 822 size of a message that may use bare LF line ends.
uint64_t crlf_size(std::string_view message);

// Writes one message into a folder. Bare LF line ends become CRLF.
class MessageWriter {
 public:
  // Opens <folder>/tmp/<unique base> (O_EXCL; a collision takes the next
  // counter value).
  static Result<MessageWriter> create(std::string folder_dir);

  MessageWriter(MessageWriter&&) = default;
  MessageWriter& operator=(MessageWriter&&) = default;
  ~MessageWriter();  // removes the tmp/ file unless committed

  Status write(std::string_view chunk);
  // Flushes, fsyncs, renames into new/ and fsyncs new/. Returns the final
  // file name (in new/). After an error the tmp/ file is removed; when only
  // the fsync of new/ failed the message is in new/ all the same, so a
  // retry may duplicate it but nothing is lost.
  Result<std::string> commit();
  // The same into cur/ as "<name>:2,<info>" (an IMAP APPEND with flags, as
  // Dovecot saves it: no second rename new/ -> cur/ to set them). `info` is
  // what follows ":2," (flags.h name_with_flags). Returns the name in cur/.
  Result<std::string> commit_into_cur(std::string_view info);

  uint64_t bytes() const { return bytes_; }

 private:
  MessageWriter() = default;
  Status flush();
  Result<std::string> finish(bool cur, std::string_view info);

  std::string folder_;
  std::string base_;
  Fd fd_;
  std::string buffer_;
  uint64_t bytes_ = 0;
  bool last_cr_ = false;
  bool done_ = false;
};

// One whole message: create, write, commit.
Result<std::string> deliver(std::string folder_dir, std::string_view message);

}  // namespace tern::store
