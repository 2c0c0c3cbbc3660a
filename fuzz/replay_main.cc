// Replays fuzz inputs without libFuzzer: calls LLVMFuzzerTestOneInput once on
// an empty input, then on every file named on the command line and every
// regular file directly inside each directory named there (sorted, so runs
// are repeatable). Each target built with this is registered as a CTest test
// over its seed corpus, so every ordinary build replays the corpora.
// Exit status: 0, or 1 when a path cannot be read (a target that finds a bug
// aborts on its own).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz/fuzz_util.h"

namespace fs = std::filesystem;

namespace {

bool run_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    std::fprintf(stderr, "replay: error reading %s\n", path.c_str());
    return false;
  }
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), data.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  LLVMFuzzerTestOneInput(nullptr, 0);
  bool ok = true;
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (!fs::is_directory(arg, ec)) {
      ok &= run_file(arg);
      ++count;
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(arg, ec))
      if (entry.is_regular_file()) files.push_back(entry.path());
    if (ec) {
      std::fprintf(stderr, "replay: cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
      ok = false;
      continue;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      ok &= run_file(f);
      ++count;
    }
  }
  std::fprintf(stderr, "replay: %zu input(s) and the empty input, %s\n", count, ok ? "done" : "with errors");
  return ok ? 0 : 1;
}
