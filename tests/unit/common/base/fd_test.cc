#include "common/base/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace {

std::string temp_file(const std::string& content) {
  const char* base = std::getenv("TMPDIR");
  std::string path = std::string(base && *base ? base : "/tmp") + "/tern-fd-XXXXXX";
  int fd = ::mkstemp(path.data());
  REQUIRE(fd >= 0);
  tern::Fd owner(fd);
  REQUIRE(tern::write_all(fd, content).ok());
  return path;
}

}  // namespace

TEST_CASE("fd: read_file honours its size limit", "[base]") {
  struct Case {
    size_t size, limit;
    bool ok;
  };
  const Case cases[] = {
      {0, 0, true},          {10, 10, true},          {11, 10, false},         {0, 10, true},
      {65536, 65536, true},  {65537, 65536, false},   {200000, 199999, false}, {200000, 200000, true},
      {200000, 1 << 20, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.size, c.limit);
    std::string content(c.size, 'q');
    std::string path = temp_file(content);
    auto r = tern::read_file(path, c.limit);
    ::unlink(path.c_str());
    REQUIRE(r.ok() == c.ok);
    if (c.ok)
      CHECK(*r == content);
    else
      CHECK(r.error().code == tern::Errc::kLimit);
  }
}

TEST_CASE("fd: read_file of a missing file names it", "[base]") {
  auto r = tern::read_file("/nonexistent/tern/file");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == tern::Errc::kSystem);
  CHECK(r.error().err == ENOENT);
  CHECK(r.error().text.find("/nonexistent/tern/file") != std::string::npos);
}

TEST_CASE("fd: an Fd closes on destruction and moves ownership", "[base]") {
  int raw;
  {
    auto fd = tern::open_fd("/dev/null", O_RDONLY);
    REQUIRE(fd.ok());
    CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);
    tern::Fd moved = std::move(*fd);
    CHECK_FALSE(fd->valid());
    raw = moved.get();
    CHECK(::fcntl(raw, F_GETFD) >= 0);
  }
  CHECK(::fcntl(raw, F_GETFD) < 0);
}
