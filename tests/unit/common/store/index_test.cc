#include "common/store/index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/base/fd.h"
#include "common/store/maildir.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;

IndexEntry entry(uint32_t uid, uint64_t modseq) {
  IndexEntry e;
  e.uid = uid;
  e.modseq = modseq;
  e.internaldate = 1700000000 + uid;
  e.size = 100 + uid;
  e.rfc822_size = 104 + uid;
  e.base = "1700000000.M" + std::to_string(uid) + "P1Q0.h,S=5,W=5";
  return e;
}

IndexState sample() {
  IndexState s;
  s.uidvalidity = 1700000000;
  s.covered = 9;
  s.entries[1] = entry(1, 3);
  IndexEntry e = entry(4, 9);
  e.in_cur = true;
  e.has_info = true;
  e.info = "FSa";
  e.cache[0] = "(\"Mon, 1 Jan 2024\" \"hi\" NIL)";
  e.cache[3] = std::string("Subject: hi\r\n\0\xff", 15);
  e.cached = 0b1001;
  s.entries[4] = e;
  IndexEntry empty_cached = entry(7, 2);
  empty_cached.cached = 0b10;  // an empty value is cached, not absent
  s.entries[7] = empty_cached;
  return s;
}

uint32_t crc_of(std::string_view s) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}
void put32(std::string& f, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t get64(const std::string& f, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(f[at + i])} << (8 * i);
  return v;
}
// Recomputes both checksums, so a test can damage the content behind them.
std::string reseal(std::string f) {
  const uint64_t length = get64(f, 32);
  put32(f, 40, crc_of(std::string_view(f).substr(48, length)));
  put32(f, 44, crc_of(std::string_view(f).substr(0, 44)));
  return f;
}

}  // namespace

TEST_CASE("index: a state formats and parses back, frames apply in order", "[store]") {
  const IndexState s = sample();
  const std::string file = format_index(s);
  IndexState back;
  auto used = parse_index(file, back);
  REQUIRE(used.ok());
  CHECK(*used == file.size());
  CHECK(back == s);
  CHECK(back.entries.at(4).file() == "cur/1700000000.M4P1Q0.h,S=5,W=5:2,FSa");
  CHECK(back.entries.at(1).file() == "new/1700000000.M1P1Q0.h,S=5,W=5");

  IndexFrame f1;
  f1.flags(1, 10, true, true, "S");
  f1.cache(1, CacheField::kBodyStructure, "(\"text\" \"plain\")");
  f1.expunge(7);
  IndexFrame f2;
  f2.message(entry(9, 11));
  f2.flags(9, 12, true, true, "");
  const std::string all = file + f1.finish(10) + f2.finish(12);
  IndexState applied;
  used = parse_index(all, applied);
  REQUIRE(used.ok());
  CHECK(*used == all.size());
  CHECK(applied.covered == 12u);
  CHECK(applied.entries.count(7) == 0);
  CHECK(applied.entries.at(1).modseq == 10u);
  CHECK(applied.entries.at(1).file() == "cur/1700000000.M1P1Q0.h,S=5,W=5:2,S");
  CHECK(applied.entries.at(1).cache[1] == "(\"text\" \"plain\")");
  CHECK(applied.entries.at(1).cached == 0b10);
  CHECK(applied.entries.at(9).file() == "cur/1700000000.M9P1Q0.h,S=5,W=5:2,");
  // A snapshot of the result reads as the same state.
  IndexState again;
  REQUIRE(parse_index(format_index(applied), again).ok());
  CHECK(again == applied);

  // A torn append (cut anywhere inside the last frame) is ignored.
  const std::string torn_frame = f2.finish(12);
  for (size_t cut : {size_t{1}, size_t{7}, size_t{8}, torn_frame.size() - 1}) {
    INFO(cut);
    IndexState t;
    used = parse_index(file + f1.finish(10) + torn_frame.substr(0, cut), t);
    REQUIRE(used.ok());
    CHECK(*used == file.size() + f1.finish(10).size());
    CHECK(t.covered == 10u);
  }
  // So is a frame whose checksum does not match (zeros from a crash).
  IndexState z;
  used = parse_index(file + std::string(64, '\0'), z);
  REQUIRE(used.ok());
  CHECK(*used == file.size());
}

