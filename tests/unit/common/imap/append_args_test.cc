#include "common/imap/append_args.h"

#include <catch2/catch.hpp>

using namespace tern;
using namespace tern::imap;

TEST_CASE("append_args: mailbox, optional flags, optional date-time") {
  bool bad = false;
  auto a = parse_append_args({Value::atom("inbox")}, &bad);
  REQUIRE(a.ok());
  CHECK(a->mailbox == "INBOX");
  CHECK(a->flags == FlagSet{});
  CHECK_FALSE(a->date);

  auto b = parse_append_args({Value::quoted("Entw&APw-rfe"), Value::list_of({Value::atom("\\Seen"), Value::atom("$x")}),
                              Value::quoted("17-Jul-1996 02:44:25 -0700")},
                             &bad);
  REQUIRE(b.ok());
  CHECK(b->mailbox == "Entw\xc3\xbcrfe");
  CHECK(b->flags.system == store::kFlagSeen);
  CHECK(b->flags.keywords == std::vector<std::string>{"$x"});
  REQUIRE(b->date);
  CHECK(b->date->time == 837596665);

  auto c = parse_append_args({Value::atom("Sent"), Value::quoted(" 7-Jul-1996 02:44:25 +0000")}, &bad);
  REQUIRE(c.ok());
  CHECK(c->date->zone_minutes == 0);
}

TEST_CASE("append_args: refusals say whether they are BAD or NO") {
  bool bad = false;
  CHECK_FALSE(parse_append_args({}, &bad).ok());
  CHECK(bad);
  CHECK_FALSE(parse_append_args({Value::list_of({})}, &bad).ok());
  CHECK(bad);
  CHECK_FALSE(parse_append_args({Value::atom("x"), Value::list_of({Value::atom("\\Recent")})}, &bad).ok());
  CHECK(bad);
  CHECK_FALSE(parse_append_args({Value::atom("x"), Value::atom("17-Jul-1996 02:44:25 -0700")}, &bad).ok());
  CHECK(bad);
  CHECK_FALSE(parse_append_args({Value::atom("x"), Value::quoted("17-Jul-1996")}, &bad).ok());
  CHECK(bad);
  CHECK_FALSE(parse_append_args({Value::atom("x"), Value::list_of({}), Value::list_of({})}, &bad).ok());
  CHECK(bad);
  CHECK_FALSE(parse_append_args({Value::atom("x"), Value::quoted("17-Jul-1996 02:44:25 -0700"), Value::atom("y")}, &bad)
                  .ok());
  CHECK(bad);
  CHECK_FALSE(parse_append_args({Value::quoted("a&b")}, &bad).ok());
  CHECK_FALSE(bad);
}
