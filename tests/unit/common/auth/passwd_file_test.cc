#include "common/auth/passwd_file.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace tern::auth;

namespace {

VmailIds vmail() {
  VmailIds ids;
  ids.uid = 5000;
  ids.gid = 5001;
  ids.user_name = "vmail";
  ids.group_name = "vmailgrp";
  return ids;
}

const char* kHash = "{PLAIN}pw";

}  // namespace

TEST_CASE("passwd_file: reads Dovecot's fields, homes and userdb extra fields", "[auth]") {
  std::string text = std::string("# comment\n\n") +
                     "a@example.test:" + kHash + ":5000:5001::/srv/mail/a::userdb_quota_rule=*:storage=1G nodelay\n" +
                     "B@Example.Test:" + kHash + ":vmail:vmailgrp::b\n" + "c@example.test:" + kHash + "\n" +
                     "d@example.test::::::\n";
  std::vector<std::string> warnings;
  auto f = PasswdFile::parse(text, "users", vmail(), "/var/vmail", &warnings);
  REQUIRE(f.ok());
  CHECK(f->size() == 4);
  const PasswdEntry* a = f->find("A@EXAMPLE.TEST");
  REQUIRE(a);
  CHECK(a->user == "a@example.test");
  CHECK(a->uid == 5000);
  CHECK(a->gid == 5001);
  CHECK(a->home == "/srv/mail/a");
  REQUIRE(a->userdb_fields.size() == 1);
  CHECK(a->userdb_fields[0] == std::make_pair(std::string("quota_rule"), std::string("*:storage=1G")));
  CHECK(a->has_passdb_field("nodelay"));
  REQUIRE(a->password);
  CHECK(a->password->scheme == Scheme::kPlain);
  const PasswdEntry* b = f->find("b@example.test");
  REQUIRE(b);
  CHECK(b->user == "B@Example.Test");
  CHECK(b->home == "/var/vmail/b");
  const PasswdEntry* c = f->find("c@example.test");
  REQUIRE(c);
  CHECK(c->uid == 5000);  // empty ids mean vmail
  CHECK(c->home.empty());
  const PasswdEntry* d = f->find("d@example.test");
  REQUIRE(d);
  CHECK(!d->password);
  CHECK(f->find("nobody@example.test") == nullptr);
  // Every {PLAIN} entry is warned about, with its line.
  REQUIRE(warnings.size() == 3);
  CHECK(warnings[0] == "users:3: password of a@example.test is stored in {PLAIN}: hash it (ARGON2ID)");
}

TEST_CASE("passwd_file: refuses entries that break the rules, with file:line, and keeps the others", "[auth]") {
  struct Case {
    std::string line, reason;
  };
  const Case cases[] = {
      {"x@e.t:{PLAIN}pw:0:5001::/h", "users:1: uid 0 is not the vmail account (vmail, uid 5000): every user maps to it: entry refused"},
      {"x@e.t:{PLAIN}pw:root::::", "users:1: uid root is not the vmail account (vmail, uid 5000): every user maps to it: entry refused"},
      {"x@e.t:{PLAIN}pw:5000:0::/h", "users:1: gid 0 is not the vmail group (vmailgrp, gid 5001): every user maps to it: entry refused"},
      {"x@e.t:{PLAIN}pw:5000:5001::/h::userdb_uid=0", "users:1: userdb_uid is not allowed: every user maps to vmail: entry refused"},
      {"x@e.t:{MD5}abc:5000:5001::/h", "users:1: unsupported password scheme {MD5}: entry refused"},
      {"x y@e.t:{PLAIN}pw", "users:1: bad user name: entry refused"},
      {":{PLAIN}pw", "users:1: bad user name: entry refused"},
      {"x@e.t:{PLAIN}pw::::rel", "users:1: relative home rel and virtual_mailbox_base is empty: entry refused"},
      {"x@e.t:{PLAIN}pw::::::=v", "users:1: extra field without a name: entry refused"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    std::vector<std::string> warnings;
    auto f = PasswdFile::parse(c.line + "\nok@e.t:{SHA512-CRYPT}$6$salt$hash\n", "users", vmail(), "", &warnings);
    REQUIRE(f.ok());
    CHECK(f->size() == 1);
    CHECK(f->find("ok@e.t") != nullptr);
    REQUIRE(!warnings.empty());
    CHECK(warnings[0] == c.reason);
  }
}

TEST_CASE("passwd_file: a duplicate user is refused, the first entry stays", "[auth]") {
  std::vector<std::string> warnings;
  auto f = PasswdFile::parse("a@e.t:{SHA512-CRYPT}$6$x$y:::::\nA@E.T:{SHA512-CRYPT}$6$z$w\n", "users", vmail(), "",
                             &warnings);
  REQUIRE(f.ok());
  CHECK(f->size() == 1);
  CHECK(f->find("a@e.t")->line == 1);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "users:2: duplicate user A@E.T (first at line 1): entry refused");
}

TEST_CASE("passwd_file: limits on line length, users and file size", "[auth]") {
  PasswdLimits limits;
  limits.max_line = 40;
  limits.max_users = 2;
  limits.max_file_bytes = 200;
  std::vector<std::string> warnings;
  auto f = PasswdFile::parse("a@e.t:{PLAIN}" + std::string(50, 'x') + "\nb@e.t:{PLAIN}p\n", "users", vmail(), "",
                             &warnings, limits);
  REQUIRE(f.ok());
  CHECK(f->size() == 1);
  CHECK(warnings[0] == "users:1: line longer than 40 bytes: entry refused");
  auto many = PasswdFile::parse("a@e.t:{PLAIN}p\nb@e.t:{PLAIN}p\nc@e.t:{PLAIN}p\n", "users", vmail(), "", nullptr, limits);
  REQUIRE(!many.ok());
  CHECK(many.error().text == "users:3: more than 2 users");
  CHECK(!PasswdFile::parse(std::string(201, '#'), "users", vmail(), "", nullptr, limits).ok());
}
