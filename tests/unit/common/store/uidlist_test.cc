#include "common/store/uidlist.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/store/maildir.h"
#include "common/store/message_file.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;

const std::string kHeader = "tern-uidlist\t1\t1700000000\t1\t0\n";

UidListState parse_all(std::string_view text) {
  UidListState s;
  auto used = parse_uidlist(text, s);
  REQUIRE(used.ok());
  return s;
}

std::string maildir_in(const TempDir& dir) {
  REQUIRE(ensure_maildir(dir.path()).ok());
  return dir.path() + "/Maildir";
}

}  // namespace

TEST_CASE("uidlist: the file parses, formats back and ignores a torn last line", "[store]") {
  const std::string text = kHeader +
                           "K\t0\t$Junk\n"
                           "A\t1\t1\t1000.M1P1Q0.h,S=3,W=3\n"
                           "A\t5\t2\t1000.M2P1Q0.h,S=3,W=3\n"
                           "M\t7\n"
                           "N\t9\n"
                           "A\t9\t8\t1001.M0P1Q0.h\n";
  UidListState s;
  auto used = parse_uidlist(text + "A\t10\t9\t1002.M0P1", s);
  REQUIRE(used.ok());
  CHECK(*used == text.size());
  CHECK(s.uidvalidity == 1700000000u);
  CHECK(s.uidnext == 10u);
  CHECK(s.highestmodseq == 8u);
  CHECK(s.keywords == std::vector<std::string>{"$Junk"});
  CHECK(s.entries.at(5).base == "1000.M2P1Q0.h,S=3,W=3");
  CHECK(s.uids.at("1001.M0P1Q0.h") == 9u);

  UidListState again = parse_all(format_uidlist(s));
  CHECK(again.uidvalidity == s.uidvalidity);
  CHECK(again.uidnext == s.uidnext);
  CHECK(again.highestmodseq == s.highestmodseq);
  CHECK(again.entries == s.entries);
  CHECK(again.keywords == s.keywords);
}

TEST_CASE("uidlist: bad complete lines make the list corrupt", "[store]") {
  const std::string bad[] = {
      "tern-uidlist\t2\t1\t1\t0\n",                     // unknown version
      "tern-uidlist\t1\t0\t1\t0\n",                     // UIDVALIDITY 0
      "A\t1\t1\tx\n",                                   // no header
      kHeader + "A\t0\t1\tx\n",                         // UID 0 < UIDNEXT 1
      kHeader + "A\t2\t1\tx\nA\t2\t2\ty\n",             // UID repeated
      kHeader + "A\t2\t1\tx\nA\t3\t1\ty\n",             // MODSEQ not raised
      kHeader + "A\t2\t1\tx\nA\t3\t2\tx\n",             // file listed twice
      kHeader + "A\t2\t1\tx:2,S\n",                     // flags in a base
      kHeader + "A\t2\t1\t.hidden\n",                   // not a message name
      kHeader + "K\t1\tx\n",                            // keyword index skipped
      kHeader + "K\t0\tbad kw\n",                       // not an atom
      kHeader + "K\t0\tx\nK\t1\tx\n",                   // keyword twice
      kHeader + "N\t0\n",                               // UIDNEXT lowered
      kHeader + "Z\t1\n",                               // unknown record
      kHeader + "A\t4294967295\t1\tx\n",                // past the last UID
      kHeader + std::string(2000, 'A') + "\n",          // too long
  };
  for (const std::string& t : bad) {
    INFO(t);
    UidListState s;
    auto r = parse_uidlist(t, s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kCorrupt);
  }
  CHECK(valid_keyword("$Forwarded"));
  CHECK_FALSE(valid_keyword("\\Seen"));
  CHECK_FALSE(valid_keyword(""));
}

