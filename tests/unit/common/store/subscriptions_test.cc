#include "common/store/subscriptions.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/store/maildir.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;
using Names = std::vector<std::string>;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("subscriptions: written in Dovecot's version 2 format", "[store]") {
  TempDir t;
  REQUIRE(ensure_maildir(t.path()).ok());
  const std::string md = maildir_path(t.path());
  CHECK(read_subscriptions(md)->empty());
  REQUIRE(set_subscribed(md, "inbox", true).ok());
  REQUIRE(set_subscribed(md, "Archive/2024/Q1", true).ok());
  REQUIRE(set_subscribed(md, "Entwürfe", true).ok());
  REQUIRE(set_subscribed(md, "Archive/2024/Q1", true).ok());  // twice: no change
  CHECK(slurp(md + "/subscriptions") == "V\t2\n\nINBOX\nArchive\t2024\tQ1\nEntwürfe\n");
  CHECK(*read_subscriptions(md) == Names{"INBOX", "Archive/2024/Q1", "Entwürfe"});
  REQUIRE(set_subscribed(md, "INBOX", false).ok());
  REQUIRE(set_subscribed(md, "never", false).ok());  // not subscribed: no change
  CHECK(slurp(md + "/subscriptions") == "V\t2\n\nArchive\t2024\tQ1\nEntwürfe\n");
  for (const char* bad : {"", "../x", "a.b", "~x", "#x", "/x", "a//b", "a\tb"}) {
    INFO(bad);
    CHECK(set_subscribed(md, bad, true).error().code == Errc::kInvalid);
  }
}

TEST_CASE("subscriptions: reads version 1 and keeps lines it does not understand", "[store]") {
  ParsedSubscriptions v1 = parse_subscriptions("INBOX\nWork/Projects\nold.style\n\nWork/Projects\ntorn");
  CHECK(v1.names == Names{"INBOX", "Work/Projects", "torn"});
  CHECK(v1.lines == Names{"INBOX", "Work\tProjects", "old.style", "Work\tProjects", "torn"});
  CHECK(v1.valid == std::vector<bool>{true, true, false, true, true});
  ParsedSubscriptions v2 = parse_subscriptions("V\t2\n\na\tb\nx/y\nesc\001t\n\001\n");
  CHECK(v2.names == Names{"a/b"});
  CHECK(v2.lines == Names{"a\tb", "x/y", "esc\001t", "\001"});

  TempDir t;
  REQUIRE(ensure_maildir(t.path()).ok());
  const std::string md = maildir_path(t.path());
  t.write("Maildir/subscriptions", "INBOX\nold.style\nSent\n");
  REQUIRE(set_subscribed(md, "Trash", true).ok());
  CHECK(slurp(md + "/subscriptions") == "V\t2\n\nINBOX\nold.style\nSent\nTrash\n");
  REQUIRE(set_subscribed(md, "Sent", false).ok());
  CHECK(slurp(md + "/subscriptions") == "V\t2\n\nINBOX\nold.style\nTrash\n");
  CHECK(format_subscriptions({"a/b", "INBOX"}) == "V\t2\n\na\tb\nINBOX\n");
}

TEST_CASE("subscriptions: a file past the limit is refused, not truncated", "[store]") {
  TempDir t;
  REQUIRE(ensure_maildir(t.path()).ok());
  const std::string md = maildir_path(t.path());
  t.write("Maildir/subscriptions", std::string(kMaxSubscriptionsFile + 1, 'a'));
  CHECK(read_subscriptions(md).error().code == Errc::kLimit);
  CHECK(set_subscribed(md, "x", true).error().code == Errc::kLimit);
  CHECK(slurp(md + "/subscriptions").size() == kMaxSubscriptionsFile + 1);
}
