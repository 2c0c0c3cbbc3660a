#pragma once
// QfileReader: opens a queue file (format: qfile.h), parses and checks its
// envelope and trailer, gives access to the message bytes, and records a
// recipient's new status in place.
//
//   auto r = QfileReader::open(path);                     // smtp-client, terncat
//   auto r = QfileReader::open(path, OpenMode::kReadWrite); // qmgr
//   r->envelope().recipients[i] ...
//   r->read_message(pos, buf, n)                          // the wire bytes
//   r->set_recipient_status(i, RcptStatus::kDelivered);   // pwrite + fsync
//
// open() reads only the envelope (bounded: kMaxRecordLine per line,
// ReaderLimits on the counts) and the trailer's last bytes, never the
// message, so it costs the same for a 1 KB and a 50 MB message. A file that
// does not follow the format gives Errc::kCorrupt with a reason that names
// the offset; qmgr moves such a file to corrupt/. open() and
// set_recipient_status() are blocking: daemons call them on the worker pool.
//
// parse_qfile() runs the same parser over a file image in memory (tools,
// tests and the fuzz target).
//
// Threads: as QfileWriter, one thread at a time; read_message() is const and
// uses pread(2), so concurrent reads of one reader are safe.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/fd.h"
#include "common/base/result.h"
#include "common/queue/qfile.h"

namespace tern::queue {

struct ReaderLimits {
  size_t max_recipients = 100000;
  size_t max_attributes = 1000;
};

enum class OpenMode { kReadOnly, kReadWrite };

class QfileReader {
 public:
  // Errors: kSystem (open, read), kInvalid (not a regular file), kCorrupt.
  static Result<QfileReader> open(const std::string& path, OpenMode mode = OpenMode::kReadOnly,
                                  ReaderLimits limits = {});

  const Envelope& envelope() const { return envelope_; }
  const std::string& path() const { return path_; }
  uint64_t message_size() const { return envelope_.message_size; }
  // The file's owner when it was opened (fstat): pickup compares it with
  // the uid a maildrop file records.
  uid_t owner() const { return owner_; }

  // Reads up to n bytes of the message starting pos bytes into it; returns
  // the count, 0 at the end. A file that shrank since open() is kCorrupt.
  Result<size_t> read_message(uint64_t pos, char* buf, size_t n) const;
  // The whole message, when it is at most max_bytes (else kLimit).
  Result<std::string> read_message_all(size_t max_bytes = 64 << 20) const;

  // Rewrites recipient `index`'s status field in place and fsyncs the file
  // (through the fault hooks). Needs OpenMode::kReadWrite.
  Status set_recipient_status(size_t index, RcptStatus status);
  // The same for several recipients, with one fsync after all the writes
  // (qmgr records a whole delivery answer at once). On an error the fields
  // written so far may or may not be durable; none is reported as set.
  Status set_recipient_statuses(const std::vector<std::pair<size_t, RcptStatus>>& changes);

 private:
  QfileReader() = default;
  Status write_status_field(uint64_t offset, RcptStatus status);
  std::string path_;
  Fd fd_;
  OpenMode mode_ = OpenMode::kReadOnly;
  uid_t owner_ = 0;
  Envelope envelope_;
};

// Parses a whole file image; the offsets in the Envelope are into `image`.
Result<Envelope> parse_qfile(std::string_view image, ReaderLimits limits = {});

}  // namespace tern::queue
