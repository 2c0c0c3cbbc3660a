#include "common/imap/command_reader.h"

#include <algorithm>
#include <cstring>

#include "common/base/log.h"

namespace tern::imap {

namespace {

// The atoms after which "[" opens a section that may hold spaces and
// parentheses (command.h).
bool opens_section(std::string_view atom) {
  return ascii_iequal(atom, "BODY") || ascii_iequal(atom, "BODY.PEEK") || ascii_iequal(atom, "BINARY") ||
         ascii_iequal(atom, "BINARY.PEEK") || ascii_iequal(atom, "BINARY.SIZE");
}

// A byte that may stand in an atom as the reader reads it (command.h): CHAR
// other than SP, controls, "(", ")", "{", DQUOTE.
bool reader_atom_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  return c != '(' && c != ')' && c != '{' && c != '"';
}

// Bytes kept from the end of a skipped line, enough for "{" 20 digits "+}".
constexpr size_t kTailKept = 32;
// A literal's size has at most this many digits (it fits in 64 bits).
constexpr size_t kMaxLiteralDigits = 19;
// The longest tag peek_tag() looks for.
constexpr size_t kMaxPeekedTag = 64;

// What the end of a line (without its LF, CR allowed) announces.
enum class Tail { kNone, kNonSync, kUnframeable };
// "{n+}" at the end of `tail`: kNonSync with *size = n; kUnframeable when
// the digits are too many to count (the octets that follow cannot be
// skipped, nor trusted as commands).
Tail nonsync_literal_at_end(std::string_view tail, uint64_t* size) {
  if (!tail.empty() && tail.back() == '\r') tail.remove_suffix(1);
  if (tail.size() < 4 || tail.back() != '}') return Tail::kNone;
  tail.remove_suffix(1);
  if (tail.back() != '+') return Tail::kNone;
  tail.remove_suffix(1);
  size_t digits = 0;
  while (digits < tail.size() && tail[tail.size() - 1 - digits] >= '0' && tail[tail.size() - 1 - digits] <= '9') {
    ++digits;
  }
  if (digits == 0) return Tail::kNone;
  // A skipped line keeps only kTailKept bytes: a run of digits that fills
  // them is too long to count whether or not its "{" was kept.
  if (digits > kMaxLiteralDigits) return Tail::kUnframeable;
  if (digits == tail.size() || tail[tail.size() - 1 - digits] != '{') return Tail::kNone;
  uint64_t n = 0;
  for (char c : tail.substr(tail.size() - digits)) n = n * 10 + static_cast<uint64_t>(c - '0');
  *size = n;
  return Tail::kNonSync;
}

}  // namespace

CommandReader::CommandReader(ReaderLimits limits) : limits_(limits) {}

void CommandReader::feed(std::string_view bytes) {
  if (pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > 0) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  in_.append(bytes);
}

bool CommandReader::idle() const { return state_ == State::kStart && !pending_error_; }

void CommandReader::reset_command() {
  command_ = Command{};
  have_tag_ = false;
  stack_.clear();
  values_ = 0;
  memory_ = 0;
  need_space_ = false;
  lit_text_.clear();
  sink_ = nullptr;
}

Event CommandReader::error_event(ReadErrorCode code, std::string text) const {
  Event ev;
  ev.kind = EventKind::kError;
  ev.error.code = code;
  ev.error.tag = have_tag_ ? command_.tag : peek_tag();
  ev.error.text = std::move(text);
  return ev;
}

// The tag of a command line not tokenized yet (too long, or with a NUL), so
// the client gets a tagged BAD it can match: the bytes at pos_ up to the
// first space, when they make a valid tag. "*" otherwise.
std::string CommandReader::peek_tag() const {
  if (state_ != State::kStart) return "*";
  std::string_view rest(in_.data() + pos_, std::min<size_t>(in_.size() - pos_, kMaxPeekedTag + 1));
  size_t sp = rest.find(' ');
  if (sp == std::string_view::npos || !valid_tag(rest.substr(0, sp))) return "*";
  return std::string(rest.substr(0, sp));
}

// After an error in the line that starts at pos_: drops the command and skips
// the line (and what a non-synchronizing literal at its end drags along).
CommandReader::Step CommandReader::abandon() {
  reset_command();
  skip_tail_.clear();
  state_ = State::kSkipLine;
  return Step::kEvent;
}

