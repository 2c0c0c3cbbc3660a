// Building a table from its source file (table.h: build_from_source), for
// ternmap(1) and newaliases (sendmail -bi).

#include "common/base/fd.h"
#include "common/table/table.h"

namespace tern::table {

Status build_from_source(std::string_view spec, bool aliases, std::vector<std::string>* warnings) {
  auto parsed = parse_spec(spec);
  if (!parsed) return parsed.take_error();
  const bool lmdb = parsed->type == "lmdb";
  if (!lmdb && aliases) return invalid(std::string(spec) + ": alias mode (-a) builds lmdb tables only");
  if (!lmdb && parsed->type != "texthash") {
    auto table = open(spec);
    if (!table) return table.take_error();
    return {};
  }
  auto text = read_file(parsed->path);
  if (!text) return make_error(text.error().code, std::string(spec) + ": " + text.error().text);
  auto entries = aliases ? parse_aliases(*text, parsed->path, warnings) : parse_source(*text, parsed->path, warnings);
  if (!entries) return entries.take_error();
  if (!lmdb) return {};  // texthash: checked, and daemons read the file itself
  return build_lmdb(parsed->path, *entries);
}

}  // namespace tern::table
