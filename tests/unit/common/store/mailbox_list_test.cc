#include "common/store/mailbox_list.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/base/durable.h"
#include "common/store/folder.h"
#include "common/store/keywords.h"
#include "common/store/maildir.h"
#include "common/store/subscriptions.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::Errc;
using tern::test::TempDir;

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

// A Maildir as lmtp-deliver leaves it: INBOX and the special-use folders.
std::string make_maildir(const TempDir& t) {
  REQUIRE(ensure_maildir(t.path()).ok());
  return maildir_path(t.path());
}

std::vector<std::pair<std::string, std::string>> listing(const std::vector<MailboxEntry>& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const MailboxEntry& e : v) out.emplace_back(e.name, format_mailbox_attrs(e.attrs, true));
  return out;
}

using Listing = std::vector<std::pair<std::string, std::string>>;

void put_message(const std::string& folder, const std::string& sub, const std::string& name) {
  REQUIRE(tern::write_file_atomic(folder + "/" + sub + "/" + name, "Subject: x\r\n\r\nbody\r\n",
                                  tern::DurableOptions{0600, false})
              .ok());
}

}  // namespace

TEST_CASE("mailbox_list: names map to Maildir++ directories", "[store]") {
  CHECK(*mailbox_dir_name("Sent") == ".Sent");
  CHECK(*mailbox_dir_name("Archive/2024") == ".Archive.2024");
  CHECK(*mailbox_dir_name("Entwürfe/Ärger") == ".Entw&APw-rfe.&AMQ-rger");
  CHECK(*mailbox_dir_name("inbox/x") == ".INBOX.x");
  CHECK(*mailbox_dir_name("a&b") == ".a&-b");
  CHECK(*mailbox_name_from_dir(".Archive.2024") == "Archive/2024");
  CHECK(*mailbox_name_from_dir(".Entw&APw-rfe.&AMQ-rger") == "Entwürfe/Ärger");
  CHECK(*mailbox_name_from_dir(".INBOX.x") == "INBOX/x");
  CHECK(*mailbox_path("/h/Maildir", "iNbOx") == "/h/Maildir");
  CHECK(*mailbox_path("/h/Maildir", "a/b") == "/h/Maildir/.a.b");
  CHECK(*canonical_mailbox_name("inbox") == "INBOX");
  CHECK(*canonical_mailbox_name("Inbox/Sub") == "INBOX/Sub");
  CHECK(*canonical_mailbox_name("INBOXES") == "INBOXES");
  CHECK(*canonical_mailbox_name("a/b/", true) == "a/b/");
  CHECK(*canonical_mailbox_name("x/inbox") == "x/inbox");
  CHECK(is_inbox("INBOX"));
  CHECK(is_inbox("inbox"));
  CHECK_FALSE(is_inbox("INBOX/x"));
  // Directories that are not canonical mailbox names are not mailboxes.
  for (const char* d : {".", "..", ".inbox.x", ".Inbox.x", ".INBOX", ".a..b", ".~x", ".#x", ".&AGE-", "Sent", ".a.", ".a/b"}) {
    INFO(d);
    CHECK_FALSE(mailbox_name_from_dir(d).ok());
  }
}