// The input can no longer be cut into commands: octets announced by a
// "{n+}" whose n cannot be counted would otherwise be read as commands (a
// command injection when the client quotes someone else's data). The
// session answers the fatal error with BYE and closes; nothing more is read.
void CommandReader::lose_framing(std::string tag, std::string text) {
  Event ev;
  ev.kind = EventKind::kError;
  ev.error.code = ReadErrorCode::kSyntax;
  ev.error.tag = std::move(tag);
  ev.error.text = std::move(text);
  ev.error.fatal = true;
  reset_command();
  pending_error_ = std::move(ev);
  state_ = State::kClosed;
}

Event CommandReader::next() {
  TERN_ASSERT(state_ != State::kAwaitAnswer && state_ != State::kSkipRawLine);
  if (pending_error_) {
    Event ev = std::move(*pending_error_);
    pending_error_.reset();
    return ev;
  }
  for (;;) {
    switch (state_) {
      case State::kAwaitAnswer:
      case State::kSkipRawLine:
        TERN_ASSERT(false);
        break;
      case State::kClosed:
        pos_ = in_.size();
        return Event{};
      case State::kSkipLine:
        if (!skip_line(true)) return Event{};
        if (pending_error_) {
          Event ev = std::move(*pending_error_);
          pending_error_.reset();
          return ev;
        }
        break;
      case State::kLiteralSkip:
      case State::kLiteralMemory:
      case State::kLiteralSink:
        if (!literal_step()) return Event{};
        break;
      case State::kStart:
      case State::kArgs: {
        Event ev;
        Step step = line_step(&ev);
        if (step == Step::kEvent) return ev;
        if (step == Step::kMore) return Event{};
        break;
      }
    }
  }
}

Event CommandReader::next_line() {
  TERN_ASSERT(state_ == State::kStart || state_ == State::kSkipRawLine || state_ == State::kClosed);
  if (state_ == State::kClosed) return Event{};
  if (pending_error_) {
    Event ev = std::move(*pending_error_);
    pending_error_.reset();
    return ev;
  }
  if (state_ == State::kSkipRawLine && !skip_line(false)) return Event{};
  const char* begin = in_.data() + pos_;
  size_t avail = in_.size() - pos_;
  const void* lf = std::memchr(begin, '\n', avail);
  if (lf == nullptr) {
    if (avail > limits_.max_command + 1) {  // +1: the CR of the line end
      state_ = State::kSkipRawLine;
      skip_tail_.clear();
      return error_event(ReadErrorCode::kTooLong, "Line too long");
    }
    return Event{};
  }
  size_t len = static_cast<size_t>(static_cast<const char*>(lf) - begin);
  std::string_view line(begin, len);
  pos_ += len + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits_.max_command) return error_event(ReadErrorCode::kTooLong, "Line too long");
  Event ev;
  ev.kind = EventKind::kLine;
  ev.line.assign(line);
  return ev;
}

// Skips to the end of the current line; true when done (the state then says
// what comes next), false when more input is needed.
bool CommandReader::skip_line(bool follow_literals) {
  const char* begin = in_.data() + pos_;
  size_t avail = in_.size() - pos_;
  const void* lf = std::memchr(begin, '\n', avail);
  size_t len = lf ? static_cast<size_t>(static_cast<const char*>(lf) - begin) : avail;
  skip_tail_.append(begin, len);
  if (skip_tail_.size() > kTailKept) skip_tail_.erase(0, skip_tail_.size() - kTailKept);
  if (lf == nullptr) {
    pos_ = in_.size();
    return false;
  }
  pos_ += len + 1;
  uint64_t size = 0;
  Tail tail = follow_literals ? nonsync_literal_at_end(skip_tail_, &size) : Tail::kNone;
  if (tail == Tail::kNonSync) {
    // RFC 7888: the octets of a non-synchronizing literal come whether
    // the server wants them or not; they are read and dropped, then the
    // line that follows them, which is still part of the failed command.
    lit_left_ = size;
    state_ = State::kLiteralSkip;
  } else if (tail == Tail::kUnframeable) {
    lose_framing("*", "Literal size too large");
  } else {
    state_ = State::kStart;
  }
  skip_tail_.clear();
  return true;
}

bool CommandReader::literal_step() {
  size_t avail = in_.size() - pos_;
  size_t take = lit_left_ < avail ? static_cast<size_t>(lit_left_) : avail;
  std::string_view piece(in_.data() + pos_, take);
  pos_ += take;
  lit_left_ -= take;
  if (state_ == State::kLiteralMemory) {
    lit_text_.append(piece);
  } else if (state_ == State::kLiteralSink && !piece.empty()) {
    sink_->write(piece);
  }
  if (lit_left_ > 0) return false;
  if (state_ == State::kLiteralSkip) {
    skip_tail_.clear();
    state_ = State::kSkipLine;
    return true;
  }
  Value v;
  v.kind = ValueKind::kLiteral;
  v.literal_size = lit_size_;
  if (state_ == State::kLiteralSink) {
    v.streamed = true;
  } else {
    v.text = std::move(lit_text_);
    lit_text_.clear();
  }
  sink_ = nullptr;
  add_value(std::move(v));
  need_space_ = true;
  state_ = State::kArgs;
  return true;
}

