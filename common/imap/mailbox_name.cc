#include "common/imap/mailbox_name.h"

#include "common/imap/response.h"
#include "common/store/mutf7.h"

namespace tern::imap {

Result<std::string> decode_mailbox(std::string_view wire) {
  if (ascii_iequal(wire, "INBOX")) return std::string("INBOX");
  if (wire.size() > store::kMaxMutf7Encoded) return invalid("mailbox name too long");
  auto utf8 = store::mutf7_decode(wire);
  if (!utf8) return invalid("mailbox name is not valid modified UTF-7");
  return std::move(*utf8);
}

Result<std::string> parse_mailbox(const Value& value) {
  auto text = value.as_astring();
  if (!text) return invalid("mailbox name expected");
  return decode_mailbox(*text);
}

Result<std::string> parse_list_pattern(const Value& value) {
  auto text = value.as_astring();
  if (!text) return invalid("mailbox pattern expected");
  if (text->size() > store::kMaxMutf7Encoded) return invalid("mailbox pattern too long");
  auto utf8 = store::mutf7_decode(*text);
  if (!utf8) return invalid("mailbox pattern is not valid modified UTF-7");
  return std::move(*utf8);
}

std::string format_mailbox(std::string_view utf8_name) {
  std::string out;
  auto wire = store::mutf7_encode(utf8_name);
  // A name from the store is valid UTF-8; should one not be, it still goes
  // out framed correctly (as a literal), never as broken syntax.
  append_astring(&out, wire ? std::string_view(*wire) : utf8_name);
  return out;
}

}  // namespace tern::imap
