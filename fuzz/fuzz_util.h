#pragma once
// What every fuzz target shares: the input bound and a loud failure for a
// broken invariant (libFuzzer and the replay driver both report an abort).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tern::fuzz {

// Inputs above this are skipped: the parsers' cost grows with the size, and
// 64 KiB is far more than any interesting main.cf, master.cf or IPC line.
inline constexpr size_t kMaxInput = 64 * 1024;

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return size == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data), size);
}

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace tern::fuzz

// The libFuzzer entry point every target defines.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
