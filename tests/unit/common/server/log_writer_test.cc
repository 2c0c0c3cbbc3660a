#include "common/server/log_writer.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/support/temp_dir.h"

using namespace tern;

namespace {

std::string read_all(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

server::LogWriter open_writer(const std::string& file) {
  auto cf = config::MainCf::parse("maillog_file = " + file + "\n", "main.cf");
  REQUIRE(cf.ok());
  server::LogWriter w;
  REQUIRE(w.open(*cf).ok());
  return w;
}

}  // namespace

TEST_CASE("log_writer: lines go out at once, or in one write between hold() and flush()", "[server]") {
  test::TempDir dir;
  std::string file = dir.path() + "/maillog";
  server::LogWriter w = open_writer(file);
  w.write(log::Level::kInfo, "tern/smtpd[1]: one");
  std::string got = read_all(file);
  CHECK(got.find(" tern/smtpd[1]: one\n") != std::string::npos);
  w.hold();
  w.write(log::Level::kInfo, "tern/smtpd[1]: two");
  w.write(log::Level::kWarning, "tern/qmgr[2]: warning: three");
  CHECK(read_all(file) == got);  // held
  w.flush();
  got = read_all(file);
  CHECK(got.find("one\n") < got.find("two\n"));
  CHECK(got.find("two\n") < got.find("three\n"));
  // After flush() lines go out at once again.
  w.write(log::Level::kInfo, "tern/smtpd[1]: four");
  CHECK(read_all(file).find("four\n") != std::string::npos);
}

TEST_CASE("log_writer: a held batch leaves once it passes kMaxHeld bytes", "[server]") {
  test::TempDir dir;
  std::string file = dir.path() + "/maillog";
  server::LogWriter w = open_writer(file);
  w.hold();
  std::string text = "tern/smtpd[1]: " + std::string(1000, 'x');
  size_t lines = server::LogWriter::kMaxHeld / 1000 + 2;
  for (size_t i = 0; i < lines; ++i) w.write(log::Level::kInfo, text);
  std::string got = read_all(file);
  CHECK(!got.empty());  // not all of it waited for flush()
  CHECK(got.back() == '\n');  // whole lines only
  w.flush();
  got = read_all(file);
  size_t n = 0;
  for (char c : got) n += c == '\n';
  CHECK(n == lines);
}
