#include "common/queue/qfile_reader.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "common/base/durable.h"
#include "common/base/fault.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::Errc;
using tern::test::TempDir;

constexpr std::string_view kMessage = "Subject: hi\r\n\r\nbody\r\n";

std::string valid_image() {
  auto env = format_envelope(full_envelope());
  REQUIRE(env.ok());
  return *env + std::string(kMessage) + "END " + std::to_string(kMessage.size()) + "\n";
}

std::string replace(std::string s, std::string_view from, std::string_view to) {
  size_t p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}

std::string before_eoe(std::string_view record) { return replace(valid_image(), "\nEOE\n", "\n" + std::string(record) + "EOE\n"); }

}  // namespace

TEST_CASE("qfile_reader: parses the writer's image and finds the message by the trailer", "[queue]") {
  std::string image = valid_image();
  auto env = parse_qfile(image);
  REQUIRE(env.ok());
  CHECK(env->recipients.size() == 3);
  CHECK(env->message_size == kMessage.size());
  CHECK(image.substr(env->message_offset, env->message_size) == kMessage);
  CHECK(image.substr(env->eoe_offset, 4) == "EOE\n");
  for (const auto& r : env->recipients) CHECK(image.substr(r.status_offset - 5, 5) == "RCPT ");
}

TEST_CASE("qfile_reader: rejects damaged and hostile files as corrupt", "[queue]") {
  const std::string good = valid_image();
  const std::string trailer = "END " + std::to_string(kMessage.size()) + "\n";
  const std::string no_trailer = good.substr(0, good.size() - trailer.size());
  struct Case {
    const char* what;
    std::string image;
  };
  const Case cases[] = {
      {"empty file", ""},
      {"garbage", "\x7f" "ELF\x02\x01\x01\0\0\0garbage\n\n\n"},
      {"bad magic", replace(good, "TERNQ 1\n", "TERNX 1\n")},
      {"unsupported version", replace(good, "TERNQ 1\n", "TERNQ 2\n")},
      {"bad version", replace(good, "TERNQ 1\n", "TERNQ -1\n")},
      {"missing trailer", no_trailer},
      {"short trailer", good.substr(0, good.size() - 1)},
      {"trailer cut in its word", no_trailer + "EN"},
      {"count too large", no_trailer + "END " + std::to_string(kMessage.size() + 1) + "\n"},
      {"count too small", no_trailer + "END " + std::to_string(kMessage.size() - 1) + "\n"},
      {"count with a leading zero", no_trailer + "END 0" + std::to_string(kMessage.size()) + "\n"},
      {"huge count", no_trailer + "END 99999999999999999999\n"},
      {"trailer with junk", no_trailer + "END 22x\n"},
      {"bytes after the trailer", good + "X\n"},
      {"unknown mandatory record", before_eoe("FUTURE something\n")},
      {"unknown mandatory RCPT field", replace(good, "\tTO=bob@", "\tPRIORITY=1\tTO=bob@")},
      {"truncated envelope", good.substr(0, good.find("RCPT") + 20)},
      {"envelope without EOE", replace(good, "\nEOE\n", "\n")},
      {"EOE with a value", replace(good, "\nEOE\n", "\nEOE x\n")},
      {"repeated SENDER", before_eoe("SENDER a@b\n")},
      {"repeated attribute", before_eoe("client_address 1.2.3.4\n")},
      {"no ARRIVAL", replace(good, "ARRIVAL 1718000000.123456\n", "")},
      {"bad ARRIVAL", replace(good, "ARRIVAL 1718000000.123456\n", "ARRIVAL 1718000000.12345\n")},
      {"ARRIVAL past 2262", replace(good, "ARRIVAL 1718000000.123456\n", "ARRIVAL 999999999999.000000\n")},
      {"no SENDER", replace(good, good.substr(good.find("SENDER"), good.find('\n', good.find("SENDER")) - good.find("SENDER") + 1), "")},
      {"bad BODY", replace(good, "BODY 8BITMIME", "BODY 9BIT")},
      {"bad SMTPUTF8", replace(good, "SMTPUTF8 yes", "SMTPUTF8 no")},
      {"bad RET", replace(good, "RET HDRS", "RET ALL")},
      {"bad escape", replace(good, "ENVID id%25", "ENVID id%2")},
      {"raw CR in a record", replace(good, "ENVID id", "ENVID i\rd")},
      {"bad record name", before_eoe("9lives x\n")},
      {"empty record name", before_eoe(" x\n")},
      {"unknown status", replace(good, "RCPT pending   \tTO=bob", "RCPT sent      \tTO=bob")},
      {"torn status", replace(good, "RCPT pending   \tTO=bob", "RCPT pendivered\tTO=bob")},
      {"status field too short", replace(good, "RCPT pending   \tTO=bob", "RCPT pending\tTO=bob")},
      {"RCPT without TO", replace(good, "\tTO=bob@example.org", "\tto=bob@example.org")},
      {"repeated RCPT field", replace(good, "\tTO=bob@example.org", "\tTO=bob@example.org\tTO=x@y")},
      {"RCPT field without =", replace(good, "\tTO=bob@example.org", "\tTO=bob@example.org\toops")},
      {"bad NOTIFY", replace(good, "NOTIFY=SUCCESS,FAILURE", "NOTIFY=SUCCESS,NEVER")},
      {"no recipients", "TERNQ 1\nARRIVAL 1.000000\nSENDER \nEOE\nEND 0\n"},
      {"over-long line", before_eoe("x_long " + std::string(kMaxRecordLine, 'a') + "\n")},
      {"over-long line without LF", "TERNQ 1\nSENDER " + std::string(3 * kMaxRecordLine, 'a')},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    auto env = parse_qfile(c.image);
    REQUIRE_FALSE(env.ok());
    CHECK(env.error().code == Errc::kCorrupt);
    CHECK_FALSE(env.error().text.empty());
  }
}

