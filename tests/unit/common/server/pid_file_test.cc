#include "common/server/pid_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/unit/support/temp_dir.h"

using namespace tern;

TEST_CASE("pid_file: the lock holder is the running master and a second lock is refused", "[server]") {
  test::TempDir dir;
  REQUIRE(::mkdir((dir.path() + "/pid").c_str(), 0755) == 0);
  CHECK(server::running_master(dir.path()) == 0);
  {
    auto lock = server::lock_pid_file(dir.path());
    REQUIRE(lock.ok());
    CHECK(server::running_master(dir.path()) == ::getpid());
    auto second = server::lock_pid_file(dir.path());
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().text == "the tern mail system is already running (pid " + std::to_string(::getpid()) + ")");
  }
  // The lock dies with its descriptor: a stale pid file means "not running".
  CHECK(server::running_master(dir.path()) == 0);
}
