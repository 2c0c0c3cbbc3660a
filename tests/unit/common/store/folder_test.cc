#include "common/store/folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "common/base/fd.h"
#include "common/store/maildir.h"
#include "common/store/message_file.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;

std::string maildir_in(const TempDir& dir) {
  REQUIRE(ensure_maildir(dir.path()).ok());
  return dir.path() + "/Maildir";
}

StoreResult store_one(Folder& f, uint32_t uid, FlagOp op, uint8_t system, uint32_t keywords = 0) {
  FlagChange c{uid, op, system, keywords};
  auto r = f.store(std::span<const FlagChange>(&c, 1));
  REQUIRE(r.ok());
  return *r;
}

// What a fresh process sees must equal what this one sees.
void same_view(const Folder& a, const std::string& md) {
  Folder b(md);
  REQUIRE(b.sync().ok());
  CHECK(b.uidvalidity() == a.uidvalidity());
  CHECK(b.highestmodseq() == a.highestmodseq());
  REQUIRE(b.messages().size() == a.messages().size());
  for (size_t i = 0; i < a.messages().size(); ++i) {
    const Message& x = a.messages()[i];
    const Message& y = b.messages()[i];
    CHECK(x.uid == y.uid);
    CHECK(x.file == y.file);
    CHECK(x.modseq == y.modseq);
    CHECK(x.flags == y.flags);
  }
}

}  // namespace

TEST_CASE("folder: sync lists messages with UIDs, sizes, dates and MODSEQ", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  auto a = deliver(md, "Subject: a\n\nhello\n");
  REQUIRE(a.ok());
  // Migrated mail: LF line ends, no S=/W=, already read.
  dir.write("Maildir/cur/1600000000.migrated.host:2,S", "Subject: b\n\nline\n");
  REQUIRE(::utimensat(AT_FDCWD, (md + "/cur/1600000000.migrated.host:2,S").c_str(),
                      std::array<timespec, 2>{timespec{1600000000, 0}, timespec{1600000000, 0}}.data(), 0) == 0);

  Folder f(md);
  REQUIRE(f.sync().ok());
  REQUIRE(f.messages().size() == 2);
  const Message& old = f.messages()[0];  // delivered first by its name's time
  CHECK(old.uid == 1u);
  CHECK(old.file == "cur/1600000000.migrated.host:2,S");
  CHECK(old.flags.has(kFlagSeen));
  CHECK(old.size == 17u);
  CHECK(old.rfc822_size == 20u);  // three LF counted as CRLF
  CHECK(old.internaldate == 1600000000);
  const Message& fresh = f.messages()[1];
  CHECK(fresh.uid == 2u);
  CHECK(fresh.file == "new/" + *a);
  CHECK(fresh.rfc822_size == fresh.size);
  CHECK(fresh.flags == MessageFlags{});
  // Sizes from its ,S=/,W= name: no stat until the date is asked.
  CHECK(fresh.internaldate == kDateUnknown);
  CHECK(std::abs(f.internaldate(fresh) - static_cast<int64_t>(::time(nullptr))) < 100);
  CHECK(f.messages()[1].internaldate == f.internaldate(fresh));
  CHECK(f.internaldate(old) == 1600000000);
  {
    // The date asked once stays known through the next sync.
    const int64_t date = f.messages()[1].internaldate;
    Folder g(md);
    REQUIRE(g.sync().ok());
    CHECK(g.messages()[1].internaldate == kDateUnknown);
    (void)g.internaldate(g.messages()[1]);
    REQUIRE(g.sync().ok());
    CHECK(g.messages()[1].internaldate == date);
  }
  CHECK(f.highestmodseq() >= old.modseq);
  CHECK(f.highestmodseq() >= fresh.modseq);
  CHECK(f.find(2) == &f.messages()[1]);
  CHECK(f.find(3) == nullptr);
  same_view(f, md);

  // A second sync with nothing new changes nothing, not even the files.
  struct stat before, after;
  REQUIRE(::stat((md + "/tern-index").c_str(), &before) == 0);
  const uint64_t h = f.highestmodseq();
  REQUIRE(f.sync().ok());
  REQUIRE(::stat((md + "/tern-index").c_str(), &after) == 0);
  CHECK(f.highestmodseq() == h);
  CHECK(after.st_size == before.st_size);
  CHECK(after.st_ino == before.st_ino);

  // New mail shows up with the MODSEQ its UID got.
  auto c = deliver(md, "Subject: c\n\n");
  REQUIRE(c.ok());
  REQUIRE(f.sync().ok());
  REQUIRE(f.messages().size() == 3);
  CHECK(f.messages()[2].uid == 3u);
  CHECK(f.messages()[2].modseq == f.highestmodseq());
  same_view(f, md);

  Folder gone(dir.path() + "/nowhere");
  auto st = gone.sync();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::kNotFound);
}

