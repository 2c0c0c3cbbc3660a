#include "common/auth/passwd_edit.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "common/base/fd.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace tern::auth;

namespace {

const std::string kFile =
    "# Users in Dovecot's passwd-file format:\n"
    "\n"
    "demo@example.test:{PLAIN}old:5000:5000::/srv/mail/example.test/demo::userdb_quota_rule=*:storage=1G\n"
    "   # an indented comment :with:colons\n"
    "broken line without colons\r\n"
    "crlf@example.test:{PLAIN}x:5000:5000::/h::\r\n"
    "short@example.test:{PLAIN}y";  // no newline at the end

NewUser bob() {
  return {"bob@example.test", "{PLAIN}pw", 5000, 5000, "/srv/mail/example.test/bob", ""};
}

}  // namespace

TEST_CASE("passwd_edit: a new line has the shape ternctl init writes, with an optional quota rule", "[auth]") {
  NewUser u = bob();
  CHECK(format_user_line(u) == "bob@example.test:{PLAIN}pw:5000:5000::/srv/mail/example.test/bob::\n");
  u.quota_rule = "*:storage=1G";
  CHECK(format_user_line(u) ==
        "bob@example.test:{PLAIN}pw:5000:5000::/srv/mail/example.test/bob::userdb_quota_rule=*:storage=1G\n");
  // And authd loads it as the user it means.
  VmailIds ids{5000, 5000, "vmail", "vmail"};
  auto f = PasswdFile::parse(format_user_line(u), "users", ids, "", nullptr);
  REQUIRE(f.ok());
  const PasswdEntry* e = f->find("BOB@example.test");
  REQUIRE(e != nullptr);
  CHECK(e->home == "/srv/mail/example.test/bob");
  REQUIRE(e->userdb_fields.size() == 1);
  CHECK(e->userdb_fields[0].second == "*:storage=1G");
  CHECK(default_home("/srv/mail", "bob@example.test") == "/srv/mail/example.test/bob");
}

TEST_CASE("passwd_edit: adding keeps every other byte and refuses a duplicate in any case", "[auth]") {
  auto out = add_user(kFile, bob());
  REQUIRE(out.ok());
  // The unterminated last line gets its newline, nothing else changes.
  CHECK(*out == kFile + "\n" + format_user_line(bob()));
  auto again = add_user(*out, NewUser{"BOB@Example.Test", "{PLAIN}z"});
  REQUIRE(!again.ok());
  CHECK(again.error().text.find("exists (line 8)") != std::string::npos);
  CHECK(!add_user(kFile, NewUser{"CRLF@example.test", "{PLAIN}z"}).ok());
  CHECK(add_user("", bob()).ok());
  CHECK(*add_user("", bob()) == format_user_line(bob()));
}

TEST_CASE("passwd_edit: removing takes exactly the user's line", "[auth]") {
  auto out = remove_user(kFile, "Demo@example.test");
  REQUIRE(out.ok());
  CHECK(*out ==
        "# Users in Dovecot's passwd-file format:\n"
        "\n"
        "   # an indented comment :with:colons\n"
        "broken line without colons\r\n"
        "crlf@example.test:{PLAIN}x:5000:5000::/h::\r\n"
        "short@example.test:{PLAIN}y");
  auto crlf = remove_user(kFile, "crlf@example.test");
  REQUIRE(crlf.ok());
  CHECK(crlf->find("crlf@") == std::string::npos);
  CHECK(crlf->find("broken line without colons\r\nshort@") != std::string::npos);
  auto missing = remove_user(kFile, "nobody@example.test");
  REQUIRE(!missing.ok());
  CHECK(missing.error().code == Errc::kNotFound);
  // A comment that looks like a user is not one.
  CHECK(!remove_user(kFile, "# Users in Dovecot's passwd-file format").ok());
}

TEST_CASE("passwd_edit: a new password replaces only the password field", "[auth]") {
  auto out = set_user_password(kFile, "demo@EXAMPLE.test", "{ARGON2ID}$argon2id$new");
  REQUIRE(out.ok());
  std::string want = kFile;
  size_t at = want.find("{PLAIN}old");
  want.replace(at, 10, "{ARGON2ID}$argon2id$new");
  CHECK(*out == want);
  // CRLF kept; a line with only user:password, unterminated, too.
  auto crlf = set_user_password(kFile, "crlf@example.test", "{PLAIN}n");
  REQUIRE(crlf.ok());
  CHECK(crlf->find("crlf@example.test:{PLAIN}n:5000:5000::/h::\r\nshort") != std::string::npos);
  auto s = set_user_password(kFile, "short@example.test", "{PLAIN}n");
  REQUIRE(s.ok());
  CHECK(s->substr(s->size() - 28) == "\nshort@example.test:{PLAIN}n");
  CHECK(set_user_password(kFile, "ghost@example.test", "{PLAIN}n").error().code == Errc::kNotFound);
}

