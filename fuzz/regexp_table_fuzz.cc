// regexp: tables (common/table/regexp_table.cc) opened through table::open.
// The table code reads only from a file, so the input is written to one file
// per process (created under $TMPDIR or /tmp at the first input, rewritten
// for each input, removed at exit). A table that opened answers a few
// lookups, one of them a key taken from the input itself.
// Invariant: a lookup returns a value, not-found, or (for a bad key) invalid.

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/table/table.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;

namespace {

// Keys drawn from the input are cut here: glibc's regexec backtracks on back
// references, and a long key would make a slow regex library look like a
// hang in the table code.
constexpr size_t kMaxInputKey = 64;

std::string g_path;

void remove_file() {
  if (!g_path.empty()) unlink(g_path.c_str());
}

const std::string& table_file() {
  if (g_path.empty()) {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/regexp_table_fuzz.XXXXXX";
    int fd = mkstemp(tmpl.data());
    if (fd < 0) fail("mkstemp failed");
    ::close(fd);
    g_path = tmpl;
    std::atexit(remove_file);
  }
  return g_path;
}

void write_file(const std::string& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) fail("cannot open the table file");
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) fail("cannot write the table file");
    text.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
}

void check_lookup(const tern::table::Table& t, std::string_view key) {
  auto r = t.lookup(key);
  if (r) return;
  auto code = r.error().code;
  if (code == tern::Errc::kNotFound) return;
  if (code == tern::Errc::kInvalid &&
      (key.size() > tern::table::kMaxKeyLength || key.find('\0') != std::string_view::npos))
    return;
  fail(("unexpected lookup error: " + r.error().text).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  const std::string& path = table_file();
  write_file(path, text);
  auto table = tern::table::open("regexp:" + path);
  if (!table) return 0;
  const tern::table::Table& t = **table;
  for (std::string_view key : {"", "user@example.com", "Postmaster@Example.ORG", "MAILER-DAEMON",
                               "a.b-c+d@sub.example.net", "[192.0.2.1]"})
    check_lookup(t, key);
  // The first line of the input, often close to what its own patterns match.
  std::string_view first = text.substr(0, text.find('\n'));
  check_lookup(t, first.substr(0, kMaxInputKey));
  check_lookup(t, std::string(tern::table::kMaxKeyLength + 1, 'a'));
  if (t.entries()) fail("a regexp table listed entries");
  return 0;
}