TEST_CASE("uidlist: sync numbers files in delivery order and keeps UIDs across moves", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  dir.write("Maildir/new/1700000002.M5P1Q0.h,S=1,W=1", "b");
  dir.write("Maildir/new/1700000001.M9P1Q0.h,S=1,W=1", "a");
  dir.write("Maildir/cur/1700000002.M4P1Q0.h,S=1,W=1:2,S", "c");
  dir.write("Maildir/new/.dotfile", "skipped");

  UidList list(md);
  REQUIRE(list.sync().ok());
  CHECK(list.uidvalidity() != 0u);
  CHECK(list.uidnext() == 4u);
  CHECK(list.highestmodseq() == 3u);
  CHECK(*list.base_of(1) == "1700000001.M9P1Q0.h,S=1,W=1");
  CHECK(*list.base_of(2) == "1700000002.M4P1Q0.h,S=1,W=1");
  CHECK(*list.base_of(3) == "1700000002.M5P1Q0.h,S=1,W=1");
  CHECK(*list.file_of(2) == "cur/1700000002.M4P1Q0.h,S=1,W=1:2,S");

  // new/ → cur/ with flags: same UID; another process sees the same list.
  REQUIRE(::rename((md + "/new/1700000001.M9P1Q0.h,S=1,W=1").c_str(),
                   (md + "/cur/1700000001.M9P1Q0.h,S=1,W=1:2,FS").c_str()) == 0);
  auto name = deliver(md, "d");
  REQUIRE(name.ok());
  UidList other(md);
  REQUIRE(other.sync().ok());
  CHECK(other.uidvalidity() == list.uidvalidity());
  CHECK(*other.uid_of("1700000001.M9P1Q0.h,S=1,W=1") == 1u);
  CHECK(*other.file_of(1) == "cur/1700000001.M9P1Q0.h,S=1,W=1:2,FS");
  CHECK(*other.uid_of(*name) == 4u);

  // A vanished file is no error: it is simply gone after the rescan.
  REQUIRE(::unlink((md + "/cur/1700000002.M4P1Q0.h,S=1,W=1:2,S").c_str()) == 0);
  REQUIRE(list.sync().ok());
  CHECK_FALSE(list.file_of(2).has_value());
  CHECK(*list.uid_of(*name) == 4u);  // read from the other process's append
  CHECK(list.uidnext() == 5u);

  // A folder that is gone is the caller's business.
  UidList nowhere(dir.path() + "/nowhere");
  auto st = nowhere.sync();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::kNotFound);
}

TEST_CASE("uidlist: a torn last line is ignored, then cut off by the next writer", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  REQUIRE(deliver(md, "a").ok());
  uint32_t validity;
  {
    UidList list(md);
    REQUIRE(list.sync().ok());
    validity = list.uidvalidity();
  }
  // A crash in the middle of an append.
  const std::string path = md + "/tern-uidlist";
  auto fd = tern::open_fd(path, O_WRONLY | O_APPEND);
  REQUIRE(fd.ok());
  REQUIRE(tern::write_all(fd->get(), std::string_view("A\t2\t2\t17000\0\0", 14)).ok());

  UidList list(md);
  REQUIRE(list.sync().ok());
  CHECK(list.uidvalidity() == validity);
  CHECK(list.uidnext() == 2u);
  auto b = deliver(md, "b");
  REQUIRE(b.ok());
  REQUIRE(list.sync().ok());
  CHECK(*list.uid_of(*b) == 2u);
  auto content = tern::read_file(path);
  REQUIRE(content.ok());
  CHECK(content->back() == '\n');
  CHECK(content->find('\0') == std::string::npos);
  UidList fresh(md);
  REQUIRE(fresh.sync().ok());
  CHECK(fresh.entries() == list.entries());
}

