#pragma once
// The showq protocol, version 1.1: the queue listing for users who may not
// read the queue (ternqueue(1) -p/-j/-i run by anyone but root and the mail
// system; mailq). Served by showq(8) on public/showq (mode 0666), as
// Postfix's showq serves postqueue. Tern's line conventions (common/ipc):
// one line per message, tab-separated key=value fields, %-escaping of tab,
// CR, LF and "%".
//
//   S: VERSION<TAB>showq<TAB>1<TAB>0
//   C: LIST                                  every listed message (mailq)
//   C: LIST<TAB>id=<queue ID>                only that one (ternqueue -i)
//   S: MESSAGE<TAB>queue=<active|incoming|deferred|hold><TAB>id=<queue ID>
//        <TAB>arrival=<microseconds since the epoch><TAB>size=<bytes>
//        <TAB>sender=<address, empty for the null sender><TAB>rcpts=<n>
//   S: RCPT<TAB>address=<address><TAB>status=<pending|delayed|delivered|...>
//        [<TAB>reason=<the latest deferral reason>]     (since 1.1)
//        ... exactly <n> RCPT lines follow their MESSAGE
//   S: END<TAB>count=<messages sent>         the listing is complete
//   or
//   S: ERROR<TAB>text=<why>                  instead of END: it is not
// and the server closes. The messages, their order and what each says are
// those of queue_listing.h; the client formats them itself, so its output is
// byte for byte what it prints when it reads the queue directly.
//
// Compatibility: a client refuses a server whose major version differs; both
// sides ignore fields they do not know (a minor version may add some).
//
// Limits (every input is hostile): the request line is at most
// kMaxRequestLine bytes; a server line at most kMaxReplyLine; a MESSAGE
// announces at most kMaxRecipients recipients. Anything else is a protocol
// error and ends the conversation.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/queue/queue_listing.h"

namespace tern::queue::showq {

inline constexpr std::string_view kProto = "showq";
inline constexpr int kMajor = 1;
inline constexpr int kMinor = 1;
inline constexpr size_t kMaxRequestLine = 1024;
// A record line is at most 16 KiB (qfile.h); escaping can triple it.
inline constexpr size_t kMaxReplyLine = 3 * 16 * 1024 + 256;
inline constexpr size_t kMaxRecipients = 100000;  // the queue file reader's own bound

struct Request {
  std::string id;  // "" for every message
  std::string format() const;  // "LIST\n" or "LIST\tid=...\n"
  static Result<Request> parse(std::string_view line);
};

// The MESSAGE line and its RCPT lines.
std::string format_entry(const ListingEntry& entry);
std::string format_end(size_t count);
std::string format_error(std::string_view text);

// The client's side: feed the server's lines, greeting first, one at a time
// (without their LF). Every entry comes out whole.
class Decoder {
 public:
  enum class Event { kNone, kEntry, kEnd };
  // kEntry: take_entry() holds a complete message. kEnd: END was read; any
  // further line is an error. An ERROR line is returned as an Error
  // (Errc::kTemporary, the server's text).
  Result<Event> feed(std::string_view line);
  ListingEntry take_entry();

 private:
  enum class State { kGreeting, kMessage, kRecipients, kDone };
  State state_ = State::kGreeting;
  ListingEntry entry_;
  size_t rcpts_left_ = 0;
};

}  // namespace tern::queue::showq