TEST_CASE("folder: store renames files, raises MODSEQ and keeps what it does not own", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  REQUIRE(deliver(md, "a").ok());
  REQUIRE(deliver(md, "b").ok());
  dir.write("Maildir/cur/1600000000.other.host:2,PSz", "c");  // P and a letter without a name
  Folder f(md);
  REQUIRE(f.sync().ok());
  REQUIRE(f.messages().size() == 3);
  const uint64_t h0 = f.highestmodseq();

  // The foreign file is the oldest: UID 1; the deliveries are 2 and 3.
  CHECK(f.find(1)->file == "cur/1600000000.other.host:2,PSz");

  // +FLAGS (\Seen) on a message in new/: moved to cur/ with ":2,S".
  StoreResult r = store_one(f, 2, FlagOp::kAdd, kFlagSeen);
  CHECK(r.modseq == h0 + 1);
  CHECK(r.changed == std::vector<uint32_t>{2});
  CHECK(r.gone.empty());
  const Message* m = f.find(2);
  REQUIRE(m);
  CHECK(m->file.substr(0, 4) == "cur/");
  CHECK(m->file.substr(m->file.size() - 4) == ":2,S");
  CHECK(m->modseq == h0 + 1);
  CHECK(f.highestmodseq() == h0 + 1);
  CHECK(::access((md + "/" + m->file).c_str(), F_OK) == 0);
  same_view(f, md);

  // The same again: nothing changes, no MODSEQ.
  r = store_one(f, 2, FlagOp::kAdd, kFlagSeen);
  CHECK(r.modseq == 0u);
  CHECK(r.changed.empty());
  CHECK(f.highestmodseq() == h0 + 1);

  // Keywords: a name gets a letter, durably, before any file uses it.
  auto junk = f.keyword("$Junk");
  REQUIRE(junk.ok());
  CHECK(*junk == 0u);
  auto again = f.keyword("$junk");
  REQUIRE(again.ok());
  CHECK(*again == 0u);
  r = store_one(f, 3, FlagOp::kReplace, kFlagFlagged | kFlagAnswered, 1u << *junk);
  CHECK(r.changed == std::vector<uint32_t>{3});
  CHECK(f.find(3)->file.substr(f.find(3)->file.size() - 6) == ":2,FRa");
  CHECK(f.keywords_of(*f.find(3)) == std::vector<std::string>{"$Junk"});

  // FLAGS replace on the foreign file keeps P and the unnamed z.
  const Message* foreign = f.find(1);
  REQUIRE(foreign);
  CHECK(f.keywords_of(*foreign).empty());
  r = store_one(f, 1, FlagOp::kReplace, kFlagDeleted, 1u << *junk);
  CHECK(f.find(1)->file == "cur/1600000000.other.host:2,PTaz");
  r = store_one(f, 1, FlagOp::kRemove, kFlagDeleted, 1u << *junk);
  CHECK(f.find(1)->file == "cur/1600000000.other.host:2,Pz");
  // Bits of letters without a name are ignored in a change.
  r = store_one(f, 1, FlagOp::kAdd, 0, 1u << 5);
  CHECK(r.changed.empty());

  // Several changes at once share one MODSEQ; unknown UIDs are gone.
  const uint64_t h1 = f.highestmodseq();
  std::vector<FlagChange> batch = {{1, FlagOp::kAdd, kFlagSeen, 0},
                                   {2, FlagOp::kAdd, kFlagDeleted, 0},
                                   {2, FlagOp::kRemove, kFlagSeen, 0},
                                   {77, FlagOp::kAdd, kFlagSeen, 0}};
  auto rb = f.store(batch);
  REQUIRE(rb.ok());
  CHECK(rb->modseq == h1 + 1);
  CHECK(rb->changed == std::vector<uint32_t>{1, 2});
  CHECK(rb->gone == std::vector<uint32_t>{77});
  CHECK(f.find(1)->modseq == h1 + 1);
  CHECK(f.find(2)->modseq == h1 + 1);
  CHECK(f.find(2)->flags.system == kFlagDeleted);
  same_view(f, md);
}

