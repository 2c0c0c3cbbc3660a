// The dovecot-keywords reader (common/store/keywords.h) fed a hostile file.
// Invariants, each abort()ing:
//   - no index is both named and reserved, every name is a valid keyword and
//     found again under its own index;
//   - the file written back from a table reads as the same table (so a
//     reservation lasts as long as its damaged line);
//   - read as a prefix cut at the size bound, every name comes from a
//     complete line of the input, and a file ending in LF reads the same
//     either way.

#include <string>

#include "common/store/keywords.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
namespace store = tern::store;

namespace {

void check(const store::KeywordTable& t) {
  if (t.known() & t.reserved) fail("an index is both named and reserved");
  for (size_t i = 0; i < t.names.size(); ++i) {
    if (t.names[i].empty()) continue;
    if (!store::valid_keyword(t.names[i])) fail("an invalid name was accepted");
    auto again = t.find(t.names[i]);
    if (!again || *again != i) fail("a name is not found under its index");
  }
  if (store::parse_keywords(store::format_keywords(t)) != t) fail("format/parse changed the table");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);

  const store::KeywordTable whole = store::parse_keywords(text, true);
  check(whole);
  const store::KeywordTable cut = store::parse_keywords(text, false);
  check(cut);
  // Without a final LF the last line is ignored; otherwise both agree.
  if (!text.empty() && text.back() == '\n' && cut != whole) fail("a complete file read differently when cut");
  for (size_t i = 0; i < cut.names.size(); ++i) {
    if (cut.names[i].empty()) continue;
    const std::string line = std::to_string(i) + " " + cut.names[i] + "\n";
    if (text.find(line) == std::string_view::npos) fail("a name from no complete line");
  }
  return 0;
}