void CommandReader::accept_literal() {
  TERN_ASSERT(state_ == State::kAwaitAnswer);
  if (memory_ + lit_size_ > limits_.max_command) {
    refuse_with(ReadErrorCode::kTooLong, "Command too long");
    return;
  }
  memory_ += static_cast<size_t>(lit_size_);
  lit_left_ = lit_size_;
  lit_text_.clear();
  lit_text_.reserve(static_cast<size_t>(lit_size_));
  state_ = State::kLiteralMemory;
}

void CommandReader::stream_literal(LiteralSink* sink) {
  TERN_ASSERT(state_ == State::kAwaitAnswer);
  TERN_ASSERT(sink != nullptr);
  if (lit_size_ > limits_.max_literal) {
    refuse_with(ReadErrorCode::kLiteralTooBig, "Literal too big");
    return;
  }
  sink_ = sink;
  lit_left_ = lit_size_;
  state_ = State::kLiteralSink;
}

void CommandReader::refuse_literal() {
  TERN_ASSERT(state_ == State::kAwaitAnswer);
  reset_command();
  if (lit_sync_) {
    // RFC 3501 7.5: no "+" was sent, so the client sends neither the
    // literal nor the rest of the command; what comes next is a new one.
    state_ = State::kStart;
  } else {
    lit_left_ = lit_size_;
    state_ = State::kLiteralSkip;
  }
}

void CommandReader::refuse_with(ReadErrorCode code, std::string text) {
  Event ev = error_event(code, std::move(text));
  refuse_literal();
  pending_error_ = std::move(ev);
}

void CommandReader::add_value(Value v) {
  if (stack_.empty()) {
    command_.args.push_back(std::move(v));
  } else {
    stack_.back().list.push_back(std::move(v));
  }
}

// Reads the next complete line (or the line segment before a literal) and
// tokenizes it. Lines are taken whole: a quoted string never spans lines
// and a literal is announced only at a line's end, so the only state kept
// between segments is the command so far and its open lists.
CommandReader::Step CommandReader::line_step(Event* out) {
  const char* begin = in_.data() + pos_;
  size_t avail = in_.size() - pos_;
  const void* lf = std::memchr(begin, '\n', avail);
  if (lf == nullptr) {
    if (memory_ + avail > limits_.max_command + 1) {  // +1: the CR of the line end
      *out = error_event(ReadErrorCode::kTooLong, "Command line too long");
      return abandon();
    }
    return Step::kMore;
  }
  size_t len = static_cast<size_t>(static_cast<const char*>(lf) - begin);
  std::string_view line(begin, len);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (memory_ + line.size() > limits_.max_command) {
    *out = error_event(ReadErrorCode::kTooLong, "Command line too long");
    return abandon();
  }
  if (std::memchr(line.data(), '\0', line.size()) != nullptr) {
    *out = error_event(ReadErrorCode::kSyntax, "NUL in command");
    return abandon();
  }
  if (state_ == State::kStart && line.empty()) {
    pos_ += len + 1;  // blank lines between commands are ignored
    return Step::kAgain;
  }
  memory_ += line.size();
  Tokenizer t{line, 0};
  if (state_ == State::kStart) {
    state_ = State::kArgs;
    if (!read_tag_and_name(&t, out)) return abandon();
  }
  return read_values(&t, len + 1, out);
}

bool CommandReader::read_tag_and_name(Tokenizer* t, Event* out) {
  std::string_view line = t->line;
  size_t sp = line.find(' ');
  std::string_view tag = line.substr(0, sp);
  if (!valid_tag(tag)) {
    *out = error_event(ReadErrorCode::kSyntax, "Invalid tag");
    return false;
  }
  command_.tag.assign(tag);
  have_tag_ = true;
  if (sp == std::string_view::npos) {
    *out = error_event(ReadErrorCode::kSyntax, "Missing command");
    return false;
  }
  t->i = sp + 1;
  for (;;) {
    size_t start = t->i;
    while (t->i < line.size() && is_atom_char(static_cast<unsigned char>(line[t->i]))) ++t->i;
    std::string_view name = line.substr(start, t->i - start);
    if (name.empty() || (t->i < line.size() && line[t->i] != ' ')) {
      *out = error_event(ReadErrorCode::kSyntax, name.empty() ? "Missing command" : "Invalid command name");
      return false;
    }
    command_.name = ascii_upper(name);
    if (command_.name != "UID" || command_.uid) break;
    // RFC 3501 6.4.8: "UID" SP (copy / fetch / search / store), and
    // extensions add more (UID EXPUNGE, UID MOVE); the session checks which.
    command_.uid = true;
    if (t->i >= line.size()) {
      *out = error_event(ReadErrorCode::kSyntax, "Missing command after UID");
      return false;
    }
    ++t->i;
  }
  need_space_ = true;
  return true;
}

