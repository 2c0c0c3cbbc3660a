#pragma once
// The incremental IMAP command reader: bytes from the client in, commands
// (command.h) out. It has no event loop and does no I/O: the session feeds
// it what it read from the socket and pulls events until it needs more.
//
//   CommandReader reader(limits);
//   reader.feed(bytes_read);
//   for (;;) {
//     Event ev = reader.next();
//     switch (ev.kind) {
//       case EventKind::kNeedMore: return;          // read more, feed again
//       case EventKind::kCommand:  run(ev.command); break;  // may pause reading
//       case EventKind::kLiteral:  decide (below);   break;
//       case EventKind::kError:    write "<tag> BAD <text>"; if fatal, BYE and close
//     }
//   }
//
// Literals (RFC 3501 4.3, 7.5; RFC 7888):
//   - "{n}" CRLF is synchronizing: the client waits for a "+ " continuation
//     before it sends the n octets. "{n+}" (LITERAL+) is not: the octets
//     follow at once.
//   - Every literal is reported as a kLiteral event before any of its
//     octets are read, with the command so far (partial()). The session
//     answers with exactly one of:
//       accept_literal()       the octets become the value's text in memory;
//                              they count against limits.max_command;
//       stream_literal(sink)   the octets go to `sink` as they arrive and the
//                              value is a kLiteral with streamed = true
//                              (APPEND: never hold 50 MB in memory); they
//                              count against limits.max_literal;
//       refuse_literal()       the session has already written its tagged
//                              NO or BAD. A synchronizing literal is then
//                              never sent (RFC 3501 7.5: no "+", so the
//                              client gives the command up), and the reader
//                              goes on with the next line; a
//                              non-synchronizing one is on its way
//                              regardless, so its octets and the rest of the
//                              command are read and discarded (RFC 7888).
//     After accepting or streaming a synchronizing literal the session
//     writes the continuation ("+ OK" CRLF) before reading more.
//     accept_literal() on a literal that does not fit in memory and
//     stream_literal() on one over max_literal behave as refuse_literal()
//     plus an error event the session answers like any other error.
//   - The literal's octets may be anything but NUL (RFC 3501 4.3: CHAR8);
//     the reader does not look at them, so a NUL in a streamed APPEND is
//     the session's (and the store's) to refuse.
//
// Errors: a syntax error, an over-long command, too deep nesting or too many
// values give a kError with the tag when it was read (else "*") and a text
// for "<tag> BAD <text>". The reader then resynchronises: it skips to the
// end of the line, and when that line ends in a non-synchronizing literal
// announcement it skips the literal's octets and the following line too
// (a synchronizing one was never sent: the client got no "+"). The session
// survives every error but one: `fatal` is set when the input can no longer
// be cut into commands, a non-synchronizing literal whose size has more than
// 19 digits. Its octets cannot be skipped, and reading them as commands
// would let data a client quotes (a message it APPENDs for someone) inject
// commands; the session writes "* BYE" and closes, and the reader reads
// nothing more. (A session may also close after too many errors, as
// Dovecot does after 20; that is the session's choice.)
//
// Lines end in CRLF; a bare LF is taken as the end of a line too (clients
// on Unix sockets and test tools send it; nothing is lost by accepting it).
// A bare CR elsewhere is a syntax error.
//
// Raw lines: after IDLE ("DONE") and AUTHENTICATE (a base64 response) the
// client sends one line that is not a command; next_line() returns it.
//
// Buffering: feed() appends to an internal buffer. Feed only after next()
// returned kNeedMore (or while a command runs, a bounded read), so the buffer
// holds at most one read plus one partial command.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/imap/command.h"

