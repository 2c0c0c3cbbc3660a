// Table types by name ("type:path"), and the checks every backend shares.

#include "common/table/table.h"

#include "common/base/strings.h"
#include "common/table/backends.h"

namespace tern::table {

Result<std::vector<Entry>> Table::entries() const {
  return invalid(name() + ": this table type cannot list its entries");
}

Result<Spec> parse_spec(std::string_view spec) {
  size_t colon = spec.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return invalid("bad table name \"" + std::string(spec) + "\": expected type:path");
  if (colon + 1 == spec.size()) return invalid("bad table name \"" + std::string(spec) + "\": no path");
  return Spec{to_lower(spec.substr(0, colon)), std::string(spec.substr(colon + 1))};
}

Result<std::unique_ptr<Table>> open(std::string_view spec) {
  auto parsed = parse_spec(spec);
  if (!parsed) return parsed.take_error();
  const std::string name(spec);
  if (parsed->type == "texthash") return detail::open_texthash(name, parsed->path);
  if (parsed->type == "lmdb") return detail::open_lmdb(name, parsed->path);
  if (parsed->type == "regexp") return detail::open_regexp(name, parsed->path);
  if (parsed->type == "static") return detail::open_static(name, parsed->path);
  // Postfix users will write hash: or btree: out of habit; say what to use.
  return invalid("unsupported table type \"" + parsed->type + "\" in \"" + name +
                 "\" (tern has texthash, lmdb, regexp and static)");
}

namespace detail {

Status check_key(std::string_view key) {
  if (key.size() > kMaxKeyLength)
    return invalid("lookup key longer than " + std::to_string(kMaxKeyLength) + " bytes");
  if (key.find('\0') != std::string_view::npos) return invalid("lookup key contains a NUL byte");
  return {};
}

Error at_line(const std::string& filename, int line, std::string_view reason) {
  return invalid(filename + ":" + std::to_string(line) + ": " + std::string(reason));
}

}  // namespace detail
}  // namespace tern::table