bool CommandReader::count_value(Event* out) {
  if (++values_ > limits_.max_values) {
    *out = error_event(ReadErrorCode::kTooMany, "Too many arguments");
    return false;
  }
  return true;
}

// Tokenizes the rest of the line. `consumed` is the line's length with its
// LF, taken from the buffer when the line is done.
CommandReader::Step CommandReader::read_values(Tokenizer* t, size_t consumed, Event* out) {
  std::string_view line = t->line;
  for (;;) {
    if (t->i == line.size()) {
      pos_ += consumed;
      if (!stack_.empty()) {
        *out = error_event(ReadErrorCode::kSyntax, "Missing ')'");
      } else {
        out->kind = EventKind::kCommand;
        out->command = std::move(command_);
      }
      reset_command();
      state_ = State::kStart;
      return Step::kEvent;
    }
    char c = line[t->i];
    if (need_space_) {
      // After a value: ")", SP or the end of the line.
      if (c == ')') {
        if (stack_.empty()) {
          *out = error_event(ReadErrorCode::kSyntax, "Unexpected ')'");
          return abandon();
        }
        Value list = std::move(stack_.back());
        stack_.pop_back();
        ++t->i;
        add_value(std::move(list));
        continue;
      }
      if (c != ' ') {
        *out = error_event(ReadErrorCode::kSyntax, "Missing space between arguments");
        return abandon();
      }
      ++t->i;
      need_space_ = false;
      continue;  // a trailing space before the line end is tolerated
    }
    // A value starts here.
    if (c == ' ') {
      *out = error_event(ReadErrorCode::kSyntax, "Unexpected space");
      return abandon();
    }
    if (c == ')') {
      // Right after "(" (an empty list) or after "a " (tolerated).
      if (stack_.empty()) {
        *out = error_event(ReadErrorCode::kSyntax, "Unexpected ')'");
        return abandon();
      }
      need_space_ = true;
      continue;
    }
    if (!count_value(out)) return abandon();
    if (c == '(') {
      if (stack_.size() + 1 > limits_.max_depth) {
        *out = error_event(ReadErrorCode::kTooDeep, "Too deep parenthesis nesting");
        return abandon();
      }
      stack_.push_back(Value::list_of({}));
      ++t->i;
      continue;
    }
    if (c == '{' || (c == '~' && t->i + 1 < line.size() && line[t->i + 1] == '{')) {
      return read_literal_header(t, consumed, out);
    }
    Value v;
    bool ok = c == '"' ? read_quoted(t, &v, out) : read_atom(t, &v, out);
    if (!ok) return abandon();
    add_value(std::move(v));
    need_space_ = true;
  }
}

// RFC 3501 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE, QUOTED-CHAR = any
// TEXT-CHAR (7-bit, not CR or LF) except quoted-specials, or "\" followed
// by a quoted-special. 8-bit is allowed only after ENABLE UTF8=ACCEPT
// (RFC 6855 3), and then must be UTF-8 (checked by the user of the text).
bool CommandReader::read_quoted(Tokenizer* t, Value* v, Event* out) {
  std::string_view line = t->line;
  ++t->i;  // the opening quote
  v->kind = ValueKind::kQuoted;
  for (;;) {
    if (t->i >= line.size()) {
      *out = error_event(ReadErrorCode::kSyntax, "Unterminated quoted string");
      return false;
    }
    unsigned char c = static_cast<unsigned char>(line[t->i++]);
    if (c == '"') break;
    if (c == '\\') {
      if (t->i >= line.size() || (line[t->i] != '"' && line[t->i] != '\\')) {
        *out = error_event(ReadErrorCode::kSyntax, "Invalid escape in quoted string");
        return false;
      }
      v->text.push_back(line[t->i++]);
      continue;
    }
    if (c == '\r' || (c >= 0x80 && !utf8_)) {
      *out = error_event(ReadErrorCode::kSyntax, c == '\r' ? "CR in quoted string" : "8-bit character in quoted string");
      return false;
    }
    v->text.push_back(static_cast<char>(c));
  }
  if (t->i < line.size() && line[t->i] != ' ' && line[t->i] != ')') {
    *out = error_event(ReadErrorCode::kSyntax, "Missing space after quoted string");
    return false;
  }
  return true;
}

