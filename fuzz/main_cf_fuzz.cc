// MainCf::parse on arbitrary text, then the checks a daemon runs at startup.
// Invariant: after validate() succeeds, str() and the typed getters of every
// parameter must not panic (they panic on values validate() should reject).
// Expansion is bounded by the parser (1 MiB of output, 64 levels of braces),
// not the number of lookups: each explicit name is expanded a few times at
// most here, so that the parser's own cost is what the fuzzer sees.

#include <algorithm>
#include <string>
#include <vector>

#include "common/config/main_cf.h"
#include "common/config/params.h"
#include "fuzz/fuzz_util.h"

using tern::config::MainCf;
using tern::config::ParamType;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  std::vector<std::string> warnings;
  auto cf = MainCf::parse(text, "main.cf", &warnings);
  if (!cf) return 0;

  // expand() of a few explicit raw values: a Result, never a panic.
  const std::vector<std::string> names = cf->set_names();
  const size_t few = std::min<size_t>(names.size(), 4);
  for (size_t i = 0; i < few; ++i) {
    auto raw = cf->raw(names[i]);
    if (!raw) tern::fuzz::fail("set_names() lists a name raw() does not know");
    (void)cf->expand(*raw);
  }
  (void)cf->unknown_warnings();

  if (!cf->validate()) return 0;
  for (const auto& def : tern::config::param_table()) {
    switch (def.type) {
      case ParamType::kInt:
      case ParamType::kSize: (void)cf->integer(def.name); break;
      case ParamType::kBool: (void)cf->boolean(def.name); break;
      case ParamType::kTime: (void)cf->seconds(def.name); break;
      case ParamType::kList: (void)cf->list(def.name); break;
      case ParamType::kString: (void)cf->str(def.name); break;
    }
  }
  for (size_t i = 0; i < few; ++i) (void)cf->str(names[i]);
  (void)cf->str("no_such_parameter");
  return 0;
}
