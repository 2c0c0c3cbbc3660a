#include "common/store/message_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/base/fd.h"
#include "common/base/fault.h"
#include "common/store/maildir.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::test::TempDir;

}  // namespace

TEST_CASE("message_file: names parse into base, sizes, flags and time", "[store]") {
  auto m = parse_message_name("1732312345.M123456P42Q7.mx,S=1200,W=1234:2,FS");
  REQUIRE(m);
  CHECK(m->base == "1732312345.M123456P42Q7.mx,S=1200,W=1234");
  CHECK(m->flags == "FS");
  CHECK(m->has_info);
  CHECK(m->size == 1200u);
  CHECK(m->rfc822_size == 1234u);
  CHECK(m->seconds == 1732312345u);
  CHECK(m->usec == 123456u);

  auto plain = parse_message_name("1000.12345_1.host");  // an older writer
  REQUIRE(plain);
  CHECK(plain->base == "1000.12345_1.host");
  CHECK_FALSE(plain->has_info);
  CHECK_FALSE(plain->size.has_value());
  CHECK(plain->seconds == 1000u);
  CHECK(plain->usec == 0u);

  auto odd = parse_message_name("weird,S=x");
  REQUIRE(odd);
  CHECK_FALSE(odd->size.has_value());
  CHECK(odd->seconds == 0u);

  for (const char* bad : {"", ".hidden", ":2,S", "a\tb", "a\nb"}) {
    INFO(bad);
    CHECK_FALSE(parse_message_name(bad).has_value());
  }
  CHECK_FALSE(parse_message_name(std::string(256, 'a')).has_value());
}

TEST_CASE("message_file: crlf_size counts a bare LF as two bytes", "[store]") {
  CHECK(crlf_size("a\r\nb\r\n") == 6);
  CHECK(crlf_size("a\nb\n") == 6);
  CHECK(crlf_size("\n") == 2);
  CHECK(crlf_size("") == 0);
}

TEST_CASE("message_file: deliver writes CRLF into new/ with S= and W=", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  auto name = deliver(md, "Subject: x\n\nbody\r\nline\n");
  REQUIRE(name.ok());
  auto m = parse_message_name(*name);
  REQUIRE(m);
  const std::string want = "Subject: x\r\n\r\nbody\r\nline\r\n";
  CHECK(m->size == want.size());
  CHECK(m->rfc822_size == want.size());
  CHECK_FALSE(m->has_info);
  auto content = tern::read_file(md + "/new/" + *name);
  REQUIRE(content.ok());
  CHECK(*content == want);
  CHECK(dir.files("Maildir/tmp").empty());

  // Names are unique even within one microsecond.
  auto second = deliver(md, "x");
  REQUIRE(second.ok());
  CHECK(*second != *name);
}

TEST_CASE("message_file: a CR at a chunk's end does not double the LF after it", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  auto w = MessageWriter::create(md);
  REQUIRE(w.ok());
  REQUIRE(w->write("a\r").ok());
  REQUIRE(w->write("\nb\n").ok());
  auto name = w->commit();
  REQUIRE(name.ok());
  CHECK(*tern::read_file(md + "/new/" + *name) == "a\r\nb\r\n");
}

TEST_CASE("message_file: an abandoned or failed delivery leaves nothing behind", "[store]") {
  TempDir dir;
  REQUIRE(ensure_maildir(dir.path()).ok());
  const std::string md = dir.path() + "/Maildir";
  {
    auto w = MessageWriter::create(md);
    REQUIRE(w.ok());
    REQUIRE(w->write("half a message").ok());
    CHECK(dir.files("Maildir/tmp").size() == 1);
  }
  CHECK(dir.files("Maildir/tmp").empty());
#ifdef TERN_FAULT_INJECTION
  tern::fault::arm(tern::fault::Point::kFsync, EIO);
  CHECK_FALSE(deliver(md, "x").ok());
  tern::fault::disarm_all();
  CHECK(dir.files("Maildir/tmp").empty());
  CHECK(dir.files("Maildir/new").empty());
#endif
  CHECK_FALSE(deliver(dir.path() + "/nowhere", "x").ok());
}
