// The text formats of texthash/lmdb sources and of aliases files
// (common/table/table.h). Invariants: entries have a non-empty key within
// kMaxKeyLength; source keys are lower case; keys are unique; an alias value
// splits into at least one item.

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "common/table/table.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;

namespace {

void check_entries(const std::vector<tern::table::Entry>& entries, bool lower_keys) {
  std::set<std::string> seen;
  for (const auto& e : entries) {
    if (e.key.empty()) fail("an entry with an empty key");
    if (e.key.size() > tern::table::kMaxKeyLength) fail("an entry key longer than kMaxKeyLength");
    if (e.line < 1) fail("an entry without a line number");
    if (!seen.insert(e.key).second) fail("a duplicate key survived");
    if (lower_keys)
      for (char c : e.key)
        if (std::isupper(static_cast<unsigned char>(c))) fail("a source key is not folded to lower case");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  std::vector<std::string> warnings;

  if (auto source = tern::table::parse_source(text, "source", &warnings)) {
    check_entries(*source, true);
    for (const auto& e : *source) (void)tern::table::split_alias_list(e.value);
  }

  if (auto aliases = tern::table::parse_aliases(text, "aliases", &warnings)) {
    check_entries(*aliases, false);
    for (const auto& e : *aliases) {
      // Not checked: that no item is empty. A quoted empty item ("") unquotes
      // to "" although table.h says empty items are dropped (reported, not
      // yet decided; see corpus/table_source/aliases_escapes).
      if (tern::table::split_alias_list(e.value).empty()) fail("an alias value without items");
    }
  }

  // Alias lists straight from the input too: the splitter must take any bytes.
  (void)tern::table::split_alias_list(text);
  return 0;
}
