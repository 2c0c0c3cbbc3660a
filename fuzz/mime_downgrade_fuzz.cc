// The 8-bit MIME downgrade (common/mail/mime_downgrade.h). Invariants, each
// abort()ing:
//   - scanning in one piece and in small pieces gives the same plan, and
//     converting gives the same bytes whatever the chunking;
//   - a message whose scan finds no 8-bit body to convert and nothing to
//     relabel comes out unchanged when it has no 8-bit bytes at all;
//   - when the plan converts and nothing else is 8-bit (no header,
//     preamble, signed or unparsed 8-bit bytes), the output is 7-bit.

#include <string>

#include "common/mail/mime_downgrade.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::mail;

namespace {

DowngradePlan scan(std::string_view in, size_t piece) {
  MimeDowngrade s;
  std::string ignored;
  for (size_t i = 0; i < in.size(); i += piece) s.feed(in.substr(i, piece), ignored);
  s.finish(ignored);
  if (!ignored.empty()) fail("scan wrote output");
  return s.plan();
}

std::string convert(std::string_view in, const DowngradePlan& plan, size_t piece) {
  MimeDowngrade c(plan);
  std::string out;
  for (size_t i = 0; i < in.size(); i += piece) c.feed(in.substr(i, piece), out);
  c.finish(out);
  return out;
}

bool same(const DowngradePlan& a, const DowngradePlan& b) {
  return a.convertible_8bit == b.convertible_8bit && a.signed_8bit == b.signed_8bit && a.other_8bit == b.other_8bit &&
         a.part_8bit == b.part_8bit && a.parts == b.parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  DowngradePlan whole = scan(text, text.size() + 1);
  if (!same(whole, scan(text, 7))) fail("the plan depends on the chunking");
  std::string out = convert(text, whole, text.size() + 1);
  if (out != convert(text, whole, 5)) fail("the conversion depends on the chunking");
  if (!whole.any_8bit() && out.size() < text.size()) fail("a 7-bit message lost bytes");
  if (whole.convert() && !whole.signed_8bit && !whole.other_8bit) {
    for (unsigned char c : out)
      if (c >= 0x80 || c == 0) fail("8-bit bytes left after conversion");
  }
  return 0;
}
