#pragma once
// A temporary directory for unit tests (under TMPDIR or /tmp), removed with
// its files at scope exit.

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/durable.h"

namespace tern::test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tern-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes <dir>/<name> and returns its path.
  std::string write(const std::string& name, std::string_view content) const {
    std::string p = path_ + "/" + name;
    REQUIRE(write_file_atomic(p, content, DurableOptions{0644, false}).ok());
    return p;
  }
  // The entries of the directory, or of its subdirectory `sub`.
  std::vector<std::string> files(const std::string& sub = "") const {
    std::vector<std::string> out;
    const std::string dir = sub.empty() ? path_ : path_ + "/" + sub;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
  }

 private:
  std::string path_;
};

}  // namespace tern::test