TEST_CASE("folder: changes by other programs are seen with a new MODSEQ, store copes with them", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  REQUIRE(deliver(md, "a").ok());
  REQUIRE(deliver(md, "b").ok());
  REQUIRE(deliver(md, "c").ok());
  Folder f(md);
  REQUIRE(f.sync().ok());
  const uint64_t h0 = f.highestmodseq();
  const std::string one = f.find(1)->base;
  const std::string two = f.find(2)->base;
  const std::string three = f.find(3)->base;

  // mutt marks 1 read and flagged; 3 is removed.
  REQUIRE(::rename((md + "/new/" + one).c_str(), (md + "/cur/" + one + ":2,FS").c_str()) == 0);
  REQUIRE(::unlink((md + "/new/" + three).c_str()) == 0);
  REQUIRE(f.sync().ok());
  REQUIRE(f.messages().size() == 2);
  CHECK(f.find(1)->flags.system == (kFlagFlagged | kFlagSeen));
  CHECK(f.find(1)->modseq == h0 + 1);
  CHECK(f.find(2)->modseq <= h0);
  CHECK(f.find(3) == nullptr);
  CHECK(f.highestmodseq() == h0 + 1);
  same_view(f, md);

  // Another program renames 2 behind our back, then we store on it: found
  // again by a rescan, its flags and ours combined.
  REQUIRE(::rename((md + "/new/" + two).c_str(), (md + "/cur/" + two + ":2,D").c_str()) == 0);
  StoreResult r = store_one(f, 2, FlagOp::kAdd, kFlagSeen);
  CHECK(r.changed == std::vector<uint32_t>{2});
  CHECK(f.find(2)->file == "cur/" + two + ":2,DS");
  // Removed behind our back: reported gone.
  REQUIRE(::unlink((md + "/cur/" + one + ":2,FS").c_str()) == 0);
  r = store_one(f, 1, FlagOp::kAdd, kFlagDeleted);
  CHECK(r.gone == std::vector<uint32_t>{1});
  CHECK(r.changed.empty());
  REQUIRE(f.sync().ok());
  CHECK(f.messages().size() == 1);
  same_view(f, md);
}

TEST_CASE("folder: a damaged, lost or stale index is rebuilt above every old MODSEQ, keeping UIDs", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  for (int i = 0; i < 4; ++i) REQUIRE(deliver(md, "m" + std::to_string(i)).ok());
  Folder f(md);
  REQUIRE(f.sync().ok());
  store_one(f, 2, FlagOp::kAdd, kFlagSeen);
  const std::string envelope = "(NIL \"subject\" NIL NIL NIL NIL NIL NIL NIL NIL)";
  std::vector<CacheFill> fills = {{1, CacheField::kEnvelope, envelope}, {99, CacheField::kEnvelope, "x"}};
  REQUIRE(f.cache(fills).ok());
  CHECK(*f.cached(1, CacheField::kEnvelope) == envelope);
  CHECK(f.cached(1, CacheField::kBodyStructure) == nullptr);
  CHECK(f.cached(99, CacheField::kEnvelope) == nullptr);
  {
    Folder other(md);
    REQUIRE(other.sync().ok());
    REQUIRE(other.cached(1, CacheField::kEnvelope));
    CHECK(*other.cached(1, CacheField::kEnvelope) == envelope);
  }
  std::map<uint32_t, std::string> uids;
  for (const Message& m : f.messages()) uids[m.uid] = m.base;
  auto content = tern::read_file(md + "/tern-index");
  REQUIRE(content.ok());
  const std::string good = *content;

  auto check_rebuilt = [&](uint64_t old_highest, bool cache_kept) {
    Folder g(md);
    REQUIRE(g.sync().ok());
    CHECK(g.highestmodseq() > old_highest);
    REQUIRE(g.messages().size() == uids.size());
    for (const Message& m : g.messages()) {
      CHECK(uids.at(m.uid) == m.base);
      CHECK(m.modseq == g.highestmodseq());
    }
    CHECK(g.find(2)->flags.has(kFlagSeen));
    CHECK((g.cached(1, CacheField::kEnvelope) != nullptr) == cache_kept);
    return g.highestmodseq();
  };

  uint64_t h = f.highestmodseq();
  SECTION("garbage") {
    dir.write("Maildir/tern-index", "garbage");
    check_rebuilt(h, false);
  }
  SECTION("truncated") {
    dir.write("Maildir/tern-index", good.substr(0, 30));
    check_rebuilt(h, false);
  }
  SECTION("deleted") {
    REQUIRE(::unlink((md + "/tern-index").c_str()) == 0);
    check_rebuilt(h, false);
  }
  SECTION("a bit flipped in the snapshot") {
    std::string bad = good;
    bad[60] = static_cast<char>(bad[60] ^ 1);
    dir.write("Maildir/tern-index", bad);
    check_rebuilt(h, false);
  }
  SECTION("another version") {
    std::string bad = good;
    bad[8] = 2;
    dir.write("Maildir/tern-index", bad);
    check_rebuilt(h, false);
  }
  SECTION("a change whose index append was lost") {
    // A MODSEQ handed out (durable in the UID list) that the index never
    // recorded, as after a crash between the two: rebuilt, cache kept.
    UidList list(md);
    REQUIRE(list.sync().ok());
    REQUIRE(list.next_modseq().ok());
    h = check_rebuilt(h + 1, true);
    // And the rebuilt index is used as it is from then on.
    Folder g(md);
    REQUIRE(g.sync().ok());
    CHECK(g.highestmodseq() == h);
  }
  SECTION("an index of another UIDVALIDITY") {
    // The UID list recreated (corrupt): every UID is new, so is the index.
    auto list = tern::read_file(md + "/tern-uidlist");
    REQUIRE(list.ok());
    dir.write("Maildir/tern-uidlist", *list + "garbage\n");
    Folder g(md);
    REQUIRE(g.sync().ok());
    CHECK(g.uidvalidity() != f.uidvalidity());
    CHECK(g.messages().size() == uids.size());
    CHECK(g.cached(1, CacheField::kEnvelope) == nullptr);
  }
  // The first folder object notices too, on its next sync.
  REQUIRE(f.sync().ok());
  same_view(f, md);
}

