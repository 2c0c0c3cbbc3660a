#include "common/table/table.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/support/temp_dir.h"

using tern::Errc;
using tern::test::TempDir;

namespace {

// One directory holding the same data as each table type.
struct ThreeTables {
  TempDir dir;
  std::string texthash, lmdb, regexp;
  ThreeTables() {
    const std::string source = "alice@example.com  alice\nBob@Example.COM bob\n";
    texthash = "texthash:" + dir.write("virtual", source);
    std::string lmdb_source = dir.write("virtual_lmdb", source);
    auto entries = tern::table::parse_source(source, lmdb_source);
    REQUIRE(entries.ok());
    REQUIRE(tern::table::build_lmdb(lmdb_source, *entries).ok());
    lmdb = "lmdb:" + lmdb_source;
    regexp = "regexp:" + dir.write("virtual.re", "/^alice@example\\.com$/ alice\n/^bob@example\\.com$/ bob\n");
  }
  std::vector<std::string> specs() const { return {texthash, lmdb, regexp}; }
};

}  // namespace

TEST_CASE("table: every type answers the same lookups through open()", "[table]") {
  ThreeTables t;
  struct Case {
    const char* key;
    const char* value;  // nullptr: not found
  };
  const Case cases[] = {
      {"alice@example.com", "alice"},
      {"ALICE@Example.Com", "alice"},
      {"bob@example.com", "bob"},
      {"carol@example.com", nullptr},
      {"alice@example.co", nullptr},
      {"", nullptr},
  };
  for (const auto& spec : t.specs()) {
    auto table = tern::table::open(spec);
    REQUIRE(table.ok());
    CHECK((*table)->name() == spec);
    for (const auto& c : cases) {
      INFO(spec << " key \"" << c.key << "\"");
      auto r = (*table)->lookup(c.key);
      if (c.value) {
        REQUIRE(r.ok());
        CHECK(*r == c.value);
      } else {
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::kNotFound);
      }
    }
  }
}

TEST_CASE("table: keys over 4096 bytes or with NUL are invalid, not absent", "[table]") {
  ThreeTables t;
  const std::string keys[] = {std::string(tern::table::kMaxKeyLength + 1, 'a'), std::string("alice\0x", 7)};
  for (const auto& spec : t.specs()) {
    auto table = tern::table::open(spec);
    REQUIRE(table.ok());
    for (const auto& key : keys) {
      INFO(spec << " key of " << key.size() << " bytes");
      auto r = (*table)->lookup(key);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == Errc::kInvalid);
    }
    // Exactly the limit is still a lookup.
    auto r = (*table)->lookup(std::string(tern::table::kMaxKeyLength, 'a'));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kNotFound);
  }
}

TEST_CASE("table: open refuses bad names and unknown types", "[table]") {
  struct Case {
    const char* spec;
    const char* error_part;
  };
  const Case cases[] = {
      {"hash:/etc/aliases", "unsupported table type \"hash\""},
      {"cdb:/x", "unsupported table type"},
      {"/etc/aliases", "expected type:path"},
      {":/x", "expected type:path"},
      {"lmdb:", "no path"},
  };
  for (const auto& c : cases) {
    INFO(c.spec);
    auto r = tern::table::open(c.spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kInvalid);
    CHECK_THAT(r.error().text, Catch::Contains(c.error_part));
  }
}

TEST_CASE("table: the type name is case-insensitive and the path kept as given", "[table]") {
  auto spec = tern::table::parse_spec("LMDB:/etc/Tern/aliases");
  REQUIRE(spec.ok());
  CHECK(spec->type == "lmdb");
  CHECK(spec->path == "/etc/Tern/aliases");
}

TEST_CASE("table: a missing file is an error naming the table, for every type", "[table]") {
  TempDir dir;
  for (const char* type : {"texthash", "lmdb", "regexp"}) {
    std::string spec = std::string(type) + ":" + dir.path() + "/missing";
    INFO(spec);
    auto r = tern::table::open(spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code != Errc::kNotFound);
    CHECK_THAT(r.error().text, Catch::StartsWith(spec + ": "));
    CHECK_THAT(r.error().text, Catch::Contains("No such file"));
  }
}

TEST_CASE("table: regexp tables cannot list their entries", "[table]") {
  ThreeTables t;
  auto table = tern::table::open(t.regexp);
  REQUIRE(table.ok());
  auto e = (*table)->entries();
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == Errc::kInvalid);
}
