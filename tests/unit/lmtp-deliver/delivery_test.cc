#include "lmtp-deliver/delivery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/store/maildir.h"
#include "lmtp-deliver/session.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace tern::lmtp;
using tern::test::TempDir;

namespace {

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

struct Spool {
  Fd fd;
  uint64_t size = 0;
};

Spool spool(const std::string& dir, const std::string& content) {
  auto fd = open_spool(dir);
  REQUIRE(fd.ok());
  REQUIRE(write_all(fd->get(), content).ok());
  return Spool{std::move(*fd), content.size()};
}

DeliveryRequest request(const TempDir& t, const Spool& s, const std::string& user) {
  DeliveryRequest r;
  r.box.home = t.path() + "/mail/example.test/" + user;
  r.box.mailbox_base = t.path() + "/mail";
  r.address = user + "@example.test";
  r.prepend = "Return-Path: <a@example.org>\r\nDelivered-To: " + r.address + "\r\n";
  r.spool_fd = s.fd.get();
  r.spool_size = s.size;
  return r;
}

}  // namespace

TEST_CASE("lmtp delivery: one copy into new/ with the prepended lines, S= and W=", "[lmtp]") {
  TempDir t;
  REQUIRE(::mkdir((t.path() + "/mail").c_str(), 0700) == 0);
  const std::string msg = "Subject: x\r\n\r\nbody\r\n";
  Spool s = spool(t.path(), msg);
  DeliveryRequest req = request(t, s, "bob");
  DeliveryResult r = deliver_copy(req);
  INFO(r.why);
  REQUIRE(r.reply.code == 250);
  CHECK(r.reply.enhanced == "2.0.0");
  CHECK(r.folder == "INBOX");
  const std::string md = req.box.home + "/Maildir";
  auto files = entries(md + "/new");
  REQUIRE(files.size() == 1);
  CHECK(files[0] == r.file);
  auto content = read_file(md + "/new/" + files[0]);
  REQUIRE(content.ok());
  CHECK(*content == req.prepend + msg);
  const std::string size = std::to_string(content->size());
  CHECK(files[0].find(",S=" + size + ",W=" + size) != std::string::npos);
  CHECK(r.size == content->size());
  for (const char* f : {".Sent", ".Drafts", ".Trash", ".Junk", ".Archive"}) CHECK(entries(md + "/" + f).size() >= 3);
  CHECK(entries(md + "/tmp").empty());
}

TEST_CASE("lmtp delivery: the detail folder only when it exists", "[lmtp]") {
  TempDir t;
  REQUIRE(::mkdir((t.path() + "/mail").c_str(), 0700) == 0);
  Spool s = spool(t.path(), "Subject: x\r\n\r\nbody\r\n");
  DeliveryRequest req = request(t, s, "bob");
  req.folder = "Work";
  DeliveryResult missing = deliver_copy(req);
  REQUIRE(missing.reply.code == 250);
  CHECK(missing.folder == "INBOX");
  const std::string md = req.box.home + "/Maildir";
  REQUIRE(store::ensure_folder(md, "Work").ok());
  DeliveryResult there = deliver_copy(req);
  REQUIRE(there.reply.code == 250);
  CHECK(there.folder == "Work");
  CHECK(entries(md + "/.Work/new").size() == 1);
  req.folder = "../../etc";  // not a folder name: INBOX
  DeliveryResult odd = deliver_copy(req);
  REQUIRE(odd.reply.code == 250);
  CHECK(odd.folder == "INBOX");
}

TEST_CASE("lmtp delivery: quota verdicts at RCPT and after DATA", "[lmtp]") {
  TempDir t;
  REQUIRE(::mkdir((t.path() + "/mail").c_str(), 0700) == 0);
  Spool small = spool(t.path(), "Subject: x\r\n\r\n" + std::string(300, 'a') + "\r\n");
  Spool big = spool(t.path(), "Subject: x\r\n\r\n" + std::string(3000, 'b') + "\r\n");
  DeliveryRequest req = request(t, small, "q");
  req.box.quota.bytes = 1024;
  CHECK(check_mailbox(req.box, req.address).code == 250);
  DeliveryRequest too_big = request(t, big, "q");
  too_big.box = req.box;
  DeliveryResult r = deliver_copy(too_big);
  CHECK(r.reply.code == 552);
  CHECK(r.reply.enhanced == "5.2.2");
  CHECK(deliver_copy(req).reply.code == 250);
  CHECK(deliver_copy(req).reply.code == 250);
  DeliveryResult full = deliver_copy(req);
  CHECK(full.reply.code == 452);
  CHECK(full.reply.enhanced == "4.2.2");
  CHECK(entries(req.box.home + "/Maildir/new").size() == 2);
  CHECK(read_file(req.box.home + "/Maildir/maildirsize").ok());

  DeliveryRequest counted = request(t, small, "m");
  counted.box.quota.messages = 1;
  CHECK(deliver_copy(counted).reply.code == 250);
  CHECK(check_mailbox(counted.box, counted.address).code == 452);
}

TEST_CASE("lmtp delivery: missing levels are created below virtual_mailbox_base only", "[lmtp]") {
  TempDir t;
  Spool s = spool(t.path(), "Subject: x\r\n\r\nbody\r\n");
  DeliveryRequest req = request(t, s, "bob");
  DeliveryResult r = deliver_copy(req);  // mail/ itself is missing: not ours to create
  CHECK(r.reply.code == 451);
  CHECK(r.reply.enhanced == "4.3.0");
  REQUIRE(::mkdir((t.path() + "/mail").c_str(), 0700) == 0);
  CHECK(deliver_copy(req).reply.code == 250);
  struct stat st;
  REQUIRE(::stat((t.path() + "/mail/example.test").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}