TEST_CASE("mailbox_list: hostile names are refused with a reason", "[store]") {
  struct Case {
    std::string name;
    std::string reason;
  };
  const Case cases[] = {
      {"", "empty mailbox name"},
      {"..", "mailbox name contains \"..\""},
      {"../x", "mailbox name contains \"..\""},
      {"a/../b", "mailbox name contains \"..\""},
      {"a/..", "mailbox name contains \"..\""},
      {"a..b", "mailbox name contains \"..\""},
      {"a/b/..", "mailbox name contains \"..\""},
      {".", "mailbox name has \".\" in a level (it separates levels on disk)"},
      {".hidden", "mailbox name has \".\" in a level (it separates levels on disk)"},
      {"a.b", "mailbox name has \".\" in a level (it separates levels on disk)"},
      {"a/./b", "mailbox name has \".\" in a level (it separates levels on disk)"},
      {"a/b.", "mailbox name has \".\" in a level (it separates levels on disk)"},
      {"/etc/passwd", "mailbox name must not start with /"},
      {"/", "mailbox name must not start with /"},
      {"~other/INBOX", "mailbox name must not start with ~ or #"},
      {"~", "mailbox name must not start with ~ or #"},
      {"#news.comp", "mailbox name must not start with ~ or #"},
      {"#shared/other", "mailbox name must not start with ~ or #"},
      {"a//b", "mailbox name has an empty hierarchy level"},
      {"a/", "mailbox name has an empty hierarchy level"},
      {std::string("a\0b", 3), "mailbox name contains NUL"},
      {std::string("\0", 1), "mailbox name contains NUL"},
      {"a\tb", "mailbox name contains a control character"},
      {"a\rb", "mailbox name contains a control character"},
      {"a\nb", "mailbox name contains a control character"},
      {"a\x1b[2J", "mailbox name contains a control character"},
      {"a\x7f", "mailbox name contains a control character"},
      {"a\xC2\x85", "mailbox name contains a control character"},
      {"caf\xC3", "mailbox name is not valid UTF-8"},
      {"\xC0\xAF", "mailbox name is not valid UTF-8"},  // overlong "/"
      {"\xFF", "mailbox name is not valid UTF-8"},
      {"\xED\xA0\x80", "mailbox name is not valid UTF-8"},  // a surrogate
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto r = canonical_mailbox_name(c.name);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kInvalid);
    CHECK(r.error().text == c.reason);
    CHECK_FALSE(mailbox_dir_name(c.name).ok());
    CHECK_FALSE(mailbox_path("/h/Maildir", c.name).ok());
  }
  // "a/" is only a CREATE's hierarchy-only name, and "a//" never.
  CHECK(canonical_mailbox_name("a/", true).ok());
  CHECK_FALSE(canonical_mailbox_name("a//", true).ok());
  CHECK_FALSE(canonical_mailbox_name("/", true).ok());
  // Limits.
  CHECK(canonical_mailbox_name(std::string(200, 'x')).ok());
  CHECK(canonical_mailbox_name(std::string(201, 'x')).error().code == Errc::kLimit);
  std::string deep = "a";
  for (int i = 1; i < 16; ++i) deep += "/a";
  CHECK(canonical_mailbox_name(deep).ok());
  CHECK(canonical_mailbox_name(deep + "/a").error().code == Errc::kLimit);
  // 100 "é" are 200 bytes of UTF-8 but 269 bytes on disk (".&" + 267).
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";
  CHECK(canonical_mailbox_name(accents).error().code == Errc::kLimit);
}

TEST_CASE("mailbox_list: patterns match as RFC 3501 6.3.8 says", "[store]") {
  struct Case {
    std::string ref, pattern, name;
    bool match;
  };
  const Case cases[] = {
      {"", "*", "INBOX", true},
      {"", "*", "a/b/c", true},
      {"", "%", "a", true},
      {"", "%", "a/b", false},
      {"", "%/%", "a/b", true},
      {"", "%/%", "a/b/c", false},
      {"", "a/*", "a/b/c", true},
      {"", "a/*", "a", false},
      {"", "a*", "a", true},
      {"", "a*", "ab/c", true},
      {"", "a%", "ab/c", false},
      {"a/", "%", "a/b", true},
      {"a/", "%", "a/b/c", false},
      {"a/", "*", "a/b/c", true},
      {"a", "/%", "a/b", true},
      {"a/", "/b", "a/b", true},
      {"", "inbox", "INBOX", true},
      {"", "InBox", "INBOX", true},
      {"", "inb%", "INBOX", true},
      {"", "inbox/%", "INBOX/x", true},
      {"", "inbox/X", "INBOX/x", false},
      {"", "inboxes", "INBOXES", false},
      {"", "Sent", "sent", false},
      {"", "", "INBOX", false},
      {"", "%*%", "a/b", true},
      {"", "*b*", "a/b/c", true},
      {"", "*/c", "a/b/c", true},
      {"", "a/%/c", "a/b/c", true},
      {"", "a/%/c", "a/b/d/c", false},
      {"", "Entw%", "Entwürfe", true},
  };
  for (const Case& c : cases) {
    INFO(c.ref << " " << c.pattern << " " << c.name);
    CHECK(MailboxPattern(c.ref, c.pattern).matches(c.name) == c.match);
  }
  // Long patterns of wildcards stay linear.
  std::string many;
  for (int i = 0; i < 500; ++i) many += "a*";
  CHECK_FALSE(MailboxPattern("", many).matches(std::string(199, 'a') + "b"));
  CHECK_FALSE(MailboxPattern("", std::string(2000, 'x')).matches("x"));
}