TEST_CASE("qfile_reader: skips optional records and fields it does not know", "[queue]") {
  std::string image = before_eoe("x_future_thing 42%09\npad      \npad\n");
  image = replace(image, "\tTO=bob@example.org", "\tTO=bob@example.org\tpriority=low\tz9=");
  auto env = parse_qfile(image);
  REQUIRE(env.ok());
  REQUIRE(env->attribute("x_future_thing") != nullptr);
  CHECK(*env->attribute("x_future_thing") == "42\t");
  CHECK(env->attribute("pad") == nullptr);
  CHECK(env->recipients[0].address == "bob@example.org");
}

TEST_CASE("qfile_reader: a trailer-like line at the end of the message does not confuse it", "[queue]") {
  for (std::string message : {"END 5\n", "x\r\nEND 12\nEND ", "no final newline", "END 0\n"}) {
    auto env = format_envelope(minimal_envelope());
    REQUIRE(env.ok());
    std::string image = *env + message + "END " + std::to_string(message.size()) + "\n";
    auto parsed = parse_qfile(image);
    REQUIRE(parsed.ok());
    CHECK(image.substr(parsed->message_offset, parsed->message_size) == message);
  }
}

TEST_CASE("qfile_reader: bounds the recipients and attributes it accepts", "[queue]") {
  std::string image = valid_image();
  CHECK(parse_qfile(image, {.max_recipients = 3}).ok());
  auto too_many = parse_qfile(image, {.max_recipients = 2});
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().code == Errc::kCorrupt);
  CHECK_FALSE(parse_qfile(image, {.max_attributes = 3}).ok());
  // A flood of records is cut off before it costs unbounded time or memory.
  std::string flood = "TERNQ 1\n";
  for (int i = 0; i < 5000; ++i) flood += "pad\n";
  CHECK(parse_qfile(flood + "EOE\nEND 0\n", {.max_recipients = 10, .max_attributes = 10}).error().code ==
        Errc::kCorrupt);
}

