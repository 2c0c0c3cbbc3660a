#include "common/base/fault.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>

using namespace tern;

#ifdef TERN_FAULT_INJECTION

TEST_CASE("fault: each point keeps its own arming, the last one (inotify) included", "[fault]") {
  fault::disarm_all();
  fault::arm(fault::Point::kInotify, ENOSPC, 2);
  fault::arm_after(fault::Point::kFsync, 1, EIO);
  CHECK(fault::check(fault::Point::kRename) == 0);
  CHECK(fault::check(fault::Point::kWrite) == 0);
  CHECK(fault::check(fault::Point::kFsync) == 0);  // skipped once
  CHECK(fault::check(fault::Point::kFsync) == EIO);
  CHECK(fault::check(fault::Point::kFsync) == 0);
  CHECK(fault::check(fault::Point::kInotify) == ENOSPC);
  CHECK(fault::check(fault::Point::kInotify) == ENOSPC);
  CHECK(fault::check(fault::Point::kInotify) == 0);
  fault::disarm_all();
}

TEST_CASE("fault: TERN_FAULTS arms every named point and refuses a malformed value", "[fault]") {
  fault::disarm_all();
  ::setenv("TERN_FAULTS", "inotify:28:1,rename:18:1", 1);
  REQUIRE(fault::arm_from_environment());
  CHECK(fault::check(fault::Point::kInotify) == 28);
  CHECK(fault::check(fault::Point::kRename) == 18);
  CHECK(fault::check(fault::Point::kFsync) == 0);
  ::setenv("TERN_FAULTS", "nosuchpoint:5:1", 1);
  CHECK_FALSE(fault::arm_from_environment());
  ::unsetenv("TERN_FAULTS");
  fault::disarm_all();
}

#else

TEST_CASE("fault: without TERN_FAULT_INJECTION every check proceeds", "[fault]") {
  CHECK(fault::check(fault::Point::kInotify) == 0);
  CHECK(fault::check(fault::Point::kFsync) == 0);
}

#endif