TEST_CASE("mailbox_list: lists INBOX, folders, parents and special uses", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  MailboxList list(md);
  auto all = list.all();
  REQUIRE(all.ok());
  CHECK(listing(*all) == Listing{{"INBOX", "\\HasNoChildren"},
                                 {"Archive", "\\HasNoChildren \\Archive"},
                                 {"Drafts", "\\HasNoChildren \\Drafts"},
                                 {"Junk", "\\HasNoChildren \\Junk"},
                                 {"Sent", "\\HasNoChildren \\Sent"},
                                 {"Trash", "\\HasNoChildren \\Trash"}});
  // A folder whose parent has no directory (made by another tool), a
  // hierarchy-only directory, junk entries that are not mailboxes.
  REQUIRE(ensure_folder(md, "x.y.z").ok());
  REQUIRE(::mkdir((md + "/.h").c_str(), 0700) == 0);
  REQUIRE(::mkdir((md + "/.inbox.bad").c_str(), 0700) == 0);
  REQUIRE(::mkdir((md + "/.bad..name").c_str(), 0700) == 0);
  t.write("Maildir/.file", "not a directory");
  REQUIRE(ensure_folder(md, "INBOX.child").ok());
  REQUIRE(ensure_folder(md, "Sent.2024").ok());
  all = list.all();
  REQUIRE(all.ok());
  CHECK(listing(*all) == Listing{{"INBOX", "\\HasChildren"},
                                 {"Archive", "\\HasNoChildren \\Archive"},
                                 {"Drafts", "\\HasNoChildren \\Drafts"},
                                 {"INBOX/child", "\\HasNoChildren"},
                                 {"Junk", "\\HasNoChildren \\Junk"},
                                 {"Sent", "\\HasChildren \\Sent"},
                                 {"Sent/2024", "\\HasNoChildren"},
                                 {"Trash", "\\HasNoChildren \\Trash"},
                                 {"h", "\\Noselect \\HasNoChildren"},
                                 {"x", "\\Noselect \\NonExistent \\HasChildren"},
                                 {"x/y", "\\Noselect \\NonExistent \\HasChildren"},
                                 {"x/y/z", "\\HasNoChildren"}});
  CHECK(format_mailbox_attrs(kAttrNoselect | kAttrNonExistent | kAttrHasChildren | kAttrSubscribed, false) ==
        "\\Noselect \\HasChildren");

  auto l = list.list(MailboxPattern("", "%"));
  REQUIRE(l.ok());
  std::vector<std::string> names;
  for (const auto& e : *l) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash", "h", "x"});
  l = list.list(MailboxPattern("x/", "*"));
  REQUIRE(l.ok());
  CHECK(listing(*l) == Listing{{"x/y", "\\Noselect \\NonExistent \\HasChildren"}, {"x/y/z", "\\HasNoChildren"}});

  auto f = list.find("inbox");
  REQUIRE(f.ok());
  REQUIRE(f->has_value());
  CHECK((*f)->name == "INBOX");
  f = list.find("nope");
  REQUIRE(f.ok());
  CHECK_FALSE(f->has_value());
  CHECK_FALSE(list.find("../x").ok());
}