TEST_CASE("uidlist: a corrupt or deleted list is recreated with a higher UIDVALIDITY", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  REQUIRE(deliver(md, "a").ok());
  UidList list(md);
  REQUIRE(list.sync().ok());
  const uint32_t v1 = list.uidvalidity();
  dir.write("Maildir/tern-uidlist", kHeader + "garbage\n");
  REQUIRE(list.sync().ok());
  const uint32_t v2 = list.uidvalidity();
  CHECK(v2 > v1);
  CHECK(list.entries().size() == 1);
  REQUIRE(::unlink((md + "/tern-uidlist").c_str()) == 0);
  REQUIRE(list.sync().ok());
  CHECK(list.uidvalidity() > v2);
  CHECK(list.uidnext() == 2u);
}

TEST_CASE("uidlist: MODSEQ is raised under the lock, also under a lock the caller holds", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  UidList list(md);
  REQUIRE(list.sync().ok());
  auto m = list.next_modseq();
  REQUIRE(m.ok());
  CHECK(*m == 1u);
  {
    auto lock = lock_folder(md);
    REQUIRE(lock.ok());
    // A second lock (another process, or this one through another open
    // file description) waits, then gives up with kTemporary.
    UidList other(md);
    auto start = std::chrono::steady_clock::now();
    auto blocked = other.next_modseq();
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.error().code == Errc::kTemporary);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
    // The holder works through the overloads.
    auto m2 = list.next_modseq(*lock);
    REQUIRE(m2.ok());
    CHECK(*m2 == 2u);
    REQUIRE(deliver(md, "x").ok());
    REQUIRE(list.sync(*lock).ok());
    CHECK(list.uidnext() == 2u);
    CHECK(list.highestmodseq() == 3u);
  }
  UidList other(md);
  REQUIRE(other.sync().ok());
  CHECK(other.highestmodseq() == 3u);
  // Keyword records of lists written before keywords moved out still read.
  UidListState s = parse_all(kHeader + "K\t0\t$Junk\n");
  CHECK(s.keywords == std::vector<std::string>{"$Junk"});
  auto missing = lock_folder(dir.path() + "/nowhere");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Errc::kNotFound);
}

TEST_CASE("uidlist: concurrent deliverers and assigners in several processes never share a UID", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  constexpr int kProcs = 4;
  constexpr int kMessages = 40;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      UidList list(md);
      int rc = 0;
      for (int i = 0; i < kMessages && rc == 0; ++i) {
        auto name = deliver(md, "Subject: " + std::to_string(p) + "/" + std::to_string(i) + "\n\nx\n");
        if (!name.ok() || !list.sync().ok() || !list.uid_of(*name)) rc = 1;
        // Readers also move messages to cur/ as imapd does.
        if (rc == 0 && i % 3 == 0)
          ::rename((md + "/new/" + *name).c_str(), (md + "/cur/" + *name + ":2,S").c_str());
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

  // The file itself: UIDs strictly growing in list order, none twice.
  auto content = tern::read_file(md + "/tern-uidlist");
  REQUIRE(content.ok());
  UidListState s = parse_all(*content);
  CHECK(s.entries.size() == kProcs * kMessages);
  uint32_t prev = 0;
  std::set<uint32_t> seen;
  size_t pos = content->find('\n') + 1;
  while (pos < content->size()) {
    size_t nl = content->find('\n', pos);
    auto fields = tern::split(std::string_view(*content).substr(pos, nl - pos), '\t');
    pos = nl + 1;
    if (fields[0] != "A") continue;
    uint32_t uid = static_cast<uint32_t>(std::stoul(std::string(fields[1])));
    CHECK(uid > prev);
    CHECK(seen.insert(uid).second);
    prev = uid;
  }
  // Every file has exactly one UID.
  UidList list(md);
  REQUIRE(list.sync().ok());
  CHECK(list.entries().size() == kProcs * kMessages);
  size_t files = dir.files("Maildir/new").size() + dir.files("Maildir/cur").size();
  CHECK(files == kProcs * kMessages);
  std::set<std::string> bases;
  for (const auto& [uid, e] : list.entries()) {
    CHECK(list.file_of(uid).has_value());
    CHECK(bases.insert(e.base).second);
  }
}
