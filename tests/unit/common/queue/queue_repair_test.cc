#include "common/queue/queue_repair.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::test::TempDir;

bool exists(const std::string& p) {
  struct stat sb;
  return ::lstat(p.c_str(), &sb) == 0;
}

RepairOptions options() {
  RepairOptions o;
  o.uid = ::getuid();
  o.gid = ::getgid();
  o.fix_owner = false;
  o.now = tern::system_clock().wall_now();
  return o;
}

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& l : lines)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("queue_repair: a clean queue needs nothing", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  write_queue_file(dir.path(), minimal_envelope(), "a\r\n", kId);
  REQUIRE(move(dir.path(), kId, Queue::kIncoming, Queue::kDeferred).ok());
  auto r = repair_queue(dir.path(), options());
  REQUIRE(r.ok());
  CHECK(r->repairs.empty());
  CHECK(r->warnings.empty());
}

TEST_CASE("queue_repair: misplaced, misnamed, corrupt and stale files are moved, never deleted", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string root = dir.path();
  // kId: in deferred/ but in the wrong subdirectory; kId2: at deferred/'s top.
  write_queue_file(root, minimal_envelope(), "a\r\n", kId);
  write_queue_file(root, minimal_envelope(), "b\r\n", kId2);
  REQUIRE(::mkdir((root + "/deferred/Z").c_str(), 0700) == 0);
  REQUIRE(::rename((root + "/incoming/" + kId).c_str(), (root + "/deferred/Z/" + kId).c_str()) == 0);
  REQUIRE(::rename((root + "/incoming/" + kId2).c_str(), (root + "/deferred/" + kId2).c_str()) == 0);
  // A message in a hashed subdirectory of an unhashed queue.
  write_queue_file(root, minimal_envelope(), "c\r\n", "0J2XQ3V5K7C0AB1C0");
  REQUIRE(::mkdir((root + "/hold/C").c_str(), 0700) == 0);
  REQUIRE(::rename((root + "/incoming/0J2XQ3V5K7C0AB1C0").c_str(), (root + "/hold/C/0J2XQ3V5K7C0AB1C0").c_str()) == 0);
  dir.write("active/notes.txt", "x");
  dir.write("corrupt/notes.txt", "taken");
  dir.write("incoming/0J2XQ3V5K7D0AB1C0", "TERNQ 1\ntruncated");
  REQUIRE(::symlink("/etc/passwd", (root + "/incoming/0J2XQ3V5K7E0AB1C0").c_str()) == 0);
  dir.write("tmp/0J2XQ3V5K7F0AB1C0", "old");
  dir.write("tmp/0J2XQ3V5K7G0AB1C0", "new");
  auto o = options();
  // Make the first tmp/ file two days old.
  struct timespec times[2] = {{::time(nullptr) - 2 * 86400, 0}, {::time(nullptr) - 2 * 86400, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (root + "/tmp/0J2XQ3V5K7F0AB1C0").c_str(), times, 0) == 0);
  REQUIRE(::chmod((root + "/deferred/Z/" + kId).c_str(), 0644) == 0);

  auto r = repair_queue(root, o);
  REQUIRE(r.ok());
  INFO(r->repairs.size());
  CHECK(exists(root + "/deferred/A/" + kId));
  CHECK_FALSE(exists(root + "/deferred/Z/" + kId));
  CHECK(exists(root + "/deferred/B/" + kId2));
  CHECK(exists(root + "/hold/0J2XQ3V5K7C0AB1C0"));
  CHECK_FALSE(exists(root + "/hold/C"));  // emptied, then removed
  CHECK(exists(root + "/corrupt/notes.txt.1"));
  CHECK(slurp(root + "/corrupt/notes.txt") == "taken");  // nothing overwritten
  CHECK(exists(root + "/corrupt/0J2XQ3V5K7D0AB1C0"));
  CHECK(exists(root + "/corrupt/0J2XQ3V5K7E0AB1C0"));  // the link itself, not what it points to
  CHECK(exists(root + "/corrupt/0J2XQ3V5K7F0AB1C0"));
  CHECK(exists(root + "/tmp/0J2XQ3V5K7G0AB1C0"));
  struct stat sb;
  REQUIRE(::stat((root + "/deferred/A/" + kId).c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0600);
  CHECK(mentions(r->repairs, std::string("deferred/Z/") + kId + ": in the wrong hashed subdirectory"));
  CHECK(mentions(r->repairs, "active/notes.txt: the name is not a queue ID; moved to corrupt/notes.txt.1"));
  CHECK(mentions(r->repairs, "incoming/0J2XQ3V5K7E0AB1C0: not a regular file"));
  CHECK(mentions(r->repairs, "incoming/0J2XQ3V5K7D0AB1C0: not a readable queue file"));
  CHECK(mentions(r->repairs, "mode 0644; set to 0600"));
  CHECK(r->repairs.size() == 8);

  auto again = repair_queue(root, o);
  REQUIRE(again.ok());
  CHECK(again->repairs.empty());
}

TEST_CASE("queue_repair: a directory it does not know is left alone with a warning", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  REQUIRE(::mkdir((dir.path() + "/incoming/lost+found").c_str(), 0700) == 0);
  auto r = repair_queue(dir.path(), options());
  REQUIRE(r.ok());
  CHECK(r->repairs.empty());
  CHECK(mentions(r->warnings, "incoming/lost+found: a directory; left alone"));
  CHECK(exists(dir.path() + "/incoming/lost+found"));
}
