#include "common/queue/qfile_writer.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "common/base/fault.h"
#include "common/queue/qfile_reader.h"
#include "tests/unit/common/queue/qfile_test_util.h"

namespace {

using namespace tern::queue;
using namespace tern::queue::test;
using tern::Errc;
using tern::test::TempDir;

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

void check_same(const Envelope& a, const Envelope& b) {
  CHECK(a.arrival == b.arrival);
  CHECK(a.sender == b.sender);
  CHECK(a.body == b.body);
  CHECK(a.smtputf8 == b.smtputf8);
  CHECK(a.ret == b.ret);
  CHECK(a.envid == b.envid);
  CHECK(a.attributes == b.attributes);
  REQUIRE(a.recipients.size() == b.recipients.size());
  for (size_t i = 0; i < a.recipients.size(); ++i) {
    CHECK(a.recipients[i].address == b.recipients[i].address);
    CHECK(a.recipients[i].orcpt == b.recipients[i].orcpt);
    CHECK(a.recipients[i].notify == b.recipients[i].notify);
    CHECK(a.recipients[i].original == b.recipients[i].original);
    CHECK(a.recipients[i].status == b.recipients[i].status);
  }
}

}  // namespace

TEST_CASE("qfile_writer: every envelope field and the message survive a round trip, hostile values included",
          "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  const Envelope env = full_envelope();
  const std::string message = "Subject: x\r\n\r\n.\r\n..two dots\r\nEND 5\n\tEOE\r\n";
  std::string path = write_queue_file(dir.path(), env, message);

  auto r = QfileReader::open(path);
  REQUIRE(r.ok());
  check_same(r->envelope(), env);
  CHECK(r->message_size() == message.size());
  auto bytes = r->read_message_all();
  REQUIRE(bytes.ok());
  CHECK(*bytes == message);

  // The hostile values added no line: one line per record.
  std::string text = slurp(path);
  std::string envelope = text.substr(0, r->envelope().message_offset);
  size_t lines = static_cast<size_t>(std::count(envelope.begin(), envelope.end(), '\n'));
  size_t pads = 0;
  for (size_t p = 0; (p = envelope.find("\npad", p)) != std::string::npos; ++p) ++pads;
  // magic, ARRIVAL, SENDER, BODY, SMTPUTF8, RET, ENVID, 4 attributes, 3 RCPT, EOE
  CHECK(lines == 15 + pads);
  CHECK(envelope.rfind("TERNQ 1\nARRIVAL 1718000000.123456\nSENDER evil%09SENDER x%2541%0ARCPT delivered@x\n", 0) == 0);
  CHECK(envelope.find("RCPT pending   \tTO=bob@example.org\tORCPT=rfc822;Bob@Example.org\tNOTIFY=SUCCESS,FAILURE"
                      "\toriginal=postmaster@example.org\n") != std::string::npos);
  const std::string trailer = "\r\nEND " + std::to_string(message.size()) + "\n";
  CHECK(text.substr(text.size() - trailer.size()) == trailer);
}

TEST_CASE("qfile_writer: a minimal envelope and an empty message round-trip", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  std::string path = write_queue_file(dir.path(), minimal_envelope(), "");
  CHECK(slurp(path) ==
        "TERNQ 1\nARRIVAL 1.000000\nSENDER \nRCPT pending   \tTO=root@localhost\nEOE\nEND 0\n");
  auto r = QfileReader::open(path);
  REQUIRE(r.ok());
  check_same(r->envelope(), minimal_envelope());
  CHECK(r->envelope().sender.empty());
  CHECK(r->message_size() == 0);
}

TEST_CASE("qfile_writer: an envelope larger than the write buffer is written whole", "[queue]") {
  // 2,000 recipients make a ~120 KB envelope, more than kBufferSize: the
  // first append used to compute a negative fill and wrote stray memory.
  TempDir dir;
  make_queue_dirs(dir.path());
  Envelope env = minimal_envelope();
  env.recipients.clear();
  for (int i = 0; i < 2000; ++i) {
    Recipient r;
    r.address = "recipient-" + std::to_string(i) + "@a-rather-long-domain-name.example.org";
    env.recipients.push_back(r);
  }
  for (std::string message : {std::string("x\r\n"), std::string(3 * QfileWriter::kBufferSize + 5, 'm')}) {
    TempDir d;
    make_queue_dirs(d.path());
    std::string path = write_queue_file(d.path(), env, message);
    auto r = QfileReader::open(path);
    REQUIRE(r.ok());
    check_same(r->envelope(), env);
    auto body = r->read_message_all();
    REQUIRE(body.ok());
    CHECK(*body == message);
  }
}