TEST_CASE("index: every kind of damage makes the index absent", "[store]") {
  const std::string good = format_index(sample());
  auto with = [&](size_t at, char c) {
    std::string f = good;
    f[at] = c;
    return f;
  };
  // A frame with a good checksum but content that breaks the rules.
  auto framed = [&](uint64_t covered, std::string records, uint32_t count) {
    std::string payload;
    for (int i = 0; i < 8; ++i) payload += static_cast<char>((covered >> (8 * i)) & 0xff);
    for (int i = 0; i < 4; ++i) payload += static_cast<char>((count >> (8 * i)) & 0xff);
    payload += records;
    std::string out(8, '\0');
    put32(out, 0, static_cast<uint32_t>(payload.size()));
    put32(out, 4, crc_of(payload));
    return good + out + payload;
  };
  IndexFrame unknown_uid;
  unknown_uid.flags(99, 9, true, true, "S");
  IndexFrame past_covered;
  past_covered.flags(1, 50, true, true, "S");
  IndexFrame bad_info;
  bad_info.flags(1, 9, true, true, "a/b");
  IndexFrame bad_base;
  IndexEntry slash = entry(20, 9);
  slash.base = "x/y";
  bad_base.message(slash);
  std::string truncated_header = good.substr(0, 40);

  const std::pair<std::string, std::string> cases[] = {
      {"empty", ""},
      {"shorter than the header", truncated_header},
      {"bad magic", with(0, 'X')},
      {"another version", reseal(with(8, 2))},
      {"bad header size", reseal(with(12, 40))},
      {"header checksum", with(16, '\x01')},
      {"snapshot checksum", with(60, '\x7f')},
      {"snapshot cut short", good.substr(0, good.size() - 3)},
      {"record count too high", reseal(with(20, 9))},
      {"record count too low", reseal(with(20, 1))},
      {"UIDVALIDITY 0", reseal(good.substr(0, 16) + std::string(4, '\0') + good.substr(20))},
      {"record garbage", reseal(with(48, '\x09'))},
      {"covered below a record", reseal(with(24, 1))},
      {"frame for an unknown UID", good + unknown_uid.finish(9)},
      {"frame MODSEQ past its covered", good + past_covered.finish(9)},
      {"frame covered going down", good + IndexFrame().finish(3)},
      {"frame with a bad file name", good + bad_info.finish(9)},
      {"frame with a bad base", good + bad_base.finish(9)},
      {"frame with an unknown kind", framed(9, std::string("\x09\x01\x00\x00\x00", 5), 1)},
      {"frame with bytes after its records", framed(9, "junk", 0)},
      {"frame with fewer records than counted", framed(9, "", 3)},
      {"frame with an absurd string length", framed(9, std::string("\x03\x01\x00\x00\x00\x00\xff\xff\xff\xff", 10), 1)},
      {"garbage", std::string(4096, 'x')},
  };
  for (const auto& [what, file] : cases) {
    INFO(what);
    IndexState s;
    auto r = parse_index(file, s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kCorrupt);
  }
  // Garbage that merely follows a valid prefix of the right size is also
  // refused when it sits inside the snapshot's declared length.
  std::string big = good;
  big.replace(56, 8, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));
  IndexState s;
  CHECK_FALSE(parse_index(reseal(big.substr(0, 48)) + big.substr(48), s).ok());
}

