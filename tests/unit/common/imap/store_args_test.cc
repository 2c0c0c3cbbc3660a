#include "common/imap/store_args.h"

#include <catch2/catch.hpp>

using namespace tern;
using namespace tern::imap;

namespace {

std::vector<Value> atoms(std::initializer_list<const char*> words) {
  std::vector<Value> out;
  for (const char* w : words) out.push_back(Value::atom(w));
  return out;
}

}  // namespace

TEST_CASE("store_args: flag lists map system flags and keep keywords once") {
  auto f = parse_flag_list(Value::list_of(atoms({"\\Seen", "\\answered", "$Junk", "\\FLAGGED", "$junk", "\\Deleted",
                                                 "\\Draft", "work"})));
  REQUIRE(f.ok());
  CHECK(f->system == (store::kFlagSeen | store::kFlagAnswered | store::kFlagFlagged | store::kFlagDeleted |
                      store::kFlagDraft));
  CHECK(f->keywords == std::vector<std::string>{"$Junk", "work"});
  CHECK(parse_flag_list(Value::list_of({}))->system == 0);
}

TEST_CASE("store_args: refuses Recent, unknown system flags and bad keywords") {
  CHECK_FALSE(parse_flag_list(Value::list_of(atoms({"\\Recent"}))).ok());
  CHECK_FALSE(parse_flag_list(Value::list_of(atoms({"\\Important"}))).ok());
  CHECK_FALSE(parse_flag_list(Value::list_of(atoms({"a]b"}))).ok());
  CHECK_FALSE(parse_flag_list(Value::list_of(atoms({"a*"}))).ok());
  CHECK_FALSE(parse_flag_list(Value::list_of({Value::quoted("x")})).ok());
  CHECK_FALSE(parse_flag_list(Value::list_of({Value::list_of({})})).ok());
  CHECK_FALSE(parse_flag_list(Value::atom("\\Seen")).ok());
  CHECK_FALSE(parse_flag_list(Value::list_of(std::vector<Value>(kMaxFlagsInList + 1, Value::atom("x")))).ok());
}

TEST_CASE("store_args: FLAGS, +FLAGS, -FLAGS with .SILENT, a list or bare flags") {
  auto a = parse_store_args({Value::atom("1:*"), Value::atom("+flags.silent"), Value::list_of(atoms({"\\Seen"}))}, 1);
  REQUIRE(a.ok());
  CHECK(a->op == store::FlagOp::kAdd);
  CHECK(a->silent);
  CHECK(a->flags.system == store::kFlagSeen);

  auto b = parse_store_args(atoms({"-FLAGS", "\\Deleted", "foo"}), 0);
  REQUIRE(b.ok());
  CHECK(b->op == store::FlagOp::kRemove);
  CHECK_FALSE(b->silent);
  CHECK(b->flags.system == store::kFlagDeleted);
  CHECK(b->flags.keywords == std::vector<std::string>{"foo"});

  auto c = parse_store_args({Value::atom("FLAGS"), Value::list_of({})}, 0);
  REQUIRE(c.ok());
  CHECK(c->op == store::FlagOp::kReplace);
  CHECK(c->flags == FlagSet{});

  CHECK_FALSE(parse_store_args(atoms({"FLAGS"}), 0).ok());
  CHECK_FALSE(parse_store_args(atoms({"*FLAGS", "\\Seen"}), 0).ok());
  CHECK_FALSE(parse_store_args(atoms({"FLAGS.LOUD", "\\Seen"}), 0).ok());
  CHECK_FALSE(parse_store_args(atoms({"+FLAGS", "\\Recent"}), 0).ok());
  CHECK_FALSE(parse_store_args({Value::atom("FLAGS"), Value::list_of({}), Value::atom("x")}, 0).ok());
  CHECK_FALSE(parse_store_args({Value::quoted("FLAGS"), Value::list_of({})}, 0).ok());
  CHECK_FALSE(parse_store_args({}, 0).ok());
}
