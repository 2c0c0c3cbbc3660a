// The showq protocol (common/queue/showq_protocol.h): the client's decoder
// fed a hostile server's lines, and the server's request parser. Invariants,
// each abort()ing:
//   - every entry the decoder returns re-encodes (format_entry) to lines
//     that decode to the same entry;
//   - a request that parses formats to a line that parses to the same
//     request.

#include <string>

#include "common/queue/showq_protocol.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
namespace showq = tern::queue::showq;

namespace {

const std::string kGreeting = "VERSION\tshowq\t1\t0";

void check_reencodes(const tern::queue::ListingEntry& e) {
  showq::Decoder d;
  if (!d.feed(kGreeting)) fail("the greeting does not decode");
  const std::string text = showq::format_entry(e);
  size_t start = 0;
  bool got = false;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    auto ev = d.feed(std::string_view(text).substr(start, nl - start));
    if (!ev) fail("format_entry() output does not decode");
    if (*ev == showq::Decoder::Event::kEntry) {
      if (!(d.take_entry() == e)) fail("entry round trip changed the entry");
      got = true;
    }
    start = nl + 1;
  }
  if (!got) fail("format_entry() output gives no entry");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);

  showq::Decoder d;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    auto ev = d.feed(text.substr(start, nl - start));
    if (!ev) break;
    if (*ev == showq::Decoder::Event::kEntry) check_reencodes(d.take_entry());
    start = nl + 1;
  }

  auto req = showq::Request::parse(text);
  if (req) {
    auto again = showq::Request::parse(req->format());
    if (!again || again->id != req->id) fail("request round trip changed the request");
  }
  return 0;
}
