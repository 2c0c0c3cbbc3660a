#include "qmgr/active_set.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "qmgr/incoming.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::qmgr;
using namespace tern::queue;
using namespace tern::queue::test;
using tern::test::TempDir;

}  // namespace

TEST_CASE("active_set: reconcile drops what left active/ or was replaced, keeps the rest", "[qmgr]") {
  ActiveSet set;
  set.add("A", {"a@x", 1, 1, {1, 10}});
  set.add("B", {"b@x", 2, 1, {1, 11}});
  set.add("C", {"c@x", 3, 1, {1, 12}});
  std::map<std::string, FileKey> present = {{"A", {1, 10}}, {"C", {1, 99}}, {"D", {1, 13}}};
  auto gone = set.reconcile(present);
  CHECK(gone == std::vector<std::string>{"B", "C"});
  CHECK(set.contains("A"));
  CHECK_FALSE(set.contains("D"));  // not qmgr's: the next scan sends it back to incoming/
  CHECK(set.size() == 1);
  set.add("A", {"new@x", 5, 2, {1, 20}});  // requeued and taken in again
  CHECK(set.find("A")->sender == "new@x");
  set.forget("A");
  CHECK(set.size() == 0);
}

TEST_CASE("qmgr scan: takes incoming/ in, returns unknown active/ files, follows what ternsuper moved", "[qmgr]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const std::string root = dir.path();
  write_queue_file(root, minimal_envelope(), "a\r\n", kId);
  write_queue_file(root, minimal_envelope(), "b\r\n", kId2);
  REQUIRE(move(root, kId2, Queue::kIncoming, Queue::kActive).ok());  // left by a previous qmgr
  dir.write("incoming/0J2XQ3V5K7C0AB1C0", "not a queue file");

  ActiveSet set;
  ScanResult r = scan_queue(root, set.ids());
  CHECK(r.returned == 1);
  REQUIRE(r.taken.size() == 2);
  CHECK(r.active_listed);
  CHECK(r.active.size() == 2);
  for (auto& [id, e] : r.taken) set.add(id, e);
  CHECK(set.reconcile(r.active).empty());
  CHECK(set.find(kId)->sender.empty());
  CHECK(set.find(kId)->nrcpt == 1);
  CHECK(scan(root, Queue::kCorrupt)->size() == 1);

  // ternsuper -h: the next scan's listing no longer has it.
  REQUIRE(move(root, kId, Queue::kActive, Queue::kHold).ok());
  r = scan_queue(root, set.ids());
  CHECK(r.returned == 0);
  CHECK(r.taken.empty());
  CHECK(set.reconcile(r.active) == std::vector<std::string>{kId});
  // ternsuper -H: back through incoming/, taken in as new.
  REQUIRE(move(root, kId, Queue::kHold, Queue::kIncoming).ok());
  r = scan_queue(root, set.ids());
  REQUIRE(r.taken.size() == 1);
  CHECK(r.taken[0].first == kId);
}
