// parse_master_cf on arbitrary text against a default main.cf.
// Invariants: an entry that parsed has a command and a listener identity.

#include <string>
#include <vector>

#include "common/config/master_cf.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  static const tern::config::MainCf main;  // every parameter at its default
  std::vector<std::string> warnings;
  auto entries = tern::config::parse_master_cf(tern::fuzz::as_text(data, size), "master.cf", main, &warnings);
  if (!entries) return 0;
  for (const auto& e : *entries) {
    if (e.command.empty()) tern::fuzz::fail("an entry without a command");
    (void)e.type_name();
    (void)e.listener_key();
  }
  return 0;
}
