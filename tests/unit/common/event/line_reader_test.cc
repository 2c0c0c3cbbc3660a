#include "common/event/line_reader.h"

#include <event2/buffer.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

namespace {

using tern::event::LineReader;
using Buffer = std::unique_ptr<evbuffer, void (*)(evbuffer*)>;

Buffer buffer() { return Buffer(evbuffer_new(), evbuffer_free); }

void add(evbuffer* b, const std::string& s) { evbuffer_add(b, s.data(), s.size()); }

// Everything the reader gives for what is in the buffer: lines, and
// "TOO LONG" for each refused one.
std::vector<std::string> drain(LineReader& r, evbuffer* b) {
  std::vector<std::string> out;
  std::string line;
  for (int i = 0; i < 100; ++i) {
    switch (r.next(b, &line)) {
      case LineReader::Read::kLine: out.push_back(line); break;
      case LineReader::Read::kTooLong: out.push_back("TOO LONG"); break;
      case LineReader::Read::kNeedMore: return out;
    }
  }
  FAIL("the reader did not stop");
  return out;
}

}  // namespace

TEST_CASE("line_reader: lines end in LF, a CR before it is removed, a partial line waits", "[event]") {
  auto b = buffer();
  LineReader r(16);
  add(b.get(), "NOOP\r\nQUIT\nRSE");
  CHECK(drain(r, b.get()) == std::vector<std::string>{"NOOP", "QUIT"});
  add(b.get(), "T\r\n");
  CHECK(drain(r, b.get()) == std::vector<std::string>{"RSET"});
  CHECK(evbuffer_get_length(b.get()) == 0);
}

TEST_CASE("line_reader: a line past the limit is reported once and dropped to its end", "[event]") {
  auto b = buffer();
  LineReader r(8);
  add(b.get(), "123456789\r\nNOOP\r\n");
  CHECK(drain(r, b.get()) == std::vector<std::string>{"TOO LONG", "NOOP"});
  // A flood without a newline: reported once, memory stays bounded, and
  // its end is dropped when it comes.
  add(b.get(), std::string(20, 'x'));
  CHECK(drain(r, b.get()) == std::vector<std::string>{"TOO LONG"});
  CHECK(evbuffer_get_length(b.get()) == 0);
  add(b.get(), std::string(20, 'y'));
  CHECK(drain(r, b.get()).empty());
  add(b.get(), "yy\r\nQUIT\r\n");
  CHECK(drain(r, b.get()) == std::vector<std::string>{"QUIT"});
  // Exactly the limit is fine.
  add(b.get(), "12345678\n");
  CHECK(drain(r, b.get()) == std::vector<std::string>{"12345678"});
  // reset() forgets a line being dropped (a new stream after STARTTLS).
  add(b.get(), std::string(20, 'z'));
  CHECK(drain(r, b.get()) == std::vector<std::string>{"TOO LONG"});
  r.reset();
  add(b.get(), "tail\r\n");
  CHECK(drain(r, b.get()) == std::vector<std::string>{"tail"});
}
