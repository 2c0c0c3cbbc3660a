#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "common/base/fault.h"
#include "common/table/table.h"
#include "tests/unit/support/temp_dir.h"

using tern::Errc;
using tern::table::Entry;
using tern::test::TempDir;

namespace {

std::unique_ptr<tern::table::Table> open_ok(const std::string& spec) {
  auto t = tern::table::open(spec);
  INFO(spec);
  REQUIRE(t.ok());
  return std::move(*t);
}

std::string value_of(const tern::table::Table& t, std::string_view key) {
  auto r = t.lookup(key);
  return r ? *r : "<" + r.error().text + ">";
}

}  // namespace

TEST_CASE("lmdb: build then lookup then rebuild with a changed value", "[table]") {
  TempDir dir;
  const std::string path = dir.path() + "/transport";
  REQUIRE(tern::table::build_lmdb(path, {{"Example.com", "smtp:[mx1]", 1}, {"other.org", "lmtp:unix:x", 2}}).ok());
  auto first = open_ok("lmdb:" + path);
  CHECK(value_of(*first, "example.COM") == "smtp:[mx1]");
  CHECK(value_of(*first, "other.org") == "lmtp:unix:x");

  REQUIRE(tern::table::build_lmdb(path, {{"example.com", "smtp:[mx2]", 1}}).ok());
  auto second = open_ok("lmdb:" + path);
  CHECK(value_of(*second, "example.com") == "smtp:[mx2]");
  CHECK(second->lookup("other.org").error().code == Errc::kNotFound);
  // A reader opened before the rebuild keeps its consistent old snapshot.
  CHECK(value_of(*first, "example.com") == "smtp:[mx1]");
  CHECK(value_of(*first, "other.org") == "lmtp:unix:x");
  // Only the table itself is left: no temporary file, no lock file.
  CHECK(dir.files() == std::vector<std::string>{"transport.lmdb"});
}

TEST_CASE("lmdb: entries are listed in key order with folded keys", "[table]") {
  TempDir dir;
  const std::string path = dir.path() + "/t";
  REQUIRE(tern::table::build_lmdb(path, {{"b", "2", 1}, {"A", "1", 2}, {"c", "3", 3}, {"a", "dup", 4}}).ok());
  auto all = open_ok("lmdb:" + path)->entries();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].key == "a");
  CHECK((*all)[0].value == "1");  // the first of a duplicate key wins
  CHECK((*all)[1].key == "b");
  CHECK((*all)[2].key == "c");
}

TEST_CASE("lmdb: an empty table opens and finds nothing", "[table]") {
  TempDir dir;
  REQUIRE(tern::table::build_lmdb(dir.path() + "/empty", {}).ok());
  auto t = open_ok("lmdb:" + dir.path() + "/empty");
  CHECK(t->lookup("x").error().code == Errc::kNotFound);
  CHECK(t->entries()->empty());
}

TEST_CASE("lmdb: large tables and large values outgrow the first map size estimate safely", "[table]") {
  TempDir dir;
  std::vector<Entry> entries;
  for (int i = 0; i < 20000; ++i) entries.push_back(Entry{"key" + std::to_string(i), std::string(100, 'v'), i + 1});
  entries.push_back(Entry{"big", std::string(3 << 20, 'b'), 0});
  REQUIRE(tern::table::build_lmdb(dir.path() + "/big", entries).ok());
  auto t = open_ok("lmdb:" + dir.path() + "/big");
  CHECK(value_of(*t, "key19999") == std::string(100, 'v'));
  CHECK(t->lookup("big")->size() == (3u << 20));
}

TEST_CASE("lmdb: a key longer than lmdb can store fails the build with file:line", "[table]") {
  TempDir dir;
  const std::string path = dir.path() + "/t";
  auto st = tern::table::build_lmdb(path, {{"ok", "1", 1}, {std::string(600, 'k'), "2", 7}});
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::kInvalid);
  CHECK_THAT(st.error().text, Catch::StartsWith(path + ":7: key longer than"));
  CHECK(dir.files().empty());
  // Such a key is simply absent from a built table, not an error.
  REQUIRE(tern::table::build_lmdb(path, {{"ok", "1", 1}}).ok());
  CHECK(open_ok("lmdb:" + path)->lookup(std::string(600, 'k')).error().code == Errc::kNotFound);
}

#ifdef TERN_FAULT_INJECTION
TEST_CASE("lmdb: a failed rename leaves the old table and no temporary file", "[table]") {
  TempDir dir;
  const std::string path = dir.path() + "/t";
  REQUIRE(tern::table::build_lmdb(path, {{"k", "old", 1}}).ok());
  tern::fault::arm(tern::fault::Point::kRename, EIO);
  auto st = tern::table::build_lmdb(path, {{"k", "new", 1}});
  tern::fault::disarm_all();
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().text, Catch::Contains("rename"));
  CHECK(value_of(*open_ok("lmdb:" + path), "k") == "old");
  CHECK(dir.files() == std::vector<std::string>{"t.lmdb"});
}
#endif

TEST_CASE("lmdb: a file that is not an lmdb database fails open", "[table]") {
  TempDir dir;
  dir.write("t.lmdb", std::string(8192, 'x'));
  auto t = tern::table::open("lmdb:" + dir.path() + "/t");
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(t.error().text, Catch::StartsWith("lmdb:" + dir.path() + "/t: open " + dir.path() + "/t.lmdb: "));
}

TEST_CASE("lmdb: aliases parsed and built are found by name", "[table]") {
  TempDir dir;
  const std::string path = dir.write("aliases", "Postmaster: root\nroot: alice,\n  \"|/bin/log a, b\"\n");
  auto entries = tern::table::parse_aliases("Postmaster: root\nroot: alice,\n  \"|/bin/log a, b\"\n", path);
  REQUIRE(entries.ok());
  REQUIRE(tern::table::build_lmdb(path, *entries).ok());
  auto t = open_ok("lmdb:" + path);
  CHECK(value_of(*t, "POSTMASTER") == "root");
  CHECK(value_of(*t, "root") == "alice, \"|/bin/log a, b\"");
}
