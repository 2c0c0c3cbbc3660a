#include "common/store/keywords.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "common/base/fd.h"
#include "common/store/maildir.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;

std::string maildir_in(const TempDir& dir) {
  REQUIRE(ensure_maildir(dir.path()).ok());
  return dir.path() + "/Maildir";
}

}  // namespace

TEST_CASE("keywords: Dovecot's file reads and writes back the same", "[store]") {
  KeywordTable t = parse_keywords("0 $Junk\n1 $NonJunk\n4 $Label1\n");
  CHECK(t.names[0] == "$Junk");
  CHECK(t.names[1] == "$NonJunk");
  CHECK(t.names[4] == "$Label1");
  CHECK(t.reserved == 0u);
  CHECK(t.known() == 0b10011u);
  CHECK(*t.find("$junk") == 0u);  // case-insensitive (RFC 3501 2.3.2)
  CHECK_FALSE(t.find("$Label2"));
  CHECK(*t.free_index() == 2u);
  CHECK(format_keywords(t) == "0 $Junk\n1 $NonJunk\n4 $Label1\n");
  CHECK(parse_keywords(format_keywords(t)) == t);
  // Order does not matter; a last line without LF counts in a whole file.
  CHECK(parse_keywords("4 $Label1\n0 $Junk\n1 $NonJunk").names == t.names);
  // ... but not in a file cut at the bound.
  CHECK(parse_keywords("0 $Junk\n1 $NonJ", false).known() == 1u);
  CHECK(parse_keywords("").known() == 0u);
}

TEST_CASE("keywords: damaged lines are skipped and their letters never reused", "[store]") {
  struct Case {
    std::string_view text;
    uint32_t known;
    uint32_t reserved;
  };
  const Case cases[] = {
      {"0 $Junk\ngarbage\n", 0b1, 0},           // no index: names no letter
      {"0 $Junk\n26 x\n", 0b1, 0},              // out of range
      {"0 $Junk\n99999999999999999999 x\n", 0b1, 0},
      {"0 $Junk\n-1 x\n", 0b1, 0},
      {"0 $Junk\n01 x\n", 0b1, 0},              // not a spelling anyone writes
      {"0 $Junk\n 1 x\n", 0b1, 0},
      {"0 $Junk\n1 \n", 0b1, 0b10},             // empty name
      {"0 $Junk\n1 bad name\n", 0b1, 0b10},     // not an atom
      {"0 $Junk\n1 \\Seen\n", 0b1, 0b10},       // a system flag is no keyword
      {"0 $Junk\n1 x\r\n", 0b1, 0b10},          // CR
      {std::string_view("0 $Junk\n1 a\0b\n", 14), 0b1, 0b10},
      {"0 $Junk\n1 a\n1 b\n", 0b1, 0b10},       // one index twice
      {"0 $Junk\n1 $junk\n2 x\n", 0b100, 0b11}, // one name twice
      {"2 x\n0 $Junk\n1 $junk\n0 y\n", 0b100, 0b11},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    KeywordTable t = parse_keywords(c.text);
    CHECK(t.known() == c.known);
    CHECK(t.reserved == c.reserved);
    const uint32_t used = c.known | c.reserved;
    CHECK(!(used & (1u << *t.free_index())));
    // Written back, the damage (and so the reservation) stays.
    CHECK(parse_keywords(format_keywords(t)) == t);
  }
  KeywordTable full;
  for (size_t i = 0; i < 26; ++i) full.names[i] = "k" + std::to_string(i);
  CHECK_FALSE(full.free_index());
}

TEST_CASE("keywords: added under the folder lock, durable, seen by another reader", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  Keywords kw(md);
  REQUIRE(kw.load().ok());  // no file: no keywords
  CHECK(kw.table().known() == 0u);
  {
    auto lock = lock_folder(md);
    REQUIRE(lock.ok());
    CHECK(*kw.add("$Junk", *lock) == 0u);
    CHECK(*kw.add("$Forwarded", *lock) == 1u);
    CHECK(*kw.add("$junk", *lock) == 0u);
    auto bad = kw.add("a b", *lock);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::kInvalid);
  }
  auto text = tern::read_file(md + "/dovecot-keywords");
  REQUIRE(text.ok());
  CHECK(*text == "0 $Junk\n1 $Forwarded\n");
  struct stat st;
  REQUIRE(::stat((md + "/dovecot-keywords").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  Keywords other(md);
  REQUIRE(other.load().ok());
  CHECK(other.names(0b11) == std::vector<std::string>{"$Junk", "$Forwarded"});
  CHECK(other.names(1u << 7).empty());

  // A damaged file from elsewhere: its reserved letter is skipped and kept.
  dir.write("Maildir/dovecot-keywords", "0 $Junk\n1 bad name\n");
  {
    auto lock = lock_folder(md);
    REQUIRE(lock.ok());
    CHECK(*kw.add("$Forwarded", *lock) == 2u);
    for (int i = 3; i < 26; ++i) REQUIRE(kw.add("k" + std::to_string(i), *lock).ok());
    auto full = kw.add("one-too-many", *lock);
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().code == Errc::kLimit);
  }
  REQUIRE(other.load().ok());
  CHECK(other.table().reserved == 0b10u);
  CHECK(*other.find("$Forwarded") == 2u);
  CHECK(other.table().kept == std::vector<std::string>{"1 bad name"});

  // Something that is not a regular file, or a huge one, never hurts.
  REQUIRE(::unlink((md + "/dovecot-keywords").c_str()) == 0);
  REQUIRE(::mkdir((md + "/dovecot-keywords").c_str(), 0700) == 0);
  Keywords odd(md);
  auto st2 = odd.load();
  CHECK_FALSE(st2.ok());
  REQUIRE(::rmdir((md + "/dovecot-keywords").c_str()) == 0);
  std::string huge;
  for (int i = 0; i < 5000; ++i) huge += "7 padding-line\n";
  dir.write("Maildir/dovecot-keywords", "0 $Junk\n" + huge + "1 $Late\n");
  REQUIRE(odd.load().ok());
  CHECK(odd.table().names[0] == "$Junk");
  CHECK_FALSE(odd.find("$Late"));  // past the bound
  CHECK(odd.table().reserved == (1u << 7));  // one index, many lines
}

TEST_CASE("keywords: adders in several processes never give two names one letter", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  constexpr int kProcs = 4;
  constexpr int kEach = 5;  // 20 names, 26 letters
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      Keywords kw(md);
      int rc = 0;
      for (int i = 0; i < kEach && rc == 0; ++i) {
        auto lock = lock_folder(md);
        if (!lock.ok()) rc = 1;
        // Every process also adds a name the others add.
        if (rc == 0 && !kw.add("p" + std::to_string(p) + "k" + std::to_string(i), *lock).ok()) rc = 2;
        if (rc == 0 && !kw.add("$Shared", *lock).ok()) rc = 3;
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (pid_t pid : kids) {
    int status = 0;
    pid_t got = 0;
    while ((got = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (got == 0) ::kill(pid, SIGKILL), ::waitpid(pid, &status, 0);
    CHECK(got == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  Keywords kw(md);
  REQUIRE(kw.load().ok());
  CHECK(kw.table().reserved == 0u);
  std::set<std::string> names;
  for (const std::string& n : kw.names(kw.table().known())) CHECK(names.insert(n).second);
  CHECK(names.size() == kProcs * kEach + 1);
  CHECK(names.count("$Shared") == 1);
}
