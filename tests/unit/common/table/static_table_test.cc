#include <catch2/catch.hpp>

#include "common/table/table.h"

using namespace tern;

TEST_CASE("static_table: a static: table find their value for every key", "[table]") {
  auto t = table::open("static:HOLD");
  REQUIRE(t.ok());
  CHECK((*t)->lookup("anything@example.test").value() == "HOLD");
  CHECK((*t)->lookup("").value() == "HOLD");
  CHECK((*t)->name() == "static:HOLD");
  CHECK(!(*t)->entries().ok());
}
