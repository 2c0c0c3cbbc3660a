#include "common/base/durable.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/base/fault.h"
#include "common/base/fd.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using tern::test::TempDir;

std::string slurp(const std::string& path) {
  auto r = tern::read_file(path);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("durable: an atomic write creates and then replaces the content", "[base]") {
  TempDir dir;
  std::string file = dir.path() + "/state";
  for (bool sync : {true, false}) {
    REQUIRE(tern::write_file_atomic(file, "first", {.sync = sync}).ok());
    CHECK(slurp(file) == "first");
    REQUIRE(tern::write_file_atomic(file, std::string(100000, 'x'), {.sync = sync}).ok());
    CHECK(slurp(file) == std::string(100000, 'x'));
    REQUIRE(tern::write_file_atomic(file, "", {.sync = sync}).ok());
    CHECK(slurp(file).empty());
  }
  CHECK(dir.files() == std::vector<std::string>{"state"});
}

TEST_CASE("durable: the requested mode is honoured despite the umask", "[base]") {
  TempDir dir;
  struct UmaskGuard {
    mode_t old = ::umask(077);
    ~UmaskGuard() { ::umask(old); }
  } umask_guard;
  struct Case {
    int mode;
  };
  for (Case c : {Case{0600}, Case{0644}, Case{0640}, Case{0666}}) {
    std::string file = dir.path() + "/m" + std::to_string(c.mode);
    REQUIRE(tern::write_file_atomic(file, "x", {.mode = c.mode}).ok());
    struct stat st;
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == static_cast<mode_t>(c.mode));
  }
}

TEST_CASE("durable: a write into a missing directory fails naming the path", "[base]") {
  TempDir dir;
  std::string file = dir.path() + "/no/such/file";
  auto st = tern::write_file_atomic(file, "x");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == tern::Errc::kSystem);
  CHECK(st.error().err == ENOENT);
  CHECK(st.error().text.find(file) != std::string::npos);
}

TEST_CASE("durable: durable_rename moves a file across directories", "[base]") {
  TempDir dir;
  std::string sub = dir.path() + "/sub";
  REQUIRE(::mkdir(sub.c_str(), 0700) == 0);
  REQUIRE(tern::write_file_atomic(dir.path() + "/a", "payload").ok());
  REQUIRE(tern::durable_rename(dir.path() + "/a", sub + "/b").ok());
  CHECK(slurp(sub + "/b") == "payload");
  CHECK(::access((dir.path() + "/a").c_str(), F_OK) != 0);
  ::unlink((sub + "/b").c_str());
  ::rmdir(sub.c_str());
  CHECK_FALSE(tern::durable_rename(dir.path() + "/missing", dir.path() + "/c").ok());
}

TEST_CASE("durable: publish_rename moves a file out of a scratch directory", "[base]") {
  TempDir dir;
  std::string sub = dir.path() + "/incoming";
  REQUIRE(::mkdir(sub.c_str(), 0700) == 0);
  REQUIRE(tern::write_file_atomic(dir.path() + "/a", "payload").ok());
  REQUIRE(tern::publish_rename(dir.path() + "/a", sub + "/b").ok());
  CHECK(slurp(sub + "/b") == "payload");
  CHECK(::access((dir.path() + "/a").c_str(), F_OK) != 0);
  ::unlink((sub + "/b").c_str());
  auto st = tern::publish_rename(dir.path() + "/missing", sub + "/c");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().err == ENOENT);
  ::rmdir(sub.c_str());
}

TEST_CASE("durable: publish_rename_shared publishes every file of many threads at once", "[base]") {
  TempDir dir;
  std::string tmp = dir.path() + "/tmp", sub = dir.path() + "/incoming";
  REQUIRE(::mkdir(tmp.c_str(), 0700) == 0);
  REQUIRE(::mkdir(sub.c_str(), 0700) == 0);
  constexpr int kThreads = 8, kFiles = 25;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kFiles; ++i) {
        std::string name = std::to_string(t) + "." + std::to_string(i);
        if (!tern::write_file_atomic(tmp + "/" + name, name, {.sync = false}).ok() ||
            !tern::publish_rename_shared(tmp + "/" + name, sub + "/" + name).ok())
          failures[t]++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == std::vector<int>(kThreads, 0));
  DIR* d = ::opendir(sub.c_str());
  REQUIRE(d != nullptr);
  int n = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  CHECK(n == kThreads * kFiles);
}

