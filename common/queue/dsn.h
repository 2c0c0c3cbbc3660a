#pragma once
// Delivery status notifications (DSNs): the bounces, delay warnings and
// success reports qmgr sends, built as RFC 3464 reports and queued through
// the cleanup step like any other mail.
//
// API (qmgr uses these three; everything is a plain function):
//
//   // Who is told, and whether this recipient asked for it:
//   NoticeTarget t = notice_target(envelope, DsnKind::kFailure);
//   bool tell = t == NoticeTarget::kDoubleBounce || wants_notice(rcpt.notify, DsnKind::kFailure);
//
//   // Build and queue it (BLOCKING: worker pool), before marking the
//   // recipients it reports on final:
//   DsnRequest req{.kind = DsnKind::kFailure, .original = MessageSource::of(reader),
//                  .recipients = {{.final_recipient = "bob@example.org", .orcpt = rcpt.orcpt,
//                                  .action = DsnAction::kFailed, .status = "5.1.1",
//                                  .remote_mta = "mx.example.org[192.0.2.7]:25",
//                                  .diagnostic = "550 5.1.1 <bob@example.org>: user unknown",
//                                  .reason = "host mx.example.org[192.0.2.7] said: 550 ...",
//                                  .last_attempt = clock.wall_now()}}};
//   Result<std::string> id = queue_dsn(req, dsn_settings, cleanup_settings, ids, clock);
//   // *id: the new queue file in incoming/ (sender <>); kNotFound when
//   // notice_target() says nobody is to be told (nothing was queued).
//
//   // Delay and expiry reports from the defer log (defer_log.h):
//   auto log = read_defer_log(queue_dir, id);
//   req.recipients.push_back(dsn_report(rcpt, DsnAction::kDelayed, log ? log->find(i) : nullptr));
//
//   // Or only the message text (tests, tools): build_dsn(req, settings, clock, to, message_id).
//
// Policy (RFC 3461 4.1, and Postfix's behaviour where the RFC leaves room):
//   - NOTIFY not given (0): failure and delay notices, no success notice.
//     NEVER: none. Otherwise the listed kinds.
//   - Never a notice to the null sender (RFC 3461 6.2, RFC 5321 6.1): a
//     message with sender <> that fails is reported to
//     `double_bounce_recipient` (default postmaster, qualified with myorigin
//     and alias-expanded by the cleanup step like any recipient) whatever its
//     recipients' NOTIFY; its delays and successes are reported to nobody.
//     A double bounce that itself fails is reported to nobody (it carries the
//     attribute notice=double-bounce), so two mail systems cannot bounce to
//     each other forever.
//
// The message (RFC 5322, CRLF, every line within 998 octets):
//   From: MAILER-DAEMON@<myhostname> (Mail Delivery System)
//   To: <sender>, Subject as Postfix writes it, Date, Message-ID,
//   Auto-Submitted: auto-replied (RFC 3834 5), MIME-Version: 1.0,
//   Content-Type: multipart/report; report-type=delivery-status (RFC 6522)
//     1. text/plain: what happened, one paragraph per recipient with the
//        remote reply (folded at 78 columns)
//     2. message/delivery-status (RFC 3464 2.2, 2.3): Reporting-MTA,
//        X-Tern-Queue-ID, X-Tern-Sender, Original-Envelope-Id (when ENVID),
//        Arrival-Date; then per recipient Original-Recipient (when ORCPT),
//        Final-Recipient, Action, Status, Remote-MTA (when known),
//        Diagnostic-Code (when known), Last-Attempt-Date, Will-Retry-Until
//        (delays)
//     3. the original: message/rfc822 (all of it) when RET is not HDRS, the
//        notice is not a success report, the message is at most
//        bounce_size_limit bytes and every line fits in 998 octets; else
//        text/rfc822-headers (its header section only, leaving out any
//        line longer than 998 octets).
//   SMTPUTF8 originals get message/global-delivery-status and message/global
//   (message/global-headers), RFC 6533 3, 6.
//   Diagnostic-Code: the remote reply (else the reason); a text starting
//   with an SMTP reply code ("550 ...") is `smtp; <text>`, any other (a
//   connection failure, a local error) `x-tern; <text>`. Control characters become spaces; text outside
//   printable ASCII (outside valid UTF-8 for SMTPUTF8) becomes "?". Texts
//   are cut at kMaxDiagnostic bytes.
//   Transfer encoding: 7bit, unless the original part carries 8-bit bytes
//   (or the report is RFC 6533 global): then 8bit, on that part and on the
//   whole message, and the DSN is queued with BODY=8BITMIME.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/queue/cleanup.h"
#include "common/queue/qfile.h"
#include "common/queue/queue_id.h"