TEST_CASE("qfile_reader: rewrites a status in place and leaves every other byte as it was", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  std::string path = write_queue_file(dir.path(), full_envelope(), kMessage);
  const std::string before = slurp(path);
  uint64_t offset = 0;
  {
    auto r = QfileReader::open(path, OpenMode::kReadWrite);
    REQUIRE(r.ok());
    offset = r->envelope().recipients[1].status_offset;
    REQUIRE(r->set_recipient_status(1, RcptStatus::kDelivered).ok());
    CHECK(r->envelope().recipients[1].status == RcptStatus::kDelivered);
    CHECK(r->set_recipient_status(3, RcptStatus::kDelivered).error().code == Errc::kInvalid);
  }
  const std::string after = slurp(path);
  REQUIRE(after.size() == before.size());
  CHECK(after.substr(offset, kStatusWidth) == "delivered ");
  CHECK(after.substr(0, offset) == before.substr(0, offset));
  CHECK(after.substr(offset + kStatusWidth) == before.substr(offset + kStatusWidth));

  auto r = QfileReader::open(path);
  REQUIRE(r.ok());
  CHECK(r->envelope().recipients[0].status == RcptStatus::kPending);
  CHECK(r->envelope().recipients[1].status == RcptStatus::kDelivered);
  CHECK(r->envelope().recipients[2].status == RcptStatus::kDelayed);
  // Read-only readers cannot change anything.
  CHECK(r->set_recipient_status(0, RcptStatus::kBounced).error().code == Errc::kInvalid);

  // Every status word fits the field and reads back.
  auto rw = QfileReader::open(path, OpenMode::kReadWrite);
  REQUIRE(rw.ok());
  for (RcptStatus s : {RcptStatus::kPending, RcptStatus::kDelayed, RcptStatus::kDelivered, RcptStatus::kRelayed,
                       RcptStatus::kBounced}) {
    REQUIRE(rw->set_recipient_status(0, s).ok());
    auto again = QfileReader::open(path);
    REQUIRE(again.ok());
    CHECK(again->envelope().recipients[0].status == s);
  }
}

TEST_CASE("qfile_reader: open reports missing files, directories and corrupt files", "[queue]") {
  TempDir dir;
  auto missing = QfileReader::open(dir.path() + "/nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().err == ENOENT);
  auto directory = QfileReader::open(dir.path());
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().code == Errc::kInvalid);
  std::string bad = dir.write("bad", valid_image() + "trailing");
  auto corrupt = QfileReader::open(bad);
  REQUIRE_FALSE(corrupt.ok());
  CHECK(corrupt.error().code == Errc::kCorrupt);
  CHECK(corrupt.error().text.find(bad) == 0);
  std::string big = dir.write("big", valid_image());
  auto r = QfileReader::open(big);
  REQUIRE(r.ok());
  CHECK(r->read_message_all(3).error().code == Errc::kLimit);
}

#ifdef TERN_FAULT_INJECTION
TEST_CASE("qfile_reader: a failing fsync of a status rewrite is reported", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  std::string path = write_queue_file(dir.path(), minimal_envelope(), kMessage);
  auto r = QfileReader::open(path, OpenMode::kReadWrite);
  REQUIRE(r.ok());
  tern::fault::arm(tern::fault::Point::kFsync, EIO);
  auto st = r->set_recipient_status(0, RcptStatus::kDelivered);
  tern::fault::disarm_all();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().err == EIO);
  CHECK(r->envelope().recipients[0].status == RcptStatus::kPending);
}
#endif

TEST_CASE("qfile_reader: rewrites several statuses with one call, and refuses a bad index before writing", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  std::string path = write_queue_file(dir.path(), full_envelope(), kMessage);
  {
    auto r = QfileReader::open(path, OpenMode::kReadWrite);
    REQUIRE(r.ok());
    REQUIRE(r->set_recipient_statuses({{0, RcptStatus::kBounced}, {2, RcptStatus::kRelayed}}).ok());
    CHECK(r->envelope().recipients[0].status == RcptStatus::kBounced);
    CHECK(r->set_recipient_statuses({{1, RcptStatus::kDelivered}, {7, RcptStatus::kDelivered}}).error().code ==
          Errc::kInvalid);
    CHECK(r->set_recipient_statuses({}).ok());
  }
  auto r = QfileReader::open(path);
  REQUIRE(r.ok());
  CHECK(r->envelope().recipients[0].status == RcptStatus::kBounced);
  CHECK(r->envelope().recipients[1].status == RcptStatus::kPending);  // the refused call wrote nothing
  CHECK(r->envelope().recipients[2].status == RcptStatus::kRelayed);
}