namespace tern::imap {

// Defaults; imapd takes max_command and max_literal from main.cf
// (imap_max_line_length, imap_max_literal).
inline constexpr size_t kDefaultMaxCommand = 65536;
inline constexpr uint64_t kDefaultMaxLiteral = 52428800;
inline constexpr size_t kDefaultMaxDepth = 32;
inline constexpr size_t kDefaultMaxValues = 8192;

struct ReaderLimits {
  // Bytes of one command held in memory: its lines (without CRLF) plus the
  // literals accepted into memory. imap_max_line_length.
  size_t max_command = kDefaultMaxCommand;
  // The largest literal stream_literal() takes. imap_max_literal.
  uint64_t max_literal = kDefaultMaxLiteral;
  // Parentheses open at once (a FETCH with BODY[...] needs 2, SEARCH with
  // groups a few more).
  size_t max_depth = kDefaultMaxDepth;
  // Values in one command, at every depth (each member of a list counts).
  size_t max_values = kDefaultMaxValues;
};

// Where a streamed literal's octets go; the reader calls write() with each
// piece as it arrives, in order, then nothing more for that literal. The sink
// must live until the command (or error) event of its command. A sink that
// fails keeps its failure and reports it when the command arrives: the reader
// goes on reading the octets regardless, the client sends them anyway.
class LiteralSink {
 public:
  virtual ~LiteralSink() = default;
  virtual void write(std::string_view bytes) = 0;
};

enum class EventKind : uint8_t {
  kNeedMore,  // feed more bytes
  kCommand,   // a complete command: event.command
  kLiteral,   // a literal is announced: event.literal; answer before next()
  kError,     // event.error; the reader has resynchronised (or will, as bytes come)
  kLine,      // next_line() only: event.line
};

struct LiteralRequest {
  uint64_t size = 0;
  bool synchronizing = true;  // {n}: write "+ ..." after accepting
  size_t depth = 0;           // 0: a top-level argument, else inside a list
  bool fits_memory = false;   // accept_literal() would take it
  bool within_limit = false;  // stream_literal() would take it
};

enum class ReadErrorCode : uint8_t {
  kSyntax,        // "BAD" with a reason
  kTooLong,       // the command passed max_command
  kTooDeep,       // more than max_depth parentheses
  kTooMany,       // more than max_values values
  kLiteralTooBig, // accepted/streamed past the limits (RFC 7888: [TOOBIG])
};

struct ReadError {
  ReadErrorCode code = ReadErrorCode::kSyntax;
  std::string tag = "*";  // the command's tag when it was read, else "*"
  std::string text;       // for "<tag> BAD <text>"
  bool fatal = false;
};

struct Event {
  EventKind kind = EventKind::kNeedMore;
  Command command;         // kCommand
  LiteralRequest literal;  // kLiteral
  ReadError error;         // kError
  std::string line;        // kLine (without its line end)
};

class CommandReader {
 public:
  explicit CommandReader(ReaderLimits limits = {});
  CommandReader(const CommandReader&) = delete;
  CommandReader& operator=(const CommandReader&) = delete;

  void feed(std::string_view bytes);
  // The next event. Not to be called while a kLiteral waits for its answer.
  Event next();
  // One raw line (IDLE's DONE, an AUTHENTICATE response): kLine, kNeedMore,
  // or kError (kTooLong: the line passed max_command; it is skipped).
  // Only between commands.
  Event next_line();

  // Answers to a kLiteral event (see the top of this file).
  void accept_literal();
  void stream_literal(LiteralSink* sink);
  void refuse_literal();

  // The command being read, with the top-level arguments complete so far;
  // meaningful while a kLiteral waits for its answer.
  const Command& partial() const { return command_; }

  // Bytes fed but not consumed yet (pipelined commands, a partial line).
  size_t buffered() const { return in_.size() - pos_; }
  // True between commands: no partial command is held.
  bool idle() const;
  const ReaderLimits& limits() const { return limits_; }
  // After ENABLE UTF8=ACCEPT (RFC 6855 3): 8-bit bytes allowed in quoted
  // strings (the user of the text checks they are UTF-8).
  void set_utf8(bool on) { utf8_ = on; }

 private:
  enum class State : uint8_t {
    kStart,          // at the start of a command line
    kArgs,           // inside a command, reading values
    kAwaitAnswer,    // a kLiteral is out, waiting for accept/stream/refuse
    kLiteralMemory,  // reading literal octets into memory
    kLiteralSink,    // reading literal octets into the sink
    kLiteralSkip,    // discarding literal octets (refused non-sync literal)
    kSkipLine,       // after an error: to the end of the line
    kSkipRawLine,    // after an over-long raw line: to its end
    kClosed,         // framing lost (a fatal error): nothing more is read
  };
  enum class Step : uint8_t { kEvent, kMore, kAgain };
  struct Tokenizer {
    std::string_view line;  // without CR LF
    size_t i = 0;
  };

  Step line_step(Event* out);
  bool skip_line(bool follow_literals);
  bool literal_step();
  bool read_tag_and_name(Tokenizer* t, Event* out);
  Step read_values(Tokenizer* t, size_t consumed, Event* out);
  bool read_quoted(Tokenizer* t, Value* v, Event* out);
  bool read_atom(Tokenizer* t, Value* v, Event* out);
  Step read_literal_header(Tokenizer* t, size_t consumed, Event* out);
  bool count_value(Event* out);
  void add_value(Value v);
  Event error_event(ReadErrorCode code, std::string text) const;
  std::string peek_tag() const;
  Step abandon();
  void lose_framing(std::string tag, std::string text);
  void refuse_with(ReadErrorCode code, std::string text);
  void reset_command();

  ReaderLimits limits_;
  bool utf8_ = false;
  std::string in_;
  size_t pos_ = 0;
  State state_ = State::kStart;
  std::optional<Event> pending_error_;

  Command command_;
  bool have_tag_ = false;
  std::vector<Value> stack_;  // open lists, innermost last
  size_t values_ = 0;         // values so far in this command
  size_t memory_ = 0;         // bytes of this command held
  bool need_space_ = false;   // a value just ended: SP, ")" or line end next

  // The literal being read or awaiting an answer.
  uint64_t lit_size_ = 0;
  uint64_t lit_left_ = 0;
  bool lit_sync_ = false;
  LiteralSink* sink_ = nullptr;
  std::string lit_text_;

  // The last bytes of a line being skipped, to spot a "{n+}" at its end.
  std::string skip_tail_;
};

}  // namespace tern::imap