namespace tern::queue {

class QfileReader;

enum class DsnKind { kFailure, kDelay, kSuccess };

// RFC 3464 2.3.3.
enum class DsnAction { kFailed, kDelayed, kDelivered, kRelayed, kExpanded };
std::string_view dsn_action_name(DsnAction action);  // "failed", ...

// RFC 3461 4.1: does a recipient with these NOTIFY flags (NotifyFlags; 0 =
// not given) want a notice of this kind?
bool wants_notice(unsigned notify, DsnKind kind);

enum class NoticeTarget {
  kSender,        // the original's envelope sender
  kDoubleBounce,  // double_bounce_recipient (a failed message from <>)
  kNone,          // nobody: a delay or success of a message from <>, or a failed double bounce
};
NoticeTarget notice_target(const Envelope& original, DsnKind kind);

// The attribute a DSN's queue file carries ("notice" = "dsn" or
// "double-bounce"), so a failed double bounce is told to nobody.
inline constexpr std::string_view kNoticeAttribute = "notice";

// The message a report is about.
struct MessageSource {
  const Envelope* envelope = nullptr;
  std::string queue_id;
  uint64_t size = 0;
  // Reads up to n bytes at pos into buf; 0 at the end.
  std::function<Result<size_t>(uint64_t pos, char* buf, size_t n)> read;

  // From an open queue file (its ID is the file's name). The reader must
  // outlive the MessageSource.
  static MessageSource of(const QfileReader& reader);
  // From bytes in memory (tests, tools); the envelope and bytes must outlive it.
  static MessageSource of(const Envelope& envelope, std::string_view queue_id, std::string_view bytes);
};

// One recipient's line in a report. The fields map onto the delivery
// protocol's result line (common/ipc/delivery_protocol.h): dsn= is status,
// relay= is remote_mta, reason= is reason, reply= is diagnostic.
struct DsnRecipientReport {
  std::string final_recipient;  // the address tried (qfile TO=)
  std::string orcpt;            // qfile ORCPT= ("rfc822;bob@example.org"), "" if none
  DsnAction action = DsnAction::kFailed;
  std::string status;           // enhanced status code, "5.1.1" (RFC 3463)
  // The server that answered: a host name, or "host[address]:port" (the
  // delivery protocol's relay=; the name is taken); "none", a socket path or
  // "": not written.
  std::string remote_mta;
  // The remote server's own reply ("550 5.1.1 ..."), for Diagnostic-Code;
  // "" if none.
  std::string diagnostic;
  // What happened, for people ("host x[1.2.3.4] said: 550 5.1.1 ... (in
  // reply to RCPT TO command)", "connect to ...: Connection refused"): the
  // text part, and the Diagnostic-Code when there is no diagnostic. "": the
  // text part says "host <remote_mta> said: <diagnostic>".
  std::string reason;
  WallTime last_attempt{};      // epoch (0): not written
};

// A report line for a recipient from the latest record of the defer log
// (defer_log.h; nullptr when it has none): what delay and expiry reports
// say. The status is the record's (a message that expires keeps the
// status of its last deferral, as Postfix does), else 4.0.0 or 5.0.0.
struct DeferRecord;
DsnRecipientReport dsn_report(const Recipient& rcpt, DsnAction action, const DeferRecord* last);

struct DsnRequest {
  DsnKind kind = DsnKind::kFailure;
  MessageSource original;
  std::vector<DsnRecipientReport> recipients;  // at least one
  WallTime will_retry_until{};  // delays: arrival + maximal_queue_lifetime; 0: not written
};

struct DsnSettings {
  std::string myhostname;
  uint64_t bounce_size_limit = 50000;  // bounce_size_limit
  std::string myorigin;                // qualifies double_bounce_recipient
  std::string double_bounce_recipient = "postmaster";
};

inline constexpr size_t kMaxDiagnostic = 900;
// The most of an original's header section returned (text/rfc822-headers).
inline constexpr size_t kMaxReturnedHeader = 256 * 1024;

// The complete notice, CRLF line ends, addressed to `to` (the sender, or the
// double-bounce recipient). message_id: the Message-ID: value with its <>.
// Reads the original (blocking). kInvalid for a request without recipients
// or without an original.
struct BuiltDsn {
  std::string text;
  bool eight_bit = false;  // some part is 8bit: queue with BODY=8BITMIME
};
Result<BuiltDsn> build_dsn(const DsnRequest& request, const DsnSettings& settings, Clock& clock,
                           std::string_view to, std::string_view message_id);

// Builds the notice and queues it through the cleanup step (cleanup.h:
// aliases, tmp/, fsync, rename into incoming/, fsync of incoming/): sender
// <>, one recipient chosen by notice_target(). Returns the new queue ID.
// BLOCKING: run it on the worker pool. kNotFound (nothing queued) when
// notice_target() is kNone; the cleanup's errors otherwise (nothing left in
// tmp/). The caller wakes qmgr's own intake as for any new message.
Result<std::string> queue_dsn(const DsnRequest& request, const DsnSettings& settings,
                              const CleanupSettings& cleanup, QueueIdGenerator& ids, Clock& clock);

}  // namespace tern::queue
