#include "common/store/maildir.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

TEST_CASE("maildir: folder names map to .Name directories in modified UTF-7", "[store]") {
  CHECK(*folder_dir_name("Sent") == ".Sent");
  CHECK(*folder_dir_name("Archive.2024") == ".Archive.2024");
  CHECK(*folder_dir_name("Entwürfe") == ".Entw&APw-rfe");
  CHECK(*folder_dir_name("INBOX.child") == ".INBOX.child");
  CHECK(*folder_name_from_dir(".Entw&APw-rfe") == "Entwürfe");
  CHECK(*folder_path("/h/Maildir", "inbox") == "/h/Maildir");
  CHECK(*folder_path("/h/Maildir", "Trash") == "/h/Maildir/.Trash");
  CHECK(maildir_path("/var/vmail/u/") == "/var/vmail/u/Maildir");
}

TEST_CASE("maildir: unsafe folder names are refused", "[store]") {
  const std::string bad[] = {
      "",          "a/b",       "../x",        "a..b",       ".a",         "a.",
      "~user",     "#news.x",   "INBOX",       "Inbox",      "a\tb",       "a\x7f",
      "a\xC2\x85", "caf\xC3",   std::string("a\0b", 3),      std::string(201, 'x'),
  };
  for (const std::string& n : bad) {
    INFO(n);
    CHECK_FALSE(check_folder_name(n).ok());
    CHECK_FALSE(folder_dir_name(n).ok());
  }
  CHECK(check_folder_name(std::string(201, 'x')).error().code == Errc::kLimit);
  // Directory entries that are not canonical folders are not folders.
  for (const char* d : {".", "..", ".&AGE-", ".a..b", ".~x", ".INBOX", "Sent", ".a/b"}) {
    INFO(d);
    CHECK_FALSE(folder_name_from_dir(d).ok());
  }
}

TEST_CASE("maildir: ensure_maildir creates the store and special-use folders, twice over", "[store]") {
  TempDir dir;
  const std::string home = dir.path() + "/user";
  REQUIRE(ensure_maildir(home).ok());
  REQUIRE(ensure_maildir(home).ok());
  const std::string md = home + "/Maildir";
  for (const char* sub : {"cur", "new", "tmp"}) CHECK(is_dir(md + "/" + sub));
  for (std::string_view f : kSpecialUseFolders) {
    const std::string p = md + "/." + std::string(f);
    CHECK(is_dir(p + "/cur"));
    CHECK(is_dir(p + "/new"));
    CHECK(is_dir(p + "/tmp"));
    CHECK(is_file(p + "/maildirfolder"));
  }
  auto folders = list_folders(md);
  REQUIRE(folders.ok());
  CHECK(*folders == std::vector<std::string>{"Archive", "Drafts", "Junk", "Sent", "Trash"});
  // Nothing left behind from the scratch builds.
  CHECK(dir.files() == std::vector<std::string>{"user"});
}

TEST_CASE("maildir: ensure_folder repairs a folder missing a subdirectory", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  REQUIRE(ensure_folder(md, "Listen.Tern").ok());
  REQUIRE(::rmdir((md + "/.Listen.Tern/tmp").c_str()) == 0);
  REQUIRE(ensure_folder(md, "Listen.Tern").ok());
  CHECK(is_dir(md + "/.Listen.Tern/tmp"));
  CHECK_FALSE(ensure_folder(md, "../evil").ok());
  auto folders = list_folders(md);
  REQUIRE(folders.ok());
  CHECK(folders->size() == 6);
}

TEST_CASE("maildir: concurrent creators all succeed", "[store]") {
  TempDir dir;
  const std::string home = dir.path() + "/home";
  constexpr int kProcs = 4;
  for (int round = 0; round < 5; ++round) {
    const std::string h = home + std::to_string(round);
    std::vector<pid_t> kids;
    for (int i = 0; i < kProcs; ++i) {
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        bool ok = ensure_maildir(h).ok() && ensure_folder(h + "/Maildir", "Shared").ok();
        ::_exit(ok ? 0 : 1);
      }
      kids.push_back(pid);
    }
    for (pid_t pid : kids) {
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    auto folders = list_folders(h + "/Maildir");
    REQUIRE(folders.ok());
    CHECK(folders->size() == 6);
    CHECK(is_dir(h + "/Maildir/.Shared/new"));
  }
}
