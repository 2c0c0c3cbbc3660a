#include "common/queue/local_sender.h"

#include <catch2/catch.hpp>
#include <memory>

#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::queue;
using tern::Errc;

}  // namespace

TEST_CASE("local_sender: no tables allow any sender, as Postfix's static:*", "[queue]") {
  LocalSenderPolicy none;
  CHECK(check_local_sender(none, "alice", 1000, "anyone@example.org").ok());
  CHECK(check_local_sender(none, "alice", 1000, "").ok());
}

TEST_CASE("local_sender: patterns *, <>, @domain and addresses, extensions ignored", "[queue]") {
  tern::test::TempDir dir;
  std::string path = dir.write("senders",
                               "alice alice@example.org, @lists.example.org <>\n"
                               "root *\n"
                               "uid:4242 robot@example.org\n");
  std::string spec = "texthash:";
  spec += path;
  auto table = tern::table::open(spec);
  REQUIRE(table.ok());
  LocalSenderPolicy p;
  p.maps.push_back(table->get());
  p.delimiters.push_back('+');
  CHECK(check_local_sender(p, "alice", 1000, "alice@example.org").ok());
  CHECK(check_local_sender(p, "alice", 1000, "alice+tag@EXAMPLE.org").ok());
  CHECK(check_local_sender(p, "alice", 1000, "news@Lists.Example.org").ok());
  CHECK(check_local_sender(p, "alice", 1000, "").ok());
  CHECK(check_local_sender(p, "root", 0, "whoever@example.net").ok());
  CHECK(check_local_sender(p, "", 4242, "robot@example.org").ok());
  auto bad = check_local_sender(p, "alice", 1000, "bob@example.org");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().text, Catch::Contains("may not use the sender <bob@example.org>"));
  CHECK_FALSE(check_local_sender(p, "", 4242, "").ok());
  auto unknown = check_local_sender(p, "mallory", 1001, "mallory@example.org");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == Errc::kNotFound);
}