TEST_CASE("folder: expunge removes files with one new MODSEQ, gone ones reported", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  for (int i = 0; i < 4; ++i) REQUIRE(deliver(md, "m" + std::to_string(i)).ok());
  Folder f(md);
  REQUIRE(f.sync().ok());
  store_one(f, 2, FlagOp::kAdd, kFlagDeleted);
  const std::string three = f.find(3)->base;
  const uint64_t h = f.highestmodseq();
  // 3 is moved by another program first, 4 removed by one.
  REQUIRE(::rename((md + "/new/" + three).c_str(), (md + "/cur/" + three + ":2,T").c_str()) == 0);
  REQUIRE(::unlink((md + "/" + f.find(4)->file).c_str()) == 0);
  std::vector<uint32_t> uids = {2, 3, 4, 2, 50};
  auto r = f.expunge(uids);
  REQUIRE(r.ok());
  CHECK(r->changed == std::vector<uint32_t>{2, 3});
  CHECK(r->gone == std::vector<uint32_t>{4, 50});
  CHECK(r->modseq == h + 1);
  CHECK(f.highestmodseq() == h + 1);
  REQUIRE(f.messages().size() == 2);  // 4 is still listed until the next sync notices
  REQUIRE(f.sync().ok());
  REQUIRE(f.messages().size() == 1);
  CHECK(f.messages()[0].uid == 1u);
  CHECK(f.uid_of(f.messages()[0].base) == 1u);
  CHECK(dir.files("Maildir/cur").empty());
  same_view(f, md);
}

TEST_CASE("folder: a cached value past the bound is refused", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  REQUIRE(deliver(md, "a").ok());
  Folder f(md);
  REQUIRE(f.sync().ok());
  std::vector<CacheFill> fills = {{1, CacheField::kHeader, std::string(kMaxCacheValue + 1, 'x')}};
  auto st = f.cache(fills);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::kLimit);
}

