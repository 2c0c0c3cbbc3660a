#pragma once
// The cleanup step (DESIGN.md, "The queue"): what happens to every message
// before it is queued, whoever received it (smtpd, pickup, qmgr's DSNs).
//
//   begin()   aliases expanded (alias_expand.h: virtual_alias_maps,
//             alias_maps; recursive, bounded, ORCPT kept per result),
//             duplicate recipients removed (by address, case-insensitive
//             domain), a queue ID drawn, the envelope and the trace header
//             (Received:, RFC 5321 4.4) put first in the writer's buffer;
//             tmp/<id> is made when that buffer first goes out (at finish()
//             for a message under QfileWriter::kBufferSize)
//   append()  the message as it arrives (CRLF, not dot-stuffed). The header
//             block is held (at most header_size_limit bytes, at most
//             header_count_limit fields) until its end (the empty line,
//             or a line that is neither a header field nor a continuation:
//             as in Postfix, an empty line is put before it, so that it and
//             what follows are the body and a message with no header at all
//             is a body under the trace header), then checked:
//             too many Received: fields (hopcount_limit) is a mail loop;
//             on submission a missing Message-ID: or Date: is added (RFC
//             6409 8.2, 8.3) at the end of the header block, as Postfix
//             does; the body streams straight to the file
//   finish()  trailer + fsync         (BLOCKING: run it on the worker pool)
//   commit()  rename into incoming/   (BLOCKING: run it on the worker pool)
//             or, with settings.hold, into hold/, where qmgr leaves it until
//             "ternsuper -H" releases it
// Only after commit() may the message be acknowledged.

#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/queue/qfile.h"
#include "common/queue/alias_expand.h"
#include "common/queue/qfile_writer.h"
#include "common/queue/queue_id.h"

namespace tern::queue {

struct CleanupSettings {
  std::string queue_dir;  // as this process sees it (inside its chroot)
  std::string myhostname;
  uint64_t message_size_limit = 0;   // 0: none
  size_t header_size_limit = 102400; // the whole header block
  size_t header_count_limit = 1000;  // header fields
  int hopcount_limit = 50;           // Received: fields
  bool add_missing_headers = false;  // submission: Message-ID:, Date:
  bool hold = false;  // commit() into hold/ instead of incoming/ (an access table's HOLD)
  const AliasSettings* aliases = nullptr;  // none: recipients are final as given
};

// Why append() or finish() refused the message, so the receiver can answer.
enum class CleanupFault {
  kNone,
  kTooBig,          // message_size_limit: 552 5.3.4
  kHeaderTooLarge,  // header_size_limit / header_count_limit: 552 5.3.4
  kTooManyHops,     // hopcount_limit: 554 5.4.6 (a mail loop)
  kSystem,          // a write, fsync or rename failed: 451 4.3.0
};

class Cleanup {
 public:
  // received: the complete trace header, CRLF-terminated, or "".
  static Result<std::unique_ptr<Cleanup>> begin(const CleanupSettings& settings, Envelope envelope,
                                                std::string received, QueueIdGenerator& ids, Clock& clock);

  Status append(std::string_view bytes);
  // Ends the header block if the message had no body separator, then
  // trailer and fsync. Blocking.
  Status finish();
  Status commit();  // Blocking.
  void abort();

  CleanupFault fault() const { return fault_; }
  const std::string& queue_id() const { return writer_.id(); }
  uint64_t size() const { return writer_.message_size(); }
  size_t recipient_count() const { return recipients_; }
  // The Message-ID: field's value as received (unfolded, at most
  // kMessageIdLogLimit bytes), or the one cleanup added; "" if none. For the
  // "ID: message-id=<...>" log line Postfix's cleanup writes; the caller
  // logs it with control characters escaped.
  const std::string& message_id() const { return message_id_; }
  static constexpr size_t kMessageIdLogLimit = 512;

 private:
  Cleanup(const CleanupSettings& settings, QfileWriter writer, Clock& clock, size_t recipients)
      : settings_(settings), writer_(std::move(writer)), clock_(clock), recipients_(recipients) {}
  Status end_of_headers();
  Status refuse(CleanupFault fault, Error e);

  CleanupSettings settings_;
  QfileWriter writer_;
  Clock& clock_;
  size_t recipients_;
  bool in_headers_ = true;
  std::string headers_;  // the held header block, without the empty line
  size_t checked_ = 0;   // headers_ up to here is whole header lines
  std::string message_id_;
  CleanupFault fault_ = CleanupFault::kNone;
};

// Removes duplicate recipients, keeping the first of each (DESIGN.md).
std::vector<Recipient> remove_duplicates(std::vector<Recipient> recipients);

}  // namespace tern::queue