bool CommandReader::read_atom(Tokenizer* t, Value* v, Event* out) {
  std::string_view line = t->line;
  size_t start = t->i;
  bool section_done = false;
  while (t->i < line.size()) {
    unsigned char c = static_cast<unsigned char>(line[t->i]);
    if (c == '[' && !section_done && opens_section(line.substr(start, t->i - start))) {
      // BODY[...] (command.h): to the matching "]", quoted strings included.
      ++t->i;
      bool quoted = false;
      for (;;) {
        if (t->i >= line.size()) {
          *out = error_event(ReadErrorCode::kSyntax, "Missing ']'");
          return false;
        }
        unsigned char d = static_cast<unsigned char>(line[t->i]);
        if (d < 0x20 || d >= 0x7f) {
          *out = error_event(ReadErrorCode::kSyntax, "Invalid character in section");
          return false;
        }
        ++t->i;
        if (quoted) {
          if (d == '\\' && t->i < line.size()) {
            ++t->i;
          } else if (d == '"') {
            quoted = false;
          }
          continue;
        }
        if (d == '"') {
          quoted = true;
        } else if (d == '{' || d == '[') {
          *out = error_event(ReadErrorCode::kSyntax, d == '{' ? "Literal in section not supported" : "Invalid '[' in section");
          return false;
        } else if (d == ']') {
          break;
        }
      }
      section_done = true;
      continue;
    }
    if (!reader_atom_char(c)) break;
    ++t->i;
  }
  std::string_view text = line.substr(start, t->i - start);
  if (t->i < line.size()) {
    char c = line[t->i];
    if (c != ' ' && c != ')') {
      unsigned char u = static_cast<unsigned char>(c);
      *out = error_event(ReadErrorCode::kSyntax, u >= 0x80 ? "8-bit character in atom"
                                                 : u < 0x20 || u == 0x7f ? "Control character in atom"
                                                                         : "Invalid character in atom");
      return false;
    }
  }
  if (text.empty()) {
    *out = error_event(ReadErrorCode::kSyntax, "Invalid argument");
    return false;
  }
  v->kind = ascii_iequal(text, "NIL") ? ValueKind::kNil : ValueKind::kAtom;
  v->text.assign(text);
  return true;
}

// "{" number ["+"] "}" at the very end of the line (RFC 3501 4.3; RFC 7888
// for "+"). The line is consumed; the event asks the session what to do.
CommandReader::Step CommandReader::read_literal_header(Tokenizer* t, size_t consumed, Event* out) {
  std::string_view line = t->line;
  if (line[t->i] == '~') {
    *out = error_event(ReadErrorCode::kSyntax, "literal8 needs BINARY, which is not supported");
    return abandon();
  }
  std::string_view rest = line.substr(t->i + 1);
  bool sync = true;
  if (rest.empty() || rest.back() != '}') {
    *out = error_event(ReadErrorCode::kSyntax, "Invalid literal");
    return abandon();
  }
  rest.remove_suffix(1);
  if (!rest.empty() && rest.back() == '+') {
    sync = false;
    rest.remove_suffix(1);
  }
  // RFC 3501 has a 32-bit number, RFC 9051 number64; 19 digits fit either.
  if (rest.empty() || rest.size() > kMaxLiteralDigits ||
      rest.find_first_not_of("0123456789") != std::string_view::npos) {
    if (!sync && !rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos) {
      // Octets follow that cannot be counted: see lose_framing().
      pos_ += consumed;
      lose_framing(command_.tag, "Literal size too large");
      *out = std::move(*pending_error_);
      pending_error_.reset();
      return Step::kEvent;
    }
    *out = error_event(ReadErrorCode::kSyntax, "Invalid literal size");
    return abandon();
  }
  uint64_t size = 0;
  for (char c : rest) size = size * 10 + static_cast<uint64_t>(c - '0');
  pos_ += consumed;
  lit_size_ = size;
  lit_sync_ = sync;
  state_ = State::kAwaitAnswer;
  out->kind = EventKind::kLiteral;
  out->literal.size = size;
  out->literal.synchronizing = sync;
  out->literal.depth = stack_.size();
  out->literal.fits_memory = memory_ + size <= limits_.max_command;
  out->literal.within_limit = size <= limits_.max_literal;
  return Step::kEvent;
}

}  // namespace tern::imap
