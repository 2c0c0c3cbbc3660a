#pragma once
// Command lines from a libevent input buffer, bounded: what smtpd and
// lmtp-deliver read their commands with (RFC 5321 4.5.3.1.4: a line has a
// limit; a client that goes past it gets an error, not our memory).
//
// A line ends in LF (a CR before it is removed). A line longer than the
// limit is reported once (kTooLong) and discarded up to its end, even when
// its end arrives much later: a flood without newlines costs bounded
// memory, and what follows the long line is read as the next command.

#include <event2/buffer.h>

#include <cstddef>
#include <string>

namespace tern::event {

class LineReader {
 public:
  enum class Read { kLine, kNeedMore, kTooLong };
  explicit LineReader(size_t limit) : limit_(limit) {}
  // kLine: *line holds the next line (without CRLF). kNeedMore: no
  // complete line yet. kTooLong: a line past the limit was (or is being)
  // dropped; call again for what follows it.
  Read next(evbuffer* in, std::string* line);
  // Forgets a line being discarded (the stream starts over, as after
  // STARTTLS).
  void reset() { discarding_ = false; }

 private:
  size_t limit_;
  bool discarding_ = false;
};

}  // namespace tern::event