#ifdef TERN_FAULT_INJECTION
TEST_CASE("durable: a failed shared directory fsync fails its caller, and the next caller gets a new fsync", "[base]") {
  TempDir dir;
  tern::fault::arm(tern::fault::Point::kFsync, EIO);
  auto st = tern::fsync_dir_shared(dir.path());
  tern::fault::disarm_all();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().err == EIO);
  CHECK(tern::fsync_dir_shared(dir.path()).ok());
  CHECK_FALSE(tern::fsync_dir_shared("/nonexistent/tern/dir").ok());
}
#endif  // TERN_FAULT_INJECTION

TEST_CASE("durable: fsync_dir of a missing directory fails", "[base]") {
  CHECK_FALSE(tern::fsync_dir("/nonexistent/tern/dir").ok());
}

#ifdef TERN_FAULT_INJECTION

TEST_CASE("durable: an injected failure leaves no temp file and keeps the old content", "[base]") {
  struct Case {
    const char* name;
    tern::fault::Point point;
    int err;
  };
  const Case cases[] = {
      {"fsync of the file", tern::fault::Point::kFsync, EIO},
      {"rename", tern::fault::Point::kRename, EXDEV},
      {"write", tern::fault::Point::kWrite, ENOSPC},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      TempDir dir;
      std::string file = dir.path() + "/state";
      REQUIRE(tern::write_file_atomic(file, "old").ok());
      tern::fault::arm(c.point, c.err);
      auto st = tern::write_file_atomic(file, "new");
      tern::fault::disarm_all();
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().code == tern::Errc::kSystem);
      CHECK(st.error().err == c.err);
      CHECK(st.error().text.find(file) != std::string::npos);
      CHECK(slurp(file) == "old");
      CHECK(dir.files() == std::vector<std::string>{"state"});
    }
  }
}

TEST_CASE("durable: a failed directory fsync is reported with the new content in place", "[base]") {
  TempDir dir;
  std::string file = dir.path() + "/state";
  REQUIRE(tern::write_file_atomic(file, "old").ok());
  // The first fsync (the temp file) passes; the second (the directory) fails.
  tern::fault::arm_after(tern::fault::Point::kFsync, 1, EIO);
  auto st = tern::write_file_atomic(file, "new");
  tern::fault::disarm_all();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().err == EIO);
  CHECK(st.error().text.find(file) != std::string::npos);
  CHECK(slurp(file) == "new");
  CHECK(dir.files() == std::vector<std::string>{"state"});
}

TEST_CASE("durable: durable_rename reports a failed rename and a failed directory fsync", "[base]") {
  TempDir dir;
  std::string a = dir.path() + "/a", b = dir.path() + "/b";
  REQUIRE(tern::write_file_atomic(a, "payload").ok());

  tern::fault::arm(tern::fault::Point::kRename, EIO);
  auto st = tern::durable_rename(a, b);
  tern::fault::disarm_all();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().err == EIO);
  CHECK(dir.files() == std::vector<std::string>{"a"});

  tern::fault::arm(tern::fault::Point::kFsync, EIO);
  st = tern::durable_rename(a, b);
  tern::fault::disarm_all();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().err == EIO);
  CHECK(slurp(b) == "payload");
}

TEST_CASE("fault: an arming is consumed count times and then calls proceed", "[base]") {
  tern::fault::arm(tern::fault::Point::kRename, EACCES, 2);
  CHECK(tern::fault::check(tern::fault::Point::kFsync) == 0);
  CHECK(tern::fault::check(tern::fault::Point::kRename) == EACCES);
  CHECK(tern::fault::check(tern::fault::Point::kRename) == EACCES);
  CHECK(tern::fault::check(tern::fault::Point::kRename) == 0);
  tern::fault::arm_after(tern::fault::Point::kWrite, 2, EIO);
  CHECK(tern::fault::check(tern::fault::Point::kWrite) == 0);
  CHECK(tern::fault::check(tern::fault::Point::kWrite) == 0);
  CHECK(tern::fault::check(tern::fault::Point::kWrite) == EIO);
  CHECK(tern::fault::check(tern::fault::Point::kWrite) == 0);
  tern::fault::arm(tern::fault::Point::kWrite, EIO, 5);
  tern::fault::disarm_all();
  CHECK(tern::fault::check(tern::fault::Point::kWrite) == 0);
}

#endif  // TERN_FAULT_INJECTION