TEST_CASE("passwd_edit: list gives the user names in file order", "[auth]") {
  auto users = list_users(kFile);
  REQUIRE(users.size() == 4);
  CHECK(users[0] == "demo@example.test");
  CHECK(users[1] == "broken line without colons");  // authd refuses it, but it names the line
  CHECK(users[2] == "crlf@example.test");
  CHECK(users[3] == "short@example.test");
}

TEST_CASE("passwd_edit: user names are checked addresses, domain lower-cased", "[auth]") {
  struct Case {
    const char* in;
    const char* out;  // nullptr: refused
  };
  const Case cases[] = {
      {"bob@example.test", "bob@example.test"},
      {"Bob.Smith+x@Example.TEST", "Bob.Smith+x@example.test"},
      {"bob", nullptr},
      {"@example.test", nullptr},
      {"bob@", nullptr},
      {"bob@[192.0.2.1]", nullptr},
      {"\"b b\"@example.test", nullptr},
      {"a/b@example.test", nullptr},
      {"a%b@example.test", nullptr},
      {"a!b@example.test", nullptr},
      {"..@example.test", nullptr},
      {"bob@exa_mple.test", nullptr},
      {"bob:x@example.test", nullptr},
      {"bob@example.test:", nullptr},
      {"b\xc3\xa9@example.test", nullptr},
      {"bob@example.test\n", nullptr},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto r = check_user_address(c.in);
    if (c.out) {
      REQUIRE(r.ok());
      CHECK(*r == c.out);
    } else {
      CHECK(!r.ok());
    }
  }
  CHECK(check_user_address(std::string(65, 'a') + "@example.test").error().text.find("not an address") !=
        std::string::npos);
  CHECK(check_quota_rule("*:storage=1G").ok());
  CHECK(!check_quota_rule("").ok());
  CHECK(!check_quota_rule("*:storage=1G extra").ok());
  CHECK(!check_quota_rule(std::string(257, 'x')).ok());
}

TEST_CASE("passwd_edit: the file is replaced with its owner and mode kept, and a failed edit changes nothing",
          "[auth]") {
  test::TempDir dir;
  std::string path = dir.write("users", kFile);
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  struct stat before {};
  REQUIRE(::stat(path.c_str(), &before) == 0);
  REQUIRE(edit_passwd_file(path, {}, [](std::string_view old) { return add_user(old, bob()); }).ok());
  struct stat after {};
  REQUIRE(::stat(path.c_str(), &after) == 0);
  CHECK((after.st_mode & 07777) == 0640);
  CHECK(after.st_uid == before.st_uid);
  CHECK(after.st_gid == before.st_gid);
  CHECK(after.st_ino != before.st_ino);  // a new file renamed in, never rewritten in place
  CHECK(*read_file(path) == kFile + "\n" + format_user_line(bob()));
  auto refused = edit_passwd_file(path, {}, [](std::string_view old) { return add_user(old, bob()); });
  CHECK(!refused.ok());
  struct stat same {};
  REQUIRE(::stat(path.c_str(), &same) == 0);
  CHECK(same.st_ino == after.st_ino);
  // Only the file and its lock file remain: no temporary file left behind.
  auto files = dir.files();
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"users", "users.lock"});
  // A missing file is created with the mode asked for.
  std::string fresh = dir.path() + "/new-users";
  REQUIRE(edit_passwd_file(fresh, {-1, -1, 0600},
                           [](std::string_view old) { return add_user(old, bob()); })
              .ok());
  struct stat st {};
  REQUIRE(::stat(fresh.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == ::geteuid());
  // A symlink is not followed and not replaced.
  std::string link = dir.path() + "/link";
  REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
  CHECK(!edit_passwd_file(link, {}, [](std::string_view old) { return add_user(old, NewUser{"x@y.z", "{PLAIN}p"}); })
             .ok());
}

TEST_CASE("passwd_edit: concurrent editors in separate processes lose no change", "[auth]") {
  test::TempDir dir;
  std::string path = dir.write("users", "# header\n");
  constexpr int kProcs = 8, kEach = 5;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; p++) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int rc = 0;
      for (int i = 0; i < kEach; i++) {
        NewUser u{"u" + std::to_string(p) + "-" + std::to_string(i) + "@example.test", "{PLAIN}pw", 1, 1, "/h", ""};
        if (!edit_passwd_file(path, {}, [&u](std::string_view old) { return add_user(old, u); }, std::chrono::seconds(30)).ok()) rc = 1;
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto text = read_file(path);
  REQUIRE(text.ok());
  CHECK(text->rfind("# header\n", 0) == 0);
  CHECK(list_users(*text).size() == kProcs * kEach);
}

TEST_CASE("passwd_edit: a held lock makes another editor wait, then give up with a clear error", "[auth]") {
  test::TempDir dir;
  std::string path = dir.write("users", "");
  auto held = PasswdLock::acquire(path);
  REQUIRE(held.ok());
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // flock locks belong to open file descriptions: the child's own open
    // conflicts with the parent's lock.
    auto r = PasswdLock::acquire(path, std::chrono::milliseconds(200));
    ::_exit(!r.ok() && r.error().code == Errc::kTemporary ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WEXITSTATUS(status) == 0);
}
