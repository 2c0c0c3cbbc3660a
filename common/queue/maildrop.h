#pragma once
// Local submission (DESIGN.md, "The queue"): sendmail(1) -> terndrop(8) ->
// maildrop/ -> pickup(8) -> the cleanup step. Two formats, one trust rule.
//
// THE SUBMISSION STREAM: what sendmail writes to terndrop's standard input.
// Everything in it comes from the caller and is untrusted.
//
//   TERNSUBMIT 1                      magic and version
//   SENDER <address>                  required, once; empty value: <>
//   RET FULL|HDRS                     optional (sendmail -R, RFC 3461)
//   ENVID <text>                      optional (sendmail -V)
//   RCPT TO=<addr>[\tNOTIFY=<list>][\tORCPT=<type;addr>]
//                                     one per recipient, at least one
//   EOE                               end of the envelope
//   DATA <n>                          then exactly n message bytes, 1 <= n <=
//   <n bytes>                         kMaxChunk; repeated (none: empty message)
//   END <total>                       the end: total = the sum of every n
//
// Lines end in LF; values are %-escaped as in the queue file (common/ipc:
// tab, LF, CR and "%" as %09, %0A, %0D, %25), so no value can end a line or
// forge a record. A line is at most kMaxRecordLine bytes. Any other record,
// a repeated one, a bad value, more than kMaxSubmissionRecipients
// recipients or kMaxSubmissionEnvelope bytes of envelope, or input that ends before END (a sendmail that died half-way)
// is refused: terndrop then writes nothing. The message bytes are the
// message as it goes on the wire (CRLF line ends, not dot-stuffed).
//
// THE MAILDROP FILE: what terndrop writes into maildrop/ and pickup reads.
// It is a queue file (qfile.h, read by QfileReader) holding only the minimal
// record set: ARRIVAL and the attributes "uid" and "login", which terndrop
// sets itself (the caller's real uid and its login name from the password
// file, never from the environment); SENDER, RET, ENVID and the RCPT records
// (TO, ORCPT, NOTIFY; status pending) from the stream; the message. The
// file is owned by the caller (terndrop is set-gid, not set-uid).
//
// pickup accepts a maildrop file only when check_maildrop() finds nothing
// else in it: the recorded uid must be the file's owner, and any record a
// client could use to pass as trusted (client_address, sasl_username, an
// "original=" recipient, BODY, any attribute terndrop does not write) makes
// the file suspect. pickup moves such a file to corrupt/ with the reason.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/queue/qfile.h"

namespace tern::queue {

inline constexpr std::string_view kSubmitMagic = "TERNSUBMIT";
inline constexpr int kSubmitVersion = 1;
inline constexpr size_t kMaxChunk = 64 * 1024;
inline constexpr size_t kMaxSubmissionRecipients = 10000;
// The stream's envelope, all records together.
inline constexpr size_t kMaxSubmissionEnvelope = 4 << 20;

// The untrusted part of a local submission.
struct Submission {
  std::string sender;  // "" is the null sender
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;
  std::vector<Recipient> recipients;  // address, orcpt, notify
};

// The stream's envelope, "TERNSUBMIT 1" to "EOE" (kInvalid for what the
// reader would refuse: no recipient, an empty address, bad NOTIFY).
Result<std::string> format_submission(const Submission& s);
// "DATA <n>\n" + bytes, for 1 <= bytes.size() <= kMaxChunk.
std::string format_chunk(std::string_view bytes);
// "END <total>\n".
std::string format_submission_end(uint64_t total);

// Reads the stream through `read` (fills up to n bytes, 0 at the end of
// input), buffering at most kMaxRecordLine + kMaxChunk bytes.
class SubmissionReader {
 public:
  using ReadFn = std::function<Result<size_t>(char* buf, size_t n)>;
  explicit SubmissionReader(ReadFn read) : read_(std::move(read)) {}

  // The records up to EOE. kInvalid with the reason for a bad stream.
  Result<Submission> envelope();
  // The next piece of the message into *out (replacing its content); false
  // once END has been read and checked (then the input must be at its end).
  Result<bool> next_chunk(std::string* out);
  uint64_t total() const { return total_; }

 private:
  Result<std::string> line();
  Result<bool> fill();  // false at the end of input

  ReadFn read_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t total_ = 0;
  size_t envelope_bytes_ = 0;
  bool ended_ = false;
};

// The attributes terndrop writes; pickup accepts no other.
Envelope maildrop_envelope(const Submission& s, WallTime arrival, uid_t uid, std::string_view login);

// Why pickup must not accept this maildrop file (kInvalid, the reason), or
// OK. owner: the file's owner as fstat(2) saw it.
Status check_maildrop(const Envelope& env, uid_t owner);

}  // namespace tern::queue