TEST_CASE("qfile_writer: a large message streamed in uneven chunks arrives byte for byte", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  std::string message;
  for (int i = 0; message.size() < 3 * 1024 * 1024; ++i) message += "line " + std::to_string(i) + " \x01\xff\r\n";
  auto w = QfileWriter::create(dir.path(), kId, minimal_envelope());
  REQUIRE(w.ok());
  size_t pos = 0;
  for (size_t chunk : {1UL, 100UL, 65535UL, 65536UL, 65537UL, 300000UL, 7UL}) {
    for (int k = 0; k < 3 && pos < message.size(); ++k) {
      size_t n = std::min(chunk, message.size() - pos);
      REQUIRE(w->append(std::string_view(message).substr(pos, n)).ok());
      pos += n;
    }
  }
  REQUIRE(w->append(std::string_view(message).substr(pos)).ok());
  CHECK(w->message_size() == message.size());
  REQUIRE(w->finish().ok());
  REQUIRE(w->commit().ok());

  auto r = QfileReader::open(w->incoming_path());
  REQUIRE(r.ok());
  std::string back;
  char buf[70000];
  for (uint64_t p = 0;;) {
    auto got = r->read_message(p, buf, sizeof buf);
    REQUIRE(got.ok());
    if (*got == 0) break;
    back.append(buf, *got);
    p += *got;
  }
  CHECK(back == message);
}

TEST_CASE("qfile_writer: exceeding the size limit is a sticky kLimit error and abort leaves nothing", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  {
    auto w = QfileWriter::create(dir.path(), kId, minimal_envelope(), {.size_limit = 100});
    REQUIRE(w.ok());
    REQUIRE(w->append(std::string(60, 'a')).ok());
    REQUIRE(w->append(std::string(40, 'b')).ok());  // exactly the limit
    auto st = w->append("c");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == Errc::kLimit);
    CHECK(w->append("d").error().code == Errc::kLimit);
    CHECK(w->finish().error().code == Errc::kLimit);
    CHECK_FALSE(w->commit().ok());
    w->abort();
    CHECK(files_in(dir.path() + "/tmp").empty());
  }
  CHECK(files_in(dir.path() + "/incoming").empty());
}

TEST_CASE("qfile_writer: abort and the destructor remove the file from tmp/", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  {
    auto w = QfileWriter::create(dir.path(), kId, minimal_envelope());
    REQUIRE(w.ok());
    REQUIRE(w->append("x").ok());
    CHECK(files_in(dir.path() + "/tmp").empty());  // still in the buffer
    REQUIRE(w->append(std::string(QfileWriter::kBufferSize, 'x')).ok());
    CHECK(files_in(dir.path() + "/tmp") == std::vector<std::string>{kId});
    w->abort();
    CHECK(files_in(dir.path() + "/tmp").empty());
    w->abort();  // twice is fine
  }
  {
    auto w = QfileWriter::create(dir.path(), kId, minimal_envelope());
    REQUIRE(w.ok());
    REQUIRE(w->finish().ok());
    QfileWriter moved = std::move(*w);  // the moved-from writer owns nothing
  }
  CHECK(files_in(dir.path() + "/tmp").empty());
  CHECK(files_in(dir.path() + "/incoming").empty());
}