TEST_CASE("folder: processes delivering, syncing and storing at once agree on one view", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  constexpr int kProcs = 4;
  constexpr int kRounds = 25;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      Folder f(md);
      int rc = 0;
      for (int i = 0; i < kRounds && rc == 0; ++i) {
        if (!deliver(md, "Subject: " + std::to_string(p) + "/" + std::to_string(i) + "\n\nx\n").ok()) rc = 1;
        if (rc == 0 && !f.sync().ok()) rc = 2;
        if (rc == 0 && !f.messages().empty()) {
          // Flag a message somebody else delivered, as concurrent clients do.
          const Message& m = f.messages()[static_cast<size_t>(i * 7 + p) % f.messages().size()];
          FlagChange c{m.uid, (i % 2) ? FlagOp::kAdd : FlagOp::kRemove, kFlagSeen, 0};
          if (!f.store(std::span<const FlagChange>(&c, 1)).ok()) rc = 3;
        }
        if (rc == 0 && i == kRounds / 2) {
          std::vector<CacheFill> fills = {{f.messages()[0].uid, CacheField::kEnvelope, "env"}};
          if (!f.cache(fills).ok()) rc = 4;
        }
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (pid_t pid : kids) {
    int status = 0;
    pid_t got = 0;
    while ((got = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (got == 0) ::kill(pid, SIGKILL), ::waitpid(pid, &status, 0);
    CHECK(got == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }

  Folder f(md);
  REQUIRE(f.sync().ok());
  CHECK(f.messages().size() == kProcs * kRounds);
  std::set<std::string> bases;
  uint32_t prev = 0;
  for (const Message& m : f.messages()) {
    CHECK(m.uid > prev);
    prev = m.uid;
    CHECK(bases.insert(m.base).second);
    CHECK(m.modseq <= f.highestmodseq());
    // The view says what the file name says.
    CHECK(::access((md + "/" + m.file).c_str(), F_OK) == 0);
  }
  CHECK(f.cached(f.messages()[0].uid, CacheField::kEnvelope) != nullptr);
  // Nobody lost an index append: a second reader agrees without a rebuild.
  const uint64_t h = f.highestmodseq();
  same_view(f, md);
  REQUIRE(f.sync().ok());
  CHECK(f.highestmodseq() == h);
}

namespace {

// Sets a directory's mtime `ago` seconds back (what time does to a folder
// nobody touches).
void age(const std::string& path, int ago, long nsec = 0) {
  // One "now" for the whole test: two calls with the same arguments must
  // give the same mtime even when a second ticks between them (a slow
  // ASan run did, and the stamp check then rightly scanned again).
  static const time_t now = ::time(nullptr);
  const timespec t{now - ago, nsec};
  const std::array<timespec, 2> times{t, t};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times.data(), 0) == 0);
}

std::optional<ScanStamp> stamp_of(const std::string& folder) {
  Index index(folder);
  REQUIRE(index.refresh().ok());
  REQUIRE(index.valid());
  return index.state().scan;
}

}  // namespace

TEST_CASE("folder: a sync of an unchanged folder skips the directory scans", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  for (int i = 0; i < 3; ++i) REQUIRE(deliver(md, "Subject: x\n\nbody\n").ok());
  dir.write("Maildir/cur/1600000000.old.host:2,S", "Subject: old\n\n");

  // Just delivered: within the dirty window, nothing is stamped.
  {
    Folder f(md);
    REQUIRE(f.sync().ok());
    CHECK(f.messages().size() == 4);
  }
  CHECK_FALSE(stamp_of(md).has_value());

  // Settled: the next sync scans once and stamps; later ones trust it.
  age(md + "/new", 60, 111);
  age(md + "/cur", 30, 222);
  {
    Folder f(md);
    REQUIRE(f.sync().ok());
    CHECK(f.messages().size() == 4);
  }
  auto stamp = stamp_of(md);
  REQUIRE(stamp.has_value());
  CHECK(stamp->new_nsec == 111u);
  CHECK(stamp->cur_nsec == 222u);
  struct stat list;
  REQUIRE(::stat((md + "/tern-uidlist").c_str(), &list) == 0);
  CHECK(stamp->uidlist_bytes == static_cast<uint64_t>(list.st_size));

  // Proof that the scan is skipped: a file slipped into cur/ behind the
  // stamp's back (its mtime set back to the stamped one) is not seen...
  dir.write("Maildir/cur/1600000001.sneaky.host:2,", "Subject: sneaky\n\n");
  age(md + "/cur", 30, 222);
  {
    Folder f(md);
    REQUIRE(f.sync().ok());
    CHECK(f.messages().size() == 4);
  }
  // ...and one nanosecond of difference is enough to look again.
  age(md + "/cur", 30, 223);
  {
    Folder f(md);
    REQUIRE(f.sync().ok());
    CHECK(f.messages().size() == 5);
  }
  // That scan found a new file: the frame recording it stamps again (the
  // directories were settled at the stat before the scan).
  REQUIRE(stamp_of(md).has_value());
  CHECK(stamp_of(md)->cur_nsec == 223u);

  // A delivery changes new/: seen at once, no stamp while it is fresh.
  auto d = deliver(md, "Subject: new\n\n");
  REQUIRE(d.ok());
  {
    Folder f(md);
    REQUIRE(f.sync().ok());
    CHECK(f.messages().size() == 6);
    CHECK(f.uid_of(*d).has_value());
  }
  CHECK_FALSE(stamp_of(md).has_value());
}

TEST_CASE("folder: flag changes, expunges and UID list changes invalidate the fast path", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  for (int i = 0; i < 3; ++i) REQUIRE(deliver(md, "Subject: x\n\nbody\n").ok());
  age(md + "/new", 60);
  age(md + "/cur", 60);
  Folder f(md);
  REQUIRE(f.sync().ok());
  REQUIRE(stamp_of(md).has_value());

  // Our own STORE: the stamp goes with the flags record.
  store_one(f, 1, FlagOp::kAdd, kFlagSeen);
  CHECK_FALSE(stamp_of(md).has_value());
  age(md + "/new", 60);
  age(md + "/cur", 60);
  REQUIRE(f.sync().ok());
  REQUIRE(stamp_of(md).has_value());
  same_view(f, md);

  // An EXPUNGE clears the stamp.
  auto r = f.expunge(std::vector<uint32_t>{2});
  REQUIRE(r.ok());
  CHECK(r->changed == std::vector<uint32_t>{2});
  CHECK_FALSE(stamp_of(md).has_value());
  age(md + "/new", 60);
  age(md + "/cur", 60);
  REQUIRE(f.sync().ok());
  REQUIRE(stamp_of(md).has_value());

  // A MODSEQ handed out by another process (its index append lost): the
  // UID list grew, so the fast path is off and the index is rebuilt above
  // it.
  UidList other(md);
  REQUIRE(other.sync().ok());
  auto m = other.next_modseq();
  REQUIRE(m.ok());
  Folder g(md);
  REQUIRE(g.sync().ok());
  CHECK(g.highestmodseq() > *m);
  for (const Message& msg : g.messages()) CHECK(msg.modseq == g.highestmodseq());
  same_view(g, md);
}

TEST_CASE("folder: the journal of own changes lists every rename, unlink and UID list append once", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  auto a = deliver(md, "Subject: a\r\n\r\nx\r\n");
  REQUIRE(a.ok());
  Folder f(md);
  REQUIRE(f.sync().ok());  // creates the list (not journalled), appends UID 1 and a MODSEQ
  using W = OwnChange::Where;
  using K = OwnChange::Kind;
  const OwnChange uidlist{W::kFolder, K::kModified, std::string(kUidListName)};
  auto first = f.take_own_changes();
  CHECK(first.complete);
  CHECK(first.changes == std::vector<OwnChange>{uidlist, uidlist});
  CHECK(f.take_own_changes().changes.empty());

  store_one(f, 1, FlagOp::kAdd, kFlagSeen);  // new/ -> cur/, one MODSEQ
  auto stored = f.take_own_changes();
  CHECK(stored.changes == std::vector<OwnChange>{{W::kNew, K::kRemoved, *a},
                                                 {W::kCur, K::kAdded, *a + ":2,S"},
                                                 uidlist});
  store_one(f, 1, FlagOp::kAdd, kFlagSeen);  // nothing to do: nothing done
  CHECK(f.take_own_changes().changes.empty());

  const uint32_t one = 1;
  REQUIRE(f.expunge(std::span<const uint32_t>(&one, 1)).ok());
  CHECK(f.take_own_changes().changes == std::vector<OwnChange>{{W::kCur, K::kRemoved, *a + ":2,S"}, uidlist});
}

TEST_CASE("folder: a batch past kMaxOwnChanges leaves the journal incomplete", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  Folder f(md);
  for (size_t i = 0; i <= kMaxOwnChanges; ++i) f.own_change(OwnChange::Where::kNew, OwnChange::Kind::kAdded, "x");
  auto j = f.take_own_changes();
  CHECK_FALSE(j.complete);
  CHECK(j.changes.empty());
  CHECK(f.take_own_changes().complete);
}

TEST_CASE("folder: add gives our own new files UIDs without a scan, and agrees with a later sync", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  REQUIRE(deliver(md, "Subject: a\r\n\r\nx\r\n").ok());
  Folder f(md);
  REQUIRE(f.sync().ok());
  REQUIRE(f.messages().size() == 1);
  const uint64_t syncs = f.sync_count();
  (void)f.take_own_changes();

  // A delivery from elsewhere that nobody has numbered yet, then our file
  // straight into cur/ with its flags.
  auto other = deliver(md, "Subject: b\r\n\r\ny\r\n");
  REQUIRE(other.ok());
  auto w = MessageWriter::create(md);
  REQUIRE(w.ok());
  REQUIRE(w->write("Subject: mine\r\n\r\nz\r\n").ok());
  auto name = w->commit_into_cur("FS");
  REQUIRE(name.ok());
  const std::string file = "cur/" + *name;
  REQUIRE(f.add(std::span<const std::string>(&file, 1)).ok());
  CHECK(f.sync_count() == syncs);  // no scan
  REQUIRE(f.messages().size() == 2);
  const Message& m = f.messages().back();
  CHECK(m.uid == 2);
  CHECK(m.file == file);
  CHECK(m.flags.system == (kFlagSeen | kFlagFlagged));
  CHECK(m.modseq == f.highestmodseq());
  CHECK(f.uid_of(parse_message_name(*name)->base) == 2u);
  CHECK(f.take_own_changes().changes.size() == 1);  // one UID list append

  // The other delivery shows at the next sync, after ours.
  REQUIRE(f.sync().ok());
  REQUIRE(f.messages().size() == 3);
  CHECK(f.messages()[2].uid == 3);
  CHECK(f.messages()[2].file == "new/" + *other);
  same_view(f, md);

  // An index that does not cover every UID given: add() is a sync().
  Folder g(md);
  REQUIRE(g.sync().ok());
  REQUIRE(deliver(md, "Subject: c\r\n\r\nw\r\n").ok());
  REQUIRE(f.sync().ok());  // numbers it and indexes it
  auto w2 = MessageWriter::create(md);
  REQUIRE(w2.ok());
  REQUIRE(w2->write("Subject: mine too\r\n\r\nv\r\n").ok());
  auto name2 = w2->commit();
  REQUIRE(name2.ok());
  const std::string file2 = "new/" + *name2;
  REQUIRE(g.add(std::span<const std::string>(&file2, 1)).ok());
  REQUIRE(g.messages().size() == 5);
  CHECK(g.messages()[4].file == file2);
  same_view(g, md);
}

TEST_CASE("folder: the view after our own store, expunge, add and cache equals a fresh reader's", "[store]") {
  TempDir dir;
  const std::string md = maildir_in(dir);
  for (int i = 0; i < 5; ++i) REQUIRE(deliver(md, "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n").ok());
  Folder f(md);
  REQUIRE(f.sync().ok());
  store_one(f, 2, FlagOp::kAdd, kFlagSeen);
  same_view(f, md);
  CacheFill fill{3, CacheField::kEnvelope, "(NIL)"};
  REQUIRE(f.cache(std::span<const CacheFill>(&fill, 1)).ok());
  store_one(f, 3, FlagOp::kAdd, kFlagDeleted);
  same_view(f, md);
  REQUIRE(f.cached(3, CacheField::kEnvelope));
  const uint32_t three = 3;
  REQUIRE(f.expunge(std::span<const uint32_t>(&three, 1)).ok());
  same_view(f, md);
  auto w = MessageWriter::create(md);
  REQUIRE(w.ok());
  REQUIRE(w->write("Subject: mine\r\n\r\nz\r\n").ok());
  auto name = w->commit();
  REQUIRE(name.ok());
  const std::string file = "new/" + *name;
  REQUIRE(f.add(std::span<const std::string>(&file, 1)).ok());
  same_view(f, md);
  // Another process's change, then ours: both show.
  Folder g(md);
  REQUIRE(g.sync().ok());
  store_one(g, 1, FlagOp::kAdd, kFlagFlagged);
  store_one(f, 4, FlagOp::kAdd, kFlagAnswered);
  same_view(f, md);
  CHECK(f.find(1)->flags.system == kFlagFlagged);
  CHECK(f.find(4)->flags.system == kFlagAnswered);
  REQUIRE(f.messages().size() == 5);
  CHECK(f.messages().back().uid == 6);
}
