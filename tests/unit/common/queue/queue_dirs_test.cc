#include "common/queue/queue_dirs.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::Errc;
using tern::test::TempDir;

}  // namespace

TEST_CASE("queue_dirs: names parse back and only deferred/ and defer/ are hashed", "[queue]") {
  for (Queue q : kAllQueues) {
    CHECK(parse_queue_name(queue_name(q)) == q);
    CHECK(is_hashed(q) == (q == Queue::kDeferred || q == Queue::kDefer));
  }
  CHECK_FALSE(parse_queue_name("private").has_value());
  CHECK(hash_subdir("0J2XQ3V5K7A0AB1C0") == "A");
  CHECK(path_of("/var/spool/tern", Queue::kDeferred, "0J2XQ3V5K7A0AB1C0") ==
        "/var/spool/tern/deferred/A/0J2XQ3V5K7A0AB1C0");
  CHECK(path_of("/q/", Queue::kIncoming, "0J2XQ3V5K7A0AB1C0") == "/q/incoming/0J2XQ3V5K7A0AB1C0");
  CHECK(relative_path_of(Queue::kDefer, "0J2XQ3V5K7B0AB1C0") == "defer/B/0J2XQ3V5K7B0AB1C0");
}

TEST_CASE("queue_dirs: move, scan and locate follow a file through the queues", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string root = dir.path();
  write_queue_file(root, minimal_envelope(), "a\r\n", kId);
  write_queue_file(root, minimal_envelope(), "b\r\n", kId2);
  dir.write("incoming/.hidden", "x");
  dir.write("incoming/not-an-id", "x");

  auto incoming = scan(root, Queue::kIncoming);
  REQUIRE(incoming.ok());
  CHECK(*incoming == std::vector<std::string>{kId, kId2});

  REQUIRE(move(root, kId, Queue::kIncoming, Queue::kActive).ok());
  REQUIRE(move(root, kId, Queue::kActive, Queue::kDeferred).ok());
  REQUIRE(move(root, kId2, Queue::kIncoming, Queue::kDeferred).ok());
  struct stat st;
  CHECK(::stat((root + "/deferred/A/" + kId).c_str(), &st) == 0);
  CHECK(::stat((root + "/deferred/B/" + kId2).c_str(), &st) == 0);
  auto deferred = scan(root, Queue::kDeferred);
  REQUIRE(deferred.ok());
  CHECK(*deferred == std::vector<std::string>{kId, kId2});
  CHECK(scan(root, Queue::kIncoming)->empty());

  auto where = locate(root, kId);
  REQUIRE(where.ok());
  CHECK(*where == Queue::kDeferred);
  REQUIRE(move(root, kId, Queue::kDeferred, Queue::kHold).ok());
  CHECK(*locate(root, kId) == Queue::kHold);

  auto gone = move(root, kId, Queue::kIncoming, Queue::kActive);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == Errc::kNotFound);
  CHECK(locate(root, "0J2XQ3V5K7C0AB1C0").error().code == Errc::kNotFound);
  CHECK(locate(root, "../etc/passwd").error().code == Errc::kInvalid);
  CHECK(move(root, "../x", Queue::kHold, Queue::kActive).error().code == Errc::kInvalid);
  CHECK_FALSE(scan(root + "/nonexistent", Queue::kIncoming).ok());
}
