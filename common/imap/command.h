#pragma once
// An IMAP command as the client sent it (RFC 3501 2.2.1, 9), after the
// command reader (command_reader.h) has split it into values:
//
//   command = tag SP [ "UID" SP ] name *( SP value ) CRLF
//   value   = atom / quoted / literal / NIL / "(" [ value *( SP value ) ] ")"
//
// The reader knows nothing of what each command means: it produces the
// generic values below and the helpers of this directory give them meaning
// (sequence_set.h, fetch_items.h, search_key.h, store_args.h, date.h,
// mailbox_name.h). That is how Dovecot's imap-parser works, and it keeps
// one tokenizer for every command, so the limits hold everywhere.
//
// What "atom" means here (a decision, documented once):
//   - Any run of CHAR (0x21..0x7e) other than "(", ")", "\"", "{" and
//     SP. So "\Seen" (flag), "1:*" (sequence-set), "%" and "*" (LIST
//     patterns) and "[Gmail]/Sent" are atoms; RFC 3501's grammar gives them
//     separate rules, the helpers check each one's syntax.
//   - After an atom spelled BODY, BODY.PEEK, BINARY, BINARY.PEEK or
//     BINARY.SIZE (any case), a "[" opens a section that runs to the
//     matching "]" and may hold SP, "(", ")" and quoted strings, so
//     `BODY.PEEK[HEADER.FIELDS (From "To")]<0.2048>` is one atom
//     (RFC 3501 6.4.5 fetch-att). A literal inside the brackets is refused:
//     no client sends one and it would force a second tokenizer.
//   - 8-bit bytes, NUL and other controls are refused in atoms.
//   - "NIL" in any case is kNil, with `text` as the client spelled it:
//     where an astring is expected (a mailbox called "nil") it is read as
//     the atom it also is (as_astring()).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::imap {

enum class ValueKind : uint8_t {
  kAtom,
  kQuoted,   // "..." with \" and \\ unescaped
  kLiteral,  // {n} / {n+}; text holds the bytes unless streamed to a sink
  kNil,      // the atom NIL, any case
  kList,     // ( ... )
};

struct Value {
  ValueKind kind = ValueKind::kAtom;
  std::string text;           // atom, quoted or literal content; NIL as spelled
  std::vector<Value> list;    // kList: the members
  uint64_t literal_size = 0;  // kLiteral: the announced size
  bool streamed = false;      // kLiteral: the bytes went to a LiteralSink; text is ""

  bool is_atom() const { return kind == ValueKind::kAtom; }
  bool is_list() const { return kind == ValueKind::kList; }
  bool is_nil() const { return kind == ValueKind::kNil; }
  // string = quoted / literal (RFC 3501 9).
  bool is_string() const { return kind == ValueKind::kQuoted || kind == ValueKind::kLiteral; }
  // astring = 1*ASTRING-CHAR / string: an atom (NIL included, as the atom it
  // is) or a string. A streamed literal is not one (its bytes are elsewhere).
  bool is_astring() const;
  // The astring's text when is_astring(), else nullopt.
  std::optional<std::string_view> as_astring() const;
  // nstring = string / NIL: nullopt for NIL and for anything not a string;
  // use is_nil() to tell them apart.
  std::optional<std::string_view> as_string() const;
  // An atom (not NIL) equal to `word` ignoring ASCII case.
  bool is_atom(std::string_view word) const;

  static Value atom(std::string text);
  static Value quoted(std::string text);
  static Value literal(std::string text);
  static Value nil(std::string spelled = "NIL");
  static Value list_of(std::vector<Value> members);

  bool operator==(const Value&) const = default;
};

struct Command {
  std::string tag;         // as sent (tag = 1*<any ASTRING-CHAR except "+">)
  std::string name;        // upper-cased, without the UID prefix: "FETCH"
  bool uid = false;        // sent as "UID FETCH ..." (RFC 3501 6.4.8)
  std::vector<Value> args;

  bool operator==(const Command&) const = default;
};

// Upper-cases ASCII letters, in place and as a copy.
void ascii_upper(std::string* s);
std::string ascii_upper(std::string_view s);
bool ascii_iequal(std::string_view a, std::string_view b);

// A tag as RFC 3501 9 spells it: 1*<ASTRING-CHAR except "+">.
bool valid_tag(std::string_view tag);
// ATOM-CHAR: CHAR (0x01..0x7f) except atom-specials ("(" ")" "{" SP CTL
// list-wildcards quoted-specials resp-specials).
bool is_atom_char(unsigned char c);
// ASTRING-CHAR: ATOM-CHAR / resp-specials ("]").
bool is_astring_char(unsigned char c);

// The command for a log line: tag, UID, name and the arguments with
// strings shortened and literals shown as {n}; never the literal bytes
// (a LOGIN password is a literal at times: the session logs only what it
// chooses, this helps it not to).
std::string describe(const Command& command);

}  // namespace tern::imap
