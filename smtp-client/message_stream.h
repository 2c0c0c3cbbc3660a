#pragma once
// The message of a queue file as it goes after DATA (RFC 5321 4.5.2):
// dot-stuffed, ending in CRLF "." CRLF, produced a chunk at a time so a
// 50 MB message never sits in memory.
//
//   DotStuffer d;  d.feed(bytes, out) ...  d.finish(out);   // pure
//   MessageStream m(reader);  while (!m.done()) m.fill(out, 64 KiB);
//
// The queue file holds the message with CRLF line ends and not dot-stuffed
// (qfile.h). Every "." that starts a line gets a second one; a message that
// does not end in CRLF (BDAT may leave one so) gets one before the final
// ".", which RFC 5321 4.1.1.4 requires.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/mail/mime_downgrade.h"
#include "common/queue/qfile_reader.h"

namespace tern::smtp_client {

class DotStuffer {
 public:
  // Appends the stuffed form of the next message bytes to out.
  void feed(std::string_view in, std::string& out);
  // Appends the end of data: CRLF if the message did not end in one, then
  // ".\r\n".
  void finish(std::string& out);

 private:
  bool line_start_ = true;  // the next byte starts a line
  char last_ = 0;
  char before_last_ = 0;
  bool empty_ = true;
};

class MessageStream {
 public:
  explicit MessageStream(const queue::QfileReader& reader) : reader_(reader) {}
  // The same, converted to 7 bits by a downgrade plan of this message
  // (common/mail/mime_downgrade.h) before it is dot-stuffed.
  MessageStream(const queue::QfileReader& reader, const mail::DowngradePlan& plan)
      : reader_(reader), downgrade_(std::make_unique<mail::MimeDowngrade>(plan)) {}
  // Appends up to about `chunk` message bytes, stuffed (and the end of data
  // after the last of them) to out.
  Status fill(std::string& out, size_t chunk);
  bool done() const { return done_; }
  uint64_t position() const { return pos_; }

 private:
  const queue::QfileReader& reader_;
  DotStuffer stuffer_;
  std::unique_ptr<mail::MimeDowngrade> downgrade_;
  std::string converted_;
  uint64_t pos_ = 0;
  bool done_ = false;
};

}  // namespace tern::smtp_client
