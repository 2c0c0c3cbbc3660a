#include "smtp-client/message_stream.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/queue/qfile_reader.h"
#include "common/queue/qfile_writer.h"
#include "tests/unit/common/queue/qfile_test_util.h"

using namespace tern;
using namespace tern::smtp_client;

namespace {

std::string stuff_in_pieces(std::string_view msg, size_t piece) {
  DotStuffer d;
  std::string out;
  for (size_t i = 0; i < msg.size(); i += piece) d.feed(msg.substr(i, piece), out);
  d.finish(out);
  return out;
}

}  // namespace

TEST_CASE("dot-stuffing: a '.' at a line start is doubled, whatever the chunking") {
  struct Case {
    std::string in, out;
  };
  Case cases[] = {
      {"a\r\n", "a\r\n.\r\n"},
      {".\r\n", "..\r\n.\r\n"},
      {"x\r\n.y\r\n..z\r\nq.r\r\n", "x\r\n..y\r\n...z\r\nq.r\r\n.\r\n"},
      {"no end", "no end\r\n.\r\n"},
      {"ends in dot\r\n.", "ends in dot\r\n..\r\n.\r\n"},
      {"", ".\r\n"},
      {"cr only\r", "cr only\r\r\n.\r\n"},
  };
  for (const auto& c : cases) {
    for (size_t piece : {1, 2, 3, 7, 1000}) {
      INFO(c.in << " in pieces of " << piece);
      CHECK(stuff_in_pieces(c.in, piece) == c.out);
    }
  }
}

TEST_CASE("dot-stuffing: MessageStream reads a queue file a chunk at a time") {
  tern::test::TempDir dir;
  queue::test::make_queue_dirs(dir.path());
  std::string msg = "Subject: dots\r\n\r\n";
  for (int i = 0; i < 5000; ++i) msg += (i % 3 == 0 ? ".line " : "line ") + std::to_string(i) + "\r\n";
  msg += ".";
  auto w = queue::QfileWriter::create(dir.path(), queue::test::kId, queue::test::minimal_envelope());
  REQUIRE(w);
  REQUIRE(w->append(msg));
  REQUIRE(w->finish());
  REQUIRE(w->commit());
  auto r = queue::QfileReader::open(w->incoming_path());
  REQUIRE(r);
  MessageStream m(*r);
  std::string out;
  size_t rounds = 0;
  while (!m.done()) {
    size_t before = out.size();
    REQUIRE(m.fill(out, 1000));
    CHECK(out.size() - before <= 2000);  // bounded: at most twice the chunk
    ++rounds;
  }
  CHECK(rounds > msg.size() / 1000);
  CHECK(out == stuff_in_pieces(msg, msg.size()));
  // Undo the stuffing: the message comes back.
  std::string back;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find("\r\n", pos);
    REQUIRE(nl != std::string::npos);
    std::string line = out.substr(pos, nl - pos);
    pos = nl + 2;
    if (line == ".") break;
    if (!line.empty() && line[0] == '.') line.erase(0, 1);
    back += line + "\r\n";
  }
  CHECK(pos == out.size());
  CHECK(back == msg + "\r\n");
}
