#include "common/store/mapped_message.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/mail/mime.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using namespace tern::store;
using tern::test::TempDir;

}  // namespace

TEST_CASE("mapped_message: maps a file's bytes, and an empty file to none", "[store]") {
  TempDir dir;
  auto m = MappedMessage::open(dir.write("m", "Subject: x\r\n\r\nbody\r\n"), 1 << 20);
  REQUIRE(m);
  CHECK(m->bytes() == "Subject: x\r\n\r\nbody\r\n");
  m->release();  // the pages come back from the page cache
  CHECK(m->bytes() == "Subject: x\r\n\r\nbody\r\n");
  MappedMessage moved = std::move(*m);
  CHECK(moved.size() == 20);
  CHECK(m->size() == 0);
  auto empty = MappedMessage::open(dir.write("e", ""), 1 << 20);
  REQUIRE(empty);
  CHECK(empty->bytes().empty());
}

TEST_CASE("mapped_message: small files are read, larger ones mapped, the same bytes either way", "[store]") {
  TempDir dir;
  for (size_t size : {kCopyBelow - 1, kCopyBelow, kCopyBelow + 4097}) {
    std::string data(size, 'a');
    for (size_t i = 0; i < size; i += 997) data[i] = static_cast<char>('0' + i % 10);
    auto m = MappedMessage::open(dir.write("m" + std::to_string(size), data), 1 << 20);
    REQUIRE(m);
    CHECK(m->bytes() == data);
    MappedMessage moved = std::move(*m);  // the bytes do not move
    CHECK(moved.bytes() == data);
    moved.release();
    CHECK(moved.bytes() == data);
    MappedMessage assigned;
    assigned = std::move(moved);
    CHECK(assigned.bytes() == data);
    CHECK(moved.bytes().empty());
  }
}

TEST_CASE("mapped_message: an absent file is kNotFound, a big one kLimit", "[store]") {
  TempDir dir;
  auto none = MappedMessage::open(dir.path() + "/none", 1 << 20);
  REQUIRE(!none);
  CHECK(none.error().code == tern::Errc::kNotFound);
  auto big = MappedMessage::open(dir.write("big", std::string(100, 'x')), 99);
  REQUIRE(!big);
  CHECK(big.error().code == tern::Errc::kLimit);
}

TEST_CASE("mapped_message: an unlinked file stays readable while mapped", "[store]") {
  TempDir dir;
  std::string path = dir.write("m", "From: a@b\r\n\r\nx\r\n");
  auto m = MappedMessage::open(path, 1 << 20);
  REQUIRE(m);
  REQUIRE(::unlink(path.c_str()) == 0);
  CHECK(m->bytes() == "From: a@b\r\n\r\nx\r\n");
}

TEST_CASE("mime: parse_mime with progress reports forward offsets and the same tree", "[mail][mime]") {
  std::string msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n";
  msg += std::string(3 * tern::mail::kMimeProgressStep, 'a');
  msg += "\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>\r\n--b--\r\n";
  std::vector<size_t> offsets;
  auto with = tern::mail::parse_mime(msg, {}, [&](size_t at) { offsets.push_back(at); });
  auto without = tern::mail::parse_mime(msg);
  REQUIRE(with.parts.size() == without.parts.size());
  CHECK(with.parts.size() == 3);
  CHECK(with.parts[2].body_begin == without.parts[2].body_begin);
  CHECK(with.parts[2].is_type("text", "html"));
  // One long line: the parse reports once it is past it.
  REQUIRE(!offsets.empty());
  for (size_t i = 1; i < offsets.size(); ++i) CHECK(offsets[i] > offsets[i - 1]);
  CHECK(offsets.back() <= msg.size());
}
