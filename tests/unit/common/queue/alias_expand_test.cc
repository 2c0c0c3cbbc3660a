#include "common/queue/alias_expand.h"

#include <catch2/catch.hpp>

#include "tests/unit/support/temp_dir.h"

using namespace tern;

namespace {

struct Fixture {
  test::TempDir dir;
  std::unique_ptr<table::Table> virt, aliases;
  queue::AliasSettings s;

  Fixture(const std::string& virtual_text, const std::string& aliases_text) {
    auto v = table::open("texthash:" + dir.write("virtual", virtual_text));
    REQUIRE(v.ok());
    virt = std::move(*v);
    // alias_maps in /etc/aliases form, built as ternmap -a would.
    auto entries = table::parse_aliases(aliases_text, "aliases");
    REQUIRE(entries.ok());
    std::string path = dir.path() + "/aliases";
    REQUIRE(table::build_lmdb(path, *entries).ok());
    auto a = table::open("lmdb:" + path);
    REQUIRE(a.ok());
    aliases = std::move(*a);
    s.virtual_alias_maps = {virt.get()};
    s.alias_maps = {aliases.get()};
    s.mydestination = {"mail.example.test", "localhost"};
    s.local_domains = {"mail.example.test", "localhost", "example.test"};
    s.myorigin = "mail.example.test";
    s.delimiters = "+";
  }

  std::vector<std::string> expand(std::vector<std::string> in, Errc* error = nullptr) {
    std::vector<queue::Recipient> rs;
    for (auto& a : in) rs.push_back(queue::Recipient{a, "", 0, "", {}, 0});
    auto out = queue::expand_aliases(s, rs);
    if (!out) {
      if (error) *error = out.error().code;
      return {"ERROR: " + out.error().text};
    }
    std::vector<std::string> got;
    for (auto& r : *out) got.push_back(r.address + (r.original.empty() ? "" : " <- " + r.original));
    return got;
  }
};

}  // namespace

TEST_CASE("alias_expand: virtual and local aliases, recursion, one-to-many and duplicates", "[queue]") {
  Fixture f("sales@example.test bob@example.test, carol@example.test\n"
            "team@example.test sales@example.test, bob@example.test\n"
            "self@example.test self@example.test, archive@example.test\n",
            "postmaster: root\nroot: demo@example.test\nabuse: root\nlist: a, b\n");
  using V = std::vector<std::string>;
  CHECK(f.expand({"demo@example.test"}) == V{"demo@example.test"});
  CHECK(f.expand({"sales@example.test"}) == V{"bob@example.test <- sales@example.test", "carol@example.test <- sales@example.test"});
  // team -> sales -> bob, carol; plus bob again: one copy.
  CHECK(f.expand({"team@example.test"}) == V{"bob@example.test <- team@example.test", "carol@example.test <- team@example.test"});
  CHECK(f.expand({"self@example.test"}) == V{"self@example.test", "archive@example.test <- self@example.test"});
  // postmaster and abuse of a virtual domain reach the administrator.
  CHECK(f.expand({"postmaster@example.test"}) == V{"demo@example.test <- postmaster@example.test"});
  CHECK(f.expand({"abuse@example.test"}) == V{"demo@example.test <- abuse@example.test"});
  CHECK(f.expand({"postmaster"}) == V{"demo@example.test <- postmaster"});
  // mydestination: local parts are aliases; a bare target gets @myorigin.
  CHECK(f.expand({"list@mail.example.test"}) == V{"a@mail.example.test <- list@mail.example.test", "b@mail.example.test <- list@mail.example.test"});
  // user+tag: the alias of user applies, and a virtual alias passes the
  // extension on (Postfix's propagate_unmatched_extensions), so the tag
  // still picks the folder at delivery.
  CHECK(f.expand({"sales+q4@example.test"}) == V{"bob+q4@example.test <- sales+q4@example.test", "carol+q4@example.test <- sales+q4@example.test"});
  CHECK(f.expand({"self+x@example.test"}) == V{"self+x@example.test", "archive+x@example.test <- self+x@example.test"});
  // An entry for the extended address itself wins, and passes nothing on.
  Fixture g("sales@example.test bob@example.test\nsales+q4@example.test carol@example.test\n", "x: y\n");
  CHECK(g.expand({"sales+q4@example.test"}) == V{"carol@example.test <- sales+q4@example.test"});
  // alias_maps entries do not pass it on (nor do Postfix's by default).
  CHECK(f.expand({"list+x@mail.example.test"}) == V{"a@mail.example.test <- list+x@mail.example.test", "b@mail.example.test <- list+x@mail.example.test"});
}

TEST_CASE("alias_expand: a loop is refused, not delivered half-way", "[queue]") {
  Fixture f("a@example.test b@example.test\nb@example.test a@example.test\n", "x: y\n");
  Errc err = Errc::kInvalid;
  auto got = f.expand({"a@example.test"}, &err);
  CHECK(err == Errc::kLimit);
  CHECK_THAT(got.front(), Catch::Contains("loop"));
}

TEST_CASE("alias_expand: programs and files are dropped, since nothing here delivers to them", "[queue]") {
  Fixture f("x@example.test y@example.test\n", "cron: \"|/usr/bin/procmail\", /var/mail/cron, demo@example.test\n");
  std::vector<queue::Recipient> in = {queue::Recipient{"cron@localhost", "", 0, "", {}, 0}};
  std::vector<std::string> warnings;
  auto out = queue::expand_aliases(f.s, in, &warnings);
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  CHECK(out->front().address == "demo@example.test");
  CHECK(warnings.size() == 2);
}