TEST_CASE("mailbox_list: CREATE makes parents, hierarchy-only names, and refuses existing ones", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  MailboxList list(md);
  REQUIRE(list.create("a/b/c").ok());
  CHECK(is_dir(md + "/.a/cur"));
  CHECK(is_dir(md + "/.a.b/new"));
  CHECK(is_dir(md + "/.a.b.c/tmp"));
  CHECK(exists(md + "/.a.b.c/maildirfolder"));
  CHECK(exists(md + "/.a.b.c/tern-uidlist"));
  for (const char* n : {"a", "a/b", "a/b/c", "inbox", "INBOX", "Sent"}) {
    INFO(n);
    auto st = list.create(n);
    REQUIRE_FALSE(st.ok());
    CHECK(already_exists(st.error()));
  }
  REQUIRE(list.create("h/").ok());
  CHECK(is_dir(md + "/.h"));
  CHECK_FALSE(exists(md + "/.h/cur"));
  CHECK(already_exists(list.create("h/").error()));
  CHECK(already_exists(list.create("h").error()));
  REQUIRE(list.create("h/x").ok());
  REQUIRE(list.create("Entwürfe").ok());
  CHECK(is_dir(md + "/.Entw&APw-rfe/cur"));
  auto all = list.all();
  REQUIRE(all.ok());
  CHECK(listing(*all) == Listing{{"INBOX", "\\HasNoChildren"},
                                 {"Archive", "\\HasNoChildren \\Archive"},
                                 {"Drafts", "\\HasNoChildren \\Drafts"},
                                 {"Entwürfe", "\\HasNoChildren"},
                                 {"Junk", "\\HasNoChildren \\Junk"},
                                 {"Sent", "\\HasNoChildren \\Sent"},
                                 {"Trash", "\\HasNoChildren \\Trash"},
                                 {"a", "\\HasChildren"},
                                 {"a/b", "\\HasChildren"},
                                 {"a/b/c", "\\HasNoChildren"},
                                 {"h", "\\Noselect \\HasChildren"},
                                 {"h/x", "\\HasNoChildren"}});
  // Hostile names create nothing.
  for (const char* n : {"../../etc", "a/../../x", "~root", "#x", "/tmp/x", "a//b", "a.b"}) {
    INFO(n);
    CHECK(list.create(n).error().code == Errc::kInvalid);
  }
  CHECK(listing(*list.all()).size() == 12);
  // No scratch directories are left behind.
  REQUIRE(::rmdir((md + "/tmp").c_str()) == 0);  // empty: nothing left in it
  REQUIRE(::mkdir((md + "/tmp").c_str(), 0700) == 0);
}

TEST_CASE("mailbox_list: a folder created again gets a new UIDVALIDITY at once", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  MailboxList list(md);
  REQUIRE(list.create("w").ok());
  Folder f1(md + "/.w");
  REQUIRE(f1.sync().ok());
  const uint32_t v1 = f1.uidvalidity();
  REQUIRE(list.remove("w").ok());
  REQUIRE(list.create("w").ok());
  Folder f2(md + "/.w");
  REQUIRE(f2.sync().ok());
  CHECK(f2.uidvalidity() > v1);
  // Also for a folder lmtp-deliver made (UID list written on first sync).
  Folder t1(md + "/.Trash");
  REQUIRE(t1.sync().ok());
  REQUIRE(list.remove("Trash").ok());
  REQUIRE(list.create("Trash").ok());
  Folder t2(md + "/.Trash");
  REQUIRE(t2.sync().ok());
  CHECK(t2.uidvalidity() > t1.uidvalidity());
}