TEST_CASE("index: the file is read incrementally, appended under the lock, torn tails cut, compacted", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  Index a(md);
  REQUIRE(a.refresh().ok());
  CHECK_FALSE(a.valid());
  auto lock = lock_folder(md);
  REQUIRE(lock.ok());
  IndexFrame none;
  CHECK_FALSE(a.append(none, 0, *lock).ok());  // nothing to append to
  REQUIRE(a.rewrite(sample(), *lock).ok());
  CHECK(a.valid());

  Index b(md);
  REQUIRE(b.refresh().ok());
  CHECK(b.valid());
  CHECK(b.state() == sample());

  IndexFrame f;
  f.flags(1, 10, true, true, "S");
  REQUIRE(a.append(f, 10, *lock).ok());
  REQUIRE(b.refresh().ok());
  CHECK(b.state() == a.state());
  CHECK(b.state().entries.at(1).info == "S");

  // A crash in the middle of an append: readers ignore it, the next
  // appender cuts it first.
  {
    auto fd = tern::open_fd(md + "/tern-index", O_WRONLY | O_APPEND);
    REQUIRE(fd.ok());
    REQUIRE(tern::write_all(fd->get(), std::string("\x40\x00\x00\x00garbage", 11)).ok());
  }
  Index c(md);
  REQUIRE(c.refresh().ok());
  CHECK(c.valid());
  CHECK(c.state() == a.state());
  IndexFrame g;
  g.cache(4, CacheField::kEnvelope, "env");
  REQUIRE(c.append(g, 10, *lock).ok());
  REQUIRE(a.refresh().ok());
  CHECK(a.state().entries.at(4).cache[0] == "env");
  auto content = tern::read_file(md + "/tern-index");
  REQUIRE(content.ok());
  IndexState whole;
  auto used = parse_index(*content, whole);
  REQUIRE(used.ok());
  CHECK(*used == content->size());

  // Many appends: the file is rewritten with one snapshot now and then.
  struct stat before, after;
  REQUIRE(::stat((md + "/tern-index").c_str(), &before) == 0);
  const std::string big(20000, 'x');
  for (int i = 0; i < 10; ++i) {
    IndexFrame h;
    h.cache(4, CacheField::kHeader, big + std::to_string(i));
    REQUIRE(a.append(h, 10, *lock).ok());
  }
  REQUIRE(::stat((md + "/tern-index").c_str(), &after) == 0);
  CHECK(after.st_ino != before.st_ino);
  CHECK(after.st_size < 10 * 20000);
  REQUIRE(b.refresh().ok());
  CHECK(b.state() == a.state());
  CHECK(b.state().entries.at(4).cache[3] == big + "9");

  // Replaced by garbage: absent, and a rewrite makes it usable again.
  dir.write("Maildir/tern-index", "not an index");
  REQUIRE(b.refresh().ok());
  CHECK_FALSE(b.valid());
  CHECK(b.state().entries.empty());
}

TEST_CASE("index: a scan stamp survives snapshots and cache records, not file changes", "[store]") {
  const ScanStamp stamp{1700000000, 123456789, 42, 1700000001, 5, 43, 777};
  IndexState s = sample();
  s.scan = stamp;
  // A snapshot carries it in one frame after the records.
  const std::string file = format_index(s);
  CHECK(file.size() > format_index(sample()).size());
  IndexState back;
  REQUIRE(parse_index(file, back).ok());
  REQUIRE(back.scan.has_value());
  CHECK(*back.scan == stamp);
  CHECK(back == s);

  IndexFrame cache;
  cache.cache(1, CacheField::kEnvelope, "(NIL)");
  IndexState c;
  REQUIRE(parse_index(file + cache.finish(s.covered), c).ok());
  CHECK(c.scan == stamp);

  IndexFrame change;
  change.flags(1, s.covered, true, true, "S");
  IndexState f;
  REQUIRE(parse_index(file + change.finish(s.covered), f).ok());
  CHECK_FALSE(f.scan.has_value());
  // A stamp written after the change in the same frame holds.
  change.scan(stamp);
  IndexState g;
  REQUIRE(parse_index(file + change.finish(s.covered), g).ok());
  CHECK(g.scan == stamp);

  IndexFrame gone;
  gone.expunge(1);
  IndexState h;
  REQUIRE(parse_index(file + gone.finish(s.covered), h).ok());
  CHECK_FALSE(h.scan.has_value());
  IndexFrame added;
  added.message(entry(20, s.covered));
  IndexState i;
  REQUIRE(parse_index(file + added.finish(s.covered), i).ok());
  CHECK_FALSE(i.scan.has_value());
}