TEST_CASE("qfile_writer: commit lands the file in incoming/ with mode 0600 and empties tmp/", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  std::string path = write_queue_file(dir.path(), full_envelope(), "hi\r\n");
  CHECK(path == dir.path() + "/incoming/" + kId);
  CHECK(files_in(dir.path() + "/tmp").empty());
  CHECK(files_in(dir.path() + "/incoming") == std::vector<std::string>{kId});
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("qfile_writer: refuses what it could not read back", "[queue]") {
  TempDir dir;
  make_queue_dirs(dir.path());
  {
    // The file is made when the buffer first goes out: at finish() here.
    auto w = QfileWriter::create(dir.path(), kId, minimal_envelope());
    REQUIRE(w.ok());
    CHECK(files_in(dir.path() + "/tmp").empty());
    auto again = QfileWriter::create(dir.path(), kId, minimal_envelope());
    REQUIRE(again.ok());
    REQUIRE(w->finish().ok());
    auto st = again->finish();  // O_EXCL: the first writer's file is kept
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().err == EEXIST);
    again->abort();
    CHECK(files_in(dir.path() + "/tmp") == std::vector<std::string>{kId});
    REQUIRE(w->commit().ok());
    CHECK(files_in(dir.path() + "/incoming") == std::vector<std::string>{kId});
  }
  {
    // A message past the buffer makes its file while it is written.
    auto w = QfileWriter::create(dir.path(), kId2, minimal_envelope());
    REQUIRE(w.ok());
    REQUIRE(w->append(std::string(QfileWriter::kBufferSize + 10, 'x')).ok());
    CHECK(files_in(dir.path() + "/tmp") == std::vector<std::string>{kId2});
    w->abort();
    CHECK(files_in(dir.path() + "/tmp").empty());
  }
  Envelope no_rcpt = minimal_envelope();
  no_rcpt.recipients.clear();
  Envelope bad_attr = minimal_envelope();
  bad_attr.attributes["Client"] = "x";
  Envelope pad_attr = minimal_envelope();
  pad_attr.attributes["pad"] = "x";
  Envelope long_sender = minimal_envelope();
  long_sender.sender = std::string(kMaxRecordLine, 'a');
  Envelope empty_rcpt = minimal_envelope();
  empty_rcpt.recipients[0].address.clear();
  Envelope bad_notify = minimal_envelope();
  bad_notify.recipients[0].notify = kNotifyNever | kNotifyDelay;
  for (const Envelope* e : {&no_rcpt, &bad_attr, &pad_attr, &long_sender, &empty_rcpt, &bad_notify}) {
    auto w = QfileWriter::create(dir.path(), kId2, *e);
    CHECK_FALSE(w.ok());
  }
  CHECK_FALSE(QfileWriter::create(dir.path(), "../../etc/passwd", minimal_envelope()).ok());
  CHECK(files_in(dir.path() + "/tmp") == std::vector<std::string>{});
}

TEST_CASE("qfile_writer: no status field straddles a 512-byte sector", "[queue]") {
  Envelope env = minimal_envelope();
  env.recipients.clear();
  for (int i = 0; i < 400; ++i) {
    Recipient r;
    r.address = std::string(1 + i % 53, 'u') + "@example.org";
    if (i % 3 == 0) r.orcpt = "rfc822;" + r.address;
    env.recipients.push_back(r);
  }
  auto text = format_envelope(env);
  REQUIRE(text.ok());
  std::string image = *text + "END 0\n";
  auto parsed = parse_qfile(image);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->recipients.size() == 400);
  size_t pads = 0;
  for (const auto& r : parsed->recipients) {
    CHECK(r.status_offset / kStatusSector == (r.status_offset + kStatusWidth - 1) / kStatusSector);
    CHECK(image.substr(r.status_offset - 5, 15) == "RCPT pending   ");
  }
  for (size_t p = 0; (p = image.find("\npad", p)) != std::string::npos; ++p) ++pads;
  CHECK(pads > 0);
}

#ifdef TERN_FAULT_INJECTION
TEST_CASE("qfile_writer: a failing write, fsync or rename leaves nothing in incoming/", "[queue]") {
  struct Case {
    const char* what;
    tern::fault::Point point;
    int skip;
    bool at_commit;  // arm after finish()
  };
  const Case cases[] = {
      {"write", tern::fault::Point::kWrite, 0, false},
      {"file fsync", tern::fault::Point::kFsync, 0, false},
      {"rename", tern::fault::Point::kRename, 0, true},
      {"incoming/ fsync", tern::fault::Point::kFsync, 0, true},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    TempDir dir;
    make_queue_dirs(dir.path());
    tern::fault::disarm_all();
    auto w = QfileWriter::create(dir.path(), kId, full_envelope());
    REQUIRE(w.ok());
    REQUIRE(w->append("Subject: x\r\n\r\nbody\r\n").ok());
    if (!c.at_commit) tern::fault::arm_after(c.point, c.skip, EIO);
    tern::Status st = w->finish();
    if (c.at_commit) {
      REQUIRE(st.ok());
      tern::fault::arm_after(c.point, c.skip, EIO);
      st = w->commit();
    } else {
      CHECK_FALSE(w->commit().ok());
    }
    tern::fault::disarm_all();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().err == EIO);
    CHECK(files_in(dir.path() + "/incoming").empty());
    w->abort();
    CHECK(files_in(dir.path() + "/tmp").empty());
  }
}
#endif