TEST_CASE("mailbox_list: DELETE follows RFC 3501 6.3.4", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  MailboxList list(md);
  REQUIRE(list.create("p/c").ok());
  put_message(md + "/.p", "new", "1700000000.M1P1.host");
  {
    Folder f(md + "/.p");
    REQUIRE(f.sync().ok());
    REQUIRE(f.keyword("$Work").ok());
  }
  CHECK(list.remove("INBOX").error().text == "INBOX cannot be deleted");
  CHECK(list.remove("inbox").error().code == Errc::kInvalid);
  CHECK(list.remove("nope").error().code == Errc::kNotFound);
  CHECK(list.remove("../x").error().code == Errc::kInvalid);
  // A selectable parent goes with its messages, UID list, index and
  // keywords; its child stays and the name shows as \NonExistent.
  REQUIRE(list.remove("p").ok());
  CHECK_FALSE(exists(md + "/.p"));
  CHECK(is_dir(md + "/.p.c/cur"));
  auto f = list.find("p");
  REQUIRE(f.ok());
  CHECK(format_mailbox_attrs((*f)->attrs, true) == "\\Noselect \\NonExistent \\HasChildren");
  CHECK(list.remove("p").error().code == Errc::kNotFound);
  // A hierarchy-only name with children cannot go; without, it can.
  REQUIRE(list.create("h/").ok());
  REQUIRE(list.create("h/x").ok());
  CHECK(list.remove("h").error().text == "mailbox has children and holds no messages: delete the children first");
  REQUIRE(list.remove("h/x").ok());
  REQUIRE(list.remove("h").ok());
  CHECK_FALSE(exists(md + "/.h"));
  REQUIRE(list.remove("p/c").ok());
  CHECK_FALSE(list.find("p")->has_value());
  // Nothing left in tmp/, and a crashed DELETE's leftovers are swept.
  REQUIRE(::mkdir((md + "/tmp/.tern-deleted.1.1").c_str(), 0700) == 0);
  put_message(md + "/tmp/.tern-deleted.1.1", "", "x");
  REQUIRE(list.create("z").ok());
  REQUIRE(list.remove("z").ok());
  REQUIRE(::rmdir((md + "/tmp").c_str()) == 0);
  REQUIRE(::mkdir((md + "/tmp").c_str(), 0700) == 0);
  // Subscriptions stay (RFC 3501 6.3.9).
  REQUIRE(set_subscribed(md, "Trash", true).ok());
  REQUIRE(list.remove("Trash").ok());
  CHECK(*read_subscriptions(md) == std::vector<std::string>{"Trash"});
}

TEST_CASE("mailbox_list: RENAME moves children and refuses existing targets", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  MailboxList list(md);
  REQUIRE(list.create("a/b/c").ok());
  REQUIRE(list.create("a-b").ok());
  put_message(md + "/.a.b", "cur", "1700000000.M1P1.host:2,S");
  CHECK(already_exists(list.rename("a", "Sent").error()));
  CHECK(already_exists(list.rename("a", "a").error()));
  CHECK(already_exists(list.rename("a", "inbox").error()));
  CHECK(list.rename("a", "a/b/x").error().text == "a mailbox cannot move below itself");
  CHECK(list.rename("nope", "x").error().code == Errc::kNotFound);
  CHECK(list.rename("a", "../x").error().code == Errc::kInvalid);
  CHECK(list.rename("../a", "x").error().code == Errc::kInvalid);
  REQUIRE(list.rename("a", "n/m").ok());
  CHECK(is_dir(md + "/.n/cur"));  // the new parent
  CHECK(is_dir(md + "/.n.m/cur"));
  CHECK(exists(md + "/.n.m.b/cur/1700000000.M1P1.host:2,S"));
  CHECK(is_dir(md + "/.n.m.b.c/cur"));
  CHECK(is_dir(md + "/.a-b/cur"));  // not a child of "a"
  CHECK_FALSE(exists(md + "/.a"));
  CHECK_FALSE(exists(md + "/.a.b"));
  // A child's target that exists stops the rename before anything moves.
  REQUIRE(list.create("q/b").ok());
  REQUIRE(list.create("r/b").ok());
  CHECK(already_exists(list.rename("r", "q").error()));
  CHECK(is_dir(md + "/.r.b/cur"));
  // A name deeper than the limit after the move is refused up front.
  std::string deep = "d";
  for (int i = 1; i < 15; ++i) deep += "/d";
  REQUIRE(list.create(deep).ok());
  CHECK(list.rename("d", "e/f/g").error().code == Errc::kLimit);
}

