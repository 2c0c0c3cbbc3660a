#include "common/server/file_watch.h"

#include <cstdio>

#include <catch2/catch.hpp>

#include "tests/unit/support/temp_dir.h"

using namespace tern;

namespace {

// Runs the loop until the watch fires or a short real-time bound passes.
std::string changed_after(test::TempDir& dir, const std::function<void()>& change) {
  event::Loop loop;
  server::FileWatch watch;
  std::string cert = dir.write("cert.pem", "old");
  REQUIRE(watch.add(cert).ok());
  std::string seen;
  REQUIRE(watch.start(loop, [&](const std::string& path) {
                seen = path;
                loop.stop();
              }).ok());
  change();
  loop.run_for(std::chrono::milliseconds(300));
  return seen;
}

}  // namespace

TEST_CASE("file_watch: a file replaced by rename is reported", "[server]") {
  test::TempDir dir;
  std::string seen = changed_after(dir, [&] { dir.write("cert.pem", "new"); });  // write beside, rename over
  CHECK(seen == dir.path() + "/cert.pem");
}

TEST_CASE("file_watch: a file rewritten in place is reported", "[server]") {
  test::TempDir dir;
  std::string seen = changed_after(dir, [&] {
    FILE* f = std::fopen((dir.path() + "/cert.pem").c_str(), "w");
    REQUIRE(f);
    std::fputs("new", f);
    std::fclose(f);
  });
  CHECK(seen == dir.path() + "/cert.pem");
}

TEST_CASE("file_watch: other files in the same directory are ignored", "[server]") {
  test::TempDir dir;
  std::string seen = changed_after(dir, [&] { dir.write("unrelated", "x"); });
  CHECK(seen.empty());
}
