#include "common/store/maildirsize.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/base/fd.h"
#include "common/store/maildir.h"
#include "common/store/message_file.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;

QuotaLimit rules(std::initializer_list<const char*> list) {
  QuotaLimit l;
  for (const char* r : list) REQUIRE(apply_quota_rule(r, l).ok());
  return l;
}

}  // namespace

TEST_CASE("maildirsize: Dovecot quota rules with units", "[store]") {
  CHECK(rules({"*:storage=1G"}) == QuotaLimit{1ULL << 30, 0});
  CHECK(rules({"*:storage=100"}) == QuotaLimit{100 * 1024, 0});  // kilobytes by default
  CHECK(rules({"*:storage=10MB"}) == QuotaLimit{10ULL << 20, 0});
  CHECK(rules({"*:storage=512B"}) == QuotaLimit{512, 0});
  CHECK(rules({"*:storage=2T"}) == QuotaLimit{2ULL << 40, 0});
  CHECK(rules({"*:bytes=1000"}) == QuotaLimit{1000, 0});
  CHECK(rules({"*:messages=1000"}) == QuotaLimit{0, 1000});
  CHECK(rules({"*:storage=1G:messages=10"}) == QuotaLimit{1ULL << 30, 10});
  CHECK(rules({"*:storage=1G", "*:messages=5", "*:storage=2k"}) == QuotaLimit{2048, 5});
  CHECK(rules({"*:storage=0"}).unlimited());
  for (const char* bad : {"storage=1G", "Trash:storage=+100M", "*:storage=10%", "*:storage=1X", "*:storage=",
                          "*:messages=1k", "*:ignore", "*:storage=99999999999999999999", "*:storage=-1", "*"}) {
    INFO(bad);
    QuotaLimit l{7, 7};
    CHECK_FALSE(apply_quota_rule(bad, l).ok());
    CHECK(l == QuotaLimit{7, 7});  // untouched
  }
}

TEST_CASE("maildirsize: the file format parses and refuses what it must", "[store]") {
  CHECK(format_quota_definition({1000, 10}) == "1000S,10C");
  CHECK(format_quota_definition({1000, 0}) == "1000S");
  CHECK(format_quota_definition({0, 10}) == "10C");
  CHECK(format_quota_definition({}).empty());

  auto f = parse_maildirsize("1000S,10C\n300 3\n50 1\n-20 -1\n");
  REQUIRE(f.ok());
  CHECK(f->limit == QuotaLimit{1000, 10});
  CHECK(f->usage == QuotaUsage{330, 3});
  auto none = parse_maildirsize("\n0 0\n");
  REQUIRE(none.ok());
  CHECK(none->limit.unlimited());
  for (const char* bad : {"", "1000S\n300 3", "1000X\n", "1000S\n300\n", "1000S\nx 1\n", "1000S\n-5 0\n",
                          "S\n", "1000S\n99999999999999999 1\n"}) {
    INFO(bad);
    auto r = parse_maildirsize(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kCorrupt);
  }
}

TEST_CASE("maildirsize: usage is recalculated when missing and appended after", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  REQUIRE(deliver(md, "12345678").ok());
  REQUIRE(deliver(md + "/.Sent", "1234").ok());
  dir.write("Maildir/cur/1000.old.host:2,S", "abc");  // no S=: sized by stat
  const QuotaLimit limit{100, 10};

  auto u = read_usage(md, limit);
  REQUIRE(u.ok());
  CHECK(*u == QuotaUsage{15, 3});
  CHECK(*tern::read_file(md + "/maildirsize") == "100S,10C\n15 3\n");

  REQUIRE(add_usage(md, 20, 1).ok());
  REQUIRE(add_usage(md, -3, -1).ok());
  CHECK(*tern::read_file(md + "/maildirsize") == "100S,10C\n15 3\n20 1\n-3 -1\n");
  CHECK(*read_usage(md, limit) == QuotaUsage{32, 3});  // the file, not a scan

  // A new definition means a new scan.
  auto again = read_usage(md, QuotaLimit{200, 0});
  REQUIRE(again.ok());
  CHECK(*again == QuotaUsage{15, 3});
  CHECK(*tern::read_file(md + "/maildirsize") == "200S\n15 3\n");

  // A missing file is not created by an append.
  REQUIRE(::unlink((md + "/maildirsize").c_str()) == 0);
  REQUIRE(add_usage(md, 5, 1).ok());
  struct stat st;
  CHECK(::stat((md + "/maildirsize").c_str(), &st) < 0);
  CHECK(dir.files("Maildir/tmp").empty());
}

