#include "common/queue/queue_admin.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::Errc;
using tern::test::TempDir;

constexpr const char* kId3 = "0J2XQ3V5K7C0AB1C0";

bool exists(const std::string& p) {
  struct stat sb;
  return ::lstat(p.c_str(), &sb) == 0;
}

}  // namespace

TEST_CASE("queue_admin: hold, release, requeue and delete move one message as postsuper does", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string root = dir.path();
  write_queue_file(root, minimal_envelope(), "a\r\n", kId);
  REQUIRE(move(root, kId, Queue::kIncoming, Queue::kActive).ok());
  const std::string bytes = slurp(path_of(root, Queue::kActive, kId));

  auto held = admin_one(root, AdminOp::kHold, kId, default_admin_queues(AdminOp::kHold));
  REQUIRE(held.ok());
  CHECK(*held == Queue::kActive);
  CHECK(exists(path_of(root, Queue::kHold, kId)));
  CHECK_FALSE(exists(path_of(root, Queue::kActive, kId)));

  // A held message is not requeued by a search that leaves out hold/.
  auto missed = admin_one(root, AdminOp::kRequeue, kId, {Queue::kActive, Queue::kDeferred});
  REQUIRE_FALSE(missed.ok());
  CHECK(missed.error().code == Errc::kNotFound);

  auto released = admin_one(root, AdminOp::kRelease, kId, default_admin_queues(AdminOp::kRelease));
  REQUIRE(released.ok());
  CHECK(exists(path_of(root, Queue::kIncoming, kId)));
  CHECK(slurp(path_of(root, Queue::kIncoming, kId)) == bytes);  // unchanged
  CHECK(admin_one(root, AdminOp::kRelease, kId, {Queue::kHold}).error().code == Errc::kNotFound);

  REQUIRE(move(root, kId, Queue::kIncoming, Queue::kDeferred).ok());
  auto requeued = admin_one(root, AdminOp::kRequeue, kId, default_admin_queues(AdminOp::kRequeue));
  REQUIRE(requeued.ok());
  CHECK(*requeued == Queue::kDeferred);
  CHECK(exists(path_of(root, Queue::kIncoming, kId)));
  // Requeueing what is already in incoming/ finds it and leaves it there.
  CHECK(admin_one(root, AdminOp::kRequeue, kId, default_admin_queues(AdminOp::kRequeue)).ok());
  CHECK(exists(path_of(root, Queue::kIncoming, kId)));

  // Delete takes the defer/ log with it.
  REQUIRE(::mkdir((root + "/defer/A").c_str(), 0700) == 0);
  dir.write(std::string("defer/A/") + kId, "diagnostic\n");
  auto deleted = admin_one(root, AdminOp::kDelete, kId, default_admin_queues(AdminOp::kDelete));
  REQUIRE(deleted.ok());
  CHECK(*deleted == Queue::kIncoming);
  CHECK_FALSE(exists(path_of(root, Queue::kIncoming, kId)));
  CHECK_FALSE(exists(path_of(root, Queue::kDefer, kId)));
  CHECK(admin_one(root, AdminOp::kDelete, kId, default_admin_queues(AdminOp::kDelete)).error().code ==
        Errc::kNotFound);
  CHECK(admin_one(root, AdminOp::kDelete, "../x", {Queue::kHold}).error().code == Errc::kInvalid);
}

TEST_CASE("queue_admin: ALL acts on every message of the named queues once", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string root = dir.path();
  write_queue_file(root, minimal_envelope(), "a\r\n", kId);
  write_queue_file(root, minimal_envelope(), "b\r\n", kId2);
  write_queue_file(root, minimal_envelope(), "c\r\n", kId3);
  REQUIRE(move(root, kId, Queue::kIncoming, Queue::kActive).ok());
  REQUIRE(move(root, kId2, Queue::kIncoming, Queue::kDeferred).ok());
  dir.write("incoming/not-an-id", "kept");

  std::vector<std::pair<Queue, std::string>> done;
  std::vector<AdminFailure> failed;
  auto n = admin_all(root, AdminOp::kRequeue, default_admin_queues(AdminOp::kRequeue), &done, &failed);
  REQUIRE(n.ok());
  CHECK(*n == 3);  // the one moved into incoming/ is not counted twice
  CHECK(failed.empty());
  CHECK(scan(root, Queue::kIncoming)->size() == 3);

  auto held = admin_all(root, AdminOp::kHold, {Queue::kDeferred}, nullptr, nullptr);
  REQUIRE(held.ok());
  CHECK(*held == 0);
  held = admin_all(root, AdminOp::kHold, default_admin_queues(AdminOp::kHold), nullptr, nullptr);
  REQUIRE(held.ok());
  CHECK(*held == 3);
  auto deleted = admin_all(root, AdminOp::kDelete, default_admin_queues(AdminOp::kDelete), nullptr, nullptr);
  REQUIRE(deleted.ok());
  CHECK(*deleted == 3);
  CHECK(exists(root + "/incoming/not-an-id"));
}

TEST_CASE("queue_admin: which queues each operation may touch", "[queue]") {
  CHECK(admin_queue_allowed(AdminOp::kDelete, Queue::kCorrupt));
  CHECK_FALSE(admin_queue_allowed(AdminOp::kHold, Queue::kCorrupt));
  CHECK_FALSE(admin_queue_allowed(AdminOp::kRelease, Queue::kDeferred));
  for (AdminOp op : {AdminOp::kDelete, AdminOp::kHold, AdminOp::kRelease, AdminOp::kRequeue}) {
    CHECK_FALSE(admin_queue_allowed(op, Queue::kMaildrop));
    CHECK_FALSE(admin_queue_allowed(op, Queue::kTmp));
    CHECK_FALSE(admin_queue_allowed(op, Queue::kDefer));
    for (Queue q : default_admin_queues(op)) CHECK(admin_queue_allowed(op, q));
  }
  CHECK(default_admin_queues(AdminOp::kRelease) == std::vector<Queue>{Queue::kHold});
}
