// The UID list parser (common/store/uidlist.h) fed a hostile file.
// Invariants, each abort()ing:
//   - it never consumes past the last "\n", nor stops before it on success;
//   - parsing in two pieces, cut anywhere (as a reader that met a torn
//     line and came back after the append does), gives the same state as
//     parsing at once;
//   - an accepted list formats to a file that parses to the same state.

#include <string>

#include "common/store/uidlist.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
namespace store = tern::store;

namespace {

bool same(const store::UidListState& a, const store::UidListState& b) {
  return a.has_header == b.has_header && a.uidvalidity == b.uidvalidity && a.uidnext == b.uidnext &&
         a.highestmodseq == b.highestmodseq && a.entries == b.entries && a.uids == b.uids &&
         a.keywords == b.keywords;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);

  store::UidListState whole;
  auto used = store::parse_uidlist(text, whole);
  if (!used) return 0;
  const size_t last_nl = text.rfind('\n');
  if (*used != (last_nl == std::string_view::npos ? 0 : last_nl + 1)) fail("consumed other than the complete lines");

  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  store::UidListState pieces;
  auto first = store::parse_uidlist(text.substr(0, cut), pieces);
  if (!first) fail("a prefix of an accepted list is refused");
  auto rest = store::parse_uidlist(text.substr(*first, *used - *first), pieces);
  if (!rest || *first + *rest != *used) fail("the rest of an accepted list is refused");
  if (!same(whole, pieces)) fail("parsing in two pieces changed the state");

  if (whole.has_header) {
    store::UidListState again;
    const std::string out = store::format_uidlist(whole);
    auto n = store::parse_uidlist(out, again);
    if (!n || *n != out.size()) fail("format_uidlist() output does not parse");
    if (!same(whole, again)) fail("format/parse changed the state");
  }
  return 0;
}