TEST_CASE("mailbox_list: RENAME INBOX moves its messages and keywords and leaves INBOX empty", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  MailboxList list(md);
  REQUIRE(list.create("INBOX/kid").ok());
  put_message(md, "new", "1700000000.M1P1.host");
  put_message(md, "cur", "1700000001.M1P1.host:2,Sa");
  put_message(md, "tmp", "1700000002.M1P1.host");  // a delivery in progress stays
  size_t kw = 0;
  {
    Folder inbox(md);
    REQUIRE(inbox.sync().ok());
    REQUIRE(inbox.messages().size() == 2);
    auto k = inbox.keyword("$Work");
    REQUIRE(k.ok());
    kw = *k;
  }
  CHECK(kw == 0);
  REQUIRE(list.rename("inbox", "Old").ok());
  CHECK(exists(md + "/.Old/new/1700000000.M1P1.host"));
  CHECK(exists(md + "/.Old/cur/1700000001.M1P1.host:2,Sa"));
  CHECK(exists(md + "/tmp/1700000002.M1P1.host"));
  CHECK(is_dir(md + "/.INBOX.kid/cur"));
  Folder old(md + "/.Old");
  REQUIRE(old.sync().ok());
  REQUIRE(old.messages().size() == 2);
  CHECK(old.messages()[0].uid == 1);
  CHECK(old.messages()[1].uid == 2);
  CHECK(old.keywords_of(old.messages()[1]) == std::vector<std::string>{"$Work"});
  Folder inbox(md);
  REQUIRE(inbox.sync().ok());
  CHECK(inbox.messages().empty());
  CHECK(inbox.uidnext() == 3);  // INBOX keeps its UIDs: none reused
  CHECK(already_exists(list.rename("INBOX", "Old").error()));
  REQUIRE(list.rename("INBOX", "Empty").ok());
  CHECK(is_dir(md + "/.Empty/cur"));
}

TEST_CASE("mailbox_list: LSUB lists subscribed names and %-stopped parents", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  MailboxList list(md);
  REQUIRE(list.create("a/b").ok());
  REQUIRE(set_subscribed(md, "a/b", true).ok());
  REQUIRE(set_subscribed(md, "gone/x", true).ok());
  REQUIRE(set_subscribed(md, "Sent", true).ok());
  REQUIRE(set_subscribed(md, "inbox", true).ok());
  auto l = list.lsub(MailboxPattern("", "*"));
  REQUIRE(l.ok());
  CHECK(listing(*l) == Listing{{"INBOX", "\\HasNoChildren"},
                               {"Sent", "\\HasNoChildren \\Sent"},
                               {"a/b", "\\HasNoChildren"},
                               {"gone/x", "\\Noselect"}});
  l = list.lsub(MailboxPattern("", "%"));
  REQUIRE(l.ok());
  CHECK(listing(*l) == Listing{{"INBOX", "\\HasNoChildren"},
                               {"Sent", "\\HasNoChildren \\Sent"},
                               {"a", "\\Noselect"},
                               {"gone", "\\Noselect"}});
}

TEST_CASE("mailbox_list: two processes creating, renaming and deleting at once never corrupt the tree", "[store]") {
  TempDir t;
  const std::string md = make_maildir(t);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    MailboxList list(md);
    for (int i = 0; i < 20; ++i) {
      (void)list.create("r/" + std::to_string(i % 5));
      (void)list.rename("r", "s");
      (void)list.rename("s", "r");
      (void)list.remove("r/" + std::to_string((i + 2) % 5));
    }
    ::_exit(0);
  }
  MailboxList list(md);
  for (int i = 0; i < 20; ++i) {
    (void)list.create("r/" + std::to_string((i + 1) % 5));
    (void)list.rename("s", "r");
    (void)list.rename("r", "s");
    (void)list.remove("s/" + std::to_string(i % 5));
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  // Every directory is a complete mailbox or a hierarchy-only name.
  auto all = list.all();
  REQUIRE(all.ok());
  for (const MailboxEntry& e : *all) {
    if (e.name == "INBOX" || (e.attrs & kAttrNoselect)) continue;
    INFO(e.name);
    const std::string p = *mailbox_path(md, e.name);
    CHECK(is_dir(p + "/cur"));
    CHECK(is_dir(p + "/new"));
    CHECK(is_dir(p + "/tmp"));
  }
}
