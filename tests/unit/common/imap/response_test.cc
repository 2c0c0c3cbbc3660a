#include "common/imap/response.h"

#include <catch2/catch.hpp>

#include "common/imap/mailbox_name.h"

using namespace tern;
using namespace tern::imap;

namespace {

std::string as_string(std::string_view s) {
  std::string out;
  append_string(&out, s);
  return out;
}

std::string as_astring(std::string_view s) {
  std::string out;
  append_astring(&out, s);
  return out;
}

}  // namespace

TEST_CASE("response: strings go quoted when safe, as literals otherwise") {
  CHECK(as_string("") == "\"\"");
  CHECK(as_string("hello world") == "\"hello world\"");
  CHECK(as_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(as_string("line\r\nnext") == "{10}\r\nline\r\nnext");
  CHECK(as_string("caf\xc3\xa9") == "{5}\r\ncaf\xc3\xa9");
  CHECK(as_string(std::string(kMaxQuotedOut, 'a')) == "\"" + std::string(kMaxQuotedOut, 'a') + "\"");
  CHECK(as_string(std::string(kMaxQuotedOut + 1, 'a')) == "{1025}\r\n" + std::string(kMaxQuotedOut + 1, 'a'));
  std::string n;
  append_nstring(&n, std::nullopt);
  append_nstring(&n, std::string_view("x"));
  CHECK(n == "NIL\"x\"");
}

TEST_CASE("response: astrings are atoms when every byte allows it and not NIL") {
  CHECK(as_astring("INBOX") == "INBOX");
  CHECK(as_astring("a]b") == "a]b");
  CHECK(as_astring("Sent Items") == "\"Sent Items\"");
  CHECK(as_astring("") == "\"\"");
  CHECK(as_astring("nil") == "\"nil\"");
  CHECK(as_astring("a*") == "\"a*\"");
  CHECK(as_astring("a%b") == "\"a%b\"");
  CHECK(as_astring("(x)") == "\"(x)\"");
  CHECK(as_astring("\\Seen") == "\"\\\\Seen\"");
  CHECK(as_astring("BODY[En") == "\"BODY[En\"");
  CHECK(as_astring("[Gmail]/Sent") == "\"[Gmail]/Sent\"");
}

TEST_CASE("response: flag lists in the RFC 3501 order with Recent") {
  CHECK(format_flag_list(0, {}) == "()");
  CHECK(format_flag_list(store::kAllSystemFlags, {"$Junk", "work"}, true) ==
        "(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\Recent $Junk work)");
  CHECK(format_flag_list(FlagSet{store::kFlagSeen, {}}) == "(\\Seen)");
}

TEST_CASE("response: status responses with codes, texts made safe") {
  CHECK(tagged("a1", Condition::kOk, "READ-WRITE", "SELECT completed") == "a1 OK [READ-WRITE] SELECT completed\r\n");
  CHECK(tagged("a2", Condition::kNo, "Mailbox does not exist") == "a2 NO Mailbox does not exist\r\n");
  CHECK(tagged("a3", Condition::kBad, "") == "a3 BAD BAD\r\n");
  CHECK(untagged(Condition::kBye, "Logging out") == "* BYE Logging out\r\n");
  CHECK(untagged(Condition::kOk, "UIDVALIDITY 3857529045", "UIDs valid") == "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
  CHECK(tagged("a4", Condition::kNo, std::string_view("x\r\ny\0z", 6)) == "a4 NO x  y z\r\n");
  CHECK(sanitize_text(std::string(1000, 'a')).size() == 512);
  CHECK(condition_name(Condition::kPreauth) == "PREAUTH");
}

TEST_CASE("mailbox_name: INBOX folds, others decode from modified UTF-7") {
  CHECK(*parse_mailbox(Value::atom("inbox")) == "INBOX");
  CHECK(*parse_mailbox(Value::quoted("InBoX")) == "INBOX");
  CHECK(*parse_mailbox(Value::nil("Nil")) == "Nil");
  CHECK(*parse_mailbox(Value::atom("INBOX/sub")) == "INBOX/sub");
  CHECK(*parse_mailbox(Value::quoted("Entw&APw-rfe")) == "Entw\xc3\xbcrfe");
  CHECK(*parse_mailbox(Value::literal("a&-b")) == "a&b");
  CHECK_FALSE(parse_mailbox(Value::quoted("Entw\xc3\xbcrfe")).ok());
  CHECK_FALSE(parse_mailbox(Value::quoted("a&b")).ok());
  CHECK_FALSE(parse_mailbox(Value::list_of({})).ok());
  Value streamed = Value::literal("");
  streamed.streamed = true;
  CHECK_FALSE(parse_mailbox(streamed).ok());
  CHECK(*parse_list_pattern(Value::atom("inbox*")) == "inbox*");
  CHECK(*parse_list_pattern(Value::quoted("%/&APw-*")) == "%/\xc3\xbc*");
  CHECK(format_mailbox("INBOX") == "INBOX");
  CHECK(format_mailbox("Sent Items") == "\"Sent Items\"");
  CHECK(format_mailbox("Entw\xc3\xbcrfe") == "Entw&APw-rfe");
  CHECK(format_mailbox("a&b") == "a&-b");
}
