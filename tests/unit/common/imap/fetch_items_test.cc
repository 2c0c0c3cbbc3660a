#include "common/imap/fetch_items.h"

#include <catch2/catch.hpp>

using namespace tern;
using namespace tern::imap;

namespace {

// The response names of the items of `arg`, space separated, or "ERR".
std::string names(const Value& arg) {
  auto items = parse_fetch_items(arg);
  if (!items) return "ERR";
  std::string out;
  for (const FetchItem& i : *items) out += (out.empty() ? "" : " ") + i.response_name();
  return out;
}

std::string name(std::string_view item) { return names(Value::atom(std::string(item))); }

}  // namespace

TEST_CASE("fetch_items: macros expand and are valid only alone") {
  CHECK(name("ALL") == "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
  CHECK(name("fast") == "FLAGS INTERNALDATE RFC822.SIZE");
  CHECK(name("FULL") == "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY");
  CHECK(names(Value::list_of({Value::atom("ALL")})) == "ERR");
  CHECK(names(Value::list_of({})) == "ERR");
}

TEST_CASE("fetch_items: every simple item, any case") {
  CHECK(names(Value::list_of({Value::atom("flags"), Value::atom("INTERNALDATE"), Value::atom("RFC822"),
                              Value::atom("RFC822.HEADER"), Value::atom("RFC822.TEXT"), Value::atom("RFC822.SIZE"),
                              Value::atom("ENVELOPE"), Value::atom("BODY"), Value::atom("BodyStructure"),
                              Value::atom("UID")})) ==
        "FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID");
  CHECK(name("RFC822.SIZEX") == "ERR");
  CHECK(names(Value::quoted("FLAGS")) == "ERR");
  CHECK(names(Value::list_of({Value::list_of({})})) == "ERR");
}

TEST_CASE("fetch_items: BODY[section]<partial> and BODY.PEEK") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"BODY[]", "BODY[]"},
      {"body.peek[]", "BODY[]"},
      {"BODY[HEADER]", "BODY[HEADER]"},
      {"BODY[text]", "BODY[TEXT]"},
      {"BODY[1]", "BODY[1]"},
      {"BODY[1.2.3]", "BODY[1.2.3]"},
      {"BODY[1.2.HEADER]", "BODY[1.2.HEADER]"},
      {"BODY[1.MIME]", "BODY[1.MIME]"},
      {"BODY[2.TEXT]", "BODY[2.TEXT]"},
      {"BODY.PEEK[HEADER.FIELDS (From To)]", "BODY[HEADER.FIELDS (FROM TO)]"},
      {"BODY[HEADER.FIELDS.NOT (\"X-Spam\" Received)]", "BODY[HEADER.FIELDS.NOT (X-SPAM RECEIVED)]"},
      {"BODY[1.HEADER.FIELDS (Subject)]", "BODY[1.HEADER.FIELDS (SUBJECT)]"},
      {"BODY[]<0.100>", "BODY[]<0>"},
      {"BODY.PEEK[TEXT]<1024.4096>", "BODY[TEXT]<1024>"},
      {"BODY[]<4294967295.1>", "BODY[]<4294967295>"},
      // Malformed.
      {"BODY[", "ERR"},
      {"BODY[MIME]", "ERR"},
      {"BODY[0]", "ERR"},
      {"BODY[01]", "ERR"},
      {"BODY[1.]", "ERR"},
      {"BODY[.1]", "ERR"},
      {"BODY[1..2]", "ERR"},
      {"BODY[HEADER.FIELDS]", "ERR"},
      {"BODY[HEADER.FIELDS ()]", "ERR"},
      {"BODY[HEADER.FIELDS (a:b)]", "ERR"},
      {"BODY[HEADER.FIELDS (a  b)]", "ERR"},
      {"BODY[HEADER.FIELDS (a )]", "ERR"},
      {"BODY[HEADER.FIELDS (\"a)]", "ERR"},
      {"BODY[HEADER x]", "ERR"},
      {"BODY[TEXTX]", "ERR"},
      {"BODY[]<0.0>", "ERR"},
      {"BODY[]<0>", "ERR"},
      {"BODY[]<.1>", "ERR"},
      {"BODY[]<0.1", "ERR"},
      {"BODY[]<0.4294967296>", "ERR"},
      {"BODY[]x", "ERR"},
      {"BODYSTRUCTURE[]", "ERR"},
      {"BINARY[1]", "ERR"},
      {"RFC822[]", "ERR"},
  };
  for (const Case& c : cases) {
    INFO(c.in);
    CHECK(name(c.in) == c.out);
  }
}

TEST_CASE("fetch_items: which items set the Seen flag, and the parsed fields") {
  auto items = parse_fetch_items(Value::list_of({Value::atom("BODY.PEEK[1.2.HEADER.FIELDS (a \"b\")]<5.10>"),
                                                 Value::atom("BODY[TEXT]"), Value::atom("RFC822"),
                                                 Value::atom("RFC822.TEXT"), Value::atom("RFC822.HEADER")}));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 5);
  const FetchItem& first = (*items)[0];
  CHECK(first.attr == FetchAttr::kBodySection);
  CHECK(first.peek);
  CHECK(first.section.part == std::vector<uint32_t>{1, 2});
  CHECK(first.section.text == SectionText::kHeaderFields);
  CHECK(first.section.fields == std::vector<std::string>{"a", "b"});
  CHECK(first.partial == Partial{5, 10});
  CHECK(first.response_name() == "BODY[1.2.HEADER.FIELDS (A B)]<5>");
  CHECK_FALSE(first.sets_seen());
  CHECK((*items)[1].sets_seen());
  CHECK((*items)[2].sets_seen());
  CHECK((*items)[3].sets_seen());
  CHECK_FALSE((*items)[4].sets_seen());
}

TEST_CASE("fetch_items: bounds the items, parts and header fields") {
  std::vector<Value> many(kMaxFetchItems + 1, Value::atom("UID"));
  CHECK_FALSE(parse_fetch_items(Value::list_of(many)).ok());
  many.pop_back();
  CHECK(parse_fetch_items(Value::list_of(many)).ok());
  std::string deep = "BODY[1";
  for (size_t i = 1; i < kMaxSectionParts; ++i) deep += ".1";
  CHECK(parse_fetch_item(deep + "]").ok());
  CHECK_FALSE(parse_fetch_item(deep + ".1]").ok());
  std::string fields = "BODY[HEADER.FIELDS (a";
  for (size_t i = 1; i < kMaxHeaderFields; ++i) fields += " a";
  CHECK(parse_fetch_item(fields + ")]").ok());
  CHECK_FALSE(parse_fetch_item(fields + " a)]").ok());
}