TEST_CASE("maildirsize: a file past 5120 bytes or with a torn line is recalculated", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  REQUIRE(deliver(md, "1234").ok());
  const QuotaLimit limit{1000, 0};
  REQUIRE(read_usage(md, limit).ok());
  for (int i = 0; i < 1500; ++i) REQUIRE(add_usage(md, 1, 0).ok());
  struct stat st;
  REQUIRE(::stat((md + "/maildirsize").c_str(), &st) == 0);
  REQUIRE(st.st_size > 5120);
  CHECK(*read_usage(md, limit) == QuotaUsage{4, 1});
  CHECK(*tern::read_file(md + "/maildirsize") == "1000S\n4 1\n");

  dir.write("Maildir/maildirsize", "1000S\n4 1\n77");
  CHECK(*read_usage(md, limit) == QuotaUsage{4, 1});
}

TEST_CASE("maildirsize: check_quota answers ok, over quota or too big", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  REQUIRE(deliver(md, std::string(60, 'x')).ok());
  const QuotaLimit limit{100, 3};
  CHECK(*check_quota(md, limit, 40) == QuotaVerdict::kOk);
  CHECK(*check_quota(md, limit, 41) == QuotaVerdict::kOverQuota);
  CHECK(*check_quota(md, limit, 101) == QuotaVerdict::kTooBig);
  // Several messages at once (imapd's COPY): the count is checked too.
  CHECK(*check_quota(md, limit, 30, 2) == QuotaVerdict::kOk);
  CHECK(*check_quota(md, limit, 30, 3) == QuotaVerdict::kOverQuota);
  CHECK(*check_quota(md, limit, 30, 4) == QuotaVerdict::kTooBig);
  REQUIRE(add_usage(md, 1, 1).ok());
  REQUIRE(add_usage(md, 1, 1).ok());
  CHECK(*check_quota(md, limit, 1) == QuotaVerdict::kOverQuota);  // 3 messages already
  CHECK(*check_quota(md, QuotaLimit{}, 1ULL << 40) == QuotaVerdict::kOk);

  // A stale file (older than 15 minutes) is rescanned before a refusal: the
  // two phantom messages above were never delivered.
  struct timeval old[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  REQUIRE(::utimes((md + "/maildirsize").c_str(), old) == 0);
  CHECK(*check_quota(md, limit, 1) == QuotaVerdict::kOk);
}

TEST_CASE("maildirsize: a user's quota_rule fields in order, else the default rule", "[store]") {
  std::map<std::string, std::string> none;
  auto unlimited = user_quota(none, "");
  REQUIRE(unlimited.ok());
  CHECK(unlimited->unlimited());

  auto dflt = user_quota(none, "*:storage=1G");
  REQUIRE(dflt.ok());
  CHECK(dflt->bytes == (1ULL << 30));
  CHECK(dflt->messages == 0);

  std::map<std::string, std::string> own = {{"home", "/x"}, {"quota_rule", "*:storage=10M"},
                                            {"quota_rule2", "*:messages=100"}};
  auto mine = user_quota(own, "*:storage=1G");
  REQUIRE(mine.ok());
  CHECK(mine->bytes == 10ULL << 20);
  CHECK(mine->messages == 100);

  std::map<std::string, std::string> bad = {{"quota_rule", "Trash:storage=10M"}};
  CHECK_FALSE(user_quota(bad, "").ok());
  CHECK_FALSE(user_quota(none, "*:storage=lots").ok());
}
