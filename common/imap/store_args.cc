#include "common/imap/store_args.h"

#include <algorithm>

#include "common/store/uidlist.h"

namespace tern::imap {

namespace {

// One flag (RFC 3501 9 "flag") into *flags; \Recent and other \-flags are
// refused (store_args.h).
Status add_flag(const Value& v, FlagSet* flags) {
  if (!v.is_atom()) return invalid("invalid flag");
  const std::string& name = v.text;
  if (!name.empty() && name[0] == '\\') {
    uint8_t bit = store::system_flag_from_name(name);
    if (bit == 0) {
      if (ascii_iequal(name, "\\Recent")) return invalid("\\Recent cannot be set");
      return invalid("invalid system flag " + name.substr(0, 64));
    }
    flags->system |= bit;
    return {};
  }
  if (!store::valid_keyword(name)) return invalid("invalid keyword");
  bool seen = std::any_of(flags->keywords.begin(), flags->keywords.end(),
                          [&name](const std::string& k) { return ascii_iequal(k, name); });
  if (!seen) {
    if (flags->keywords.size() == kMaxFlagsInList) return make_error(Errc::kLimit, "too many keywords");
    flags->keywords.push_back(name);
  }
  return {};
}

}  // namespace

Result<FlagSet> parse_flag_list(const Value& list) {
  if (!list.is_list()) return invalid("flag list expected");
  if (list.list.size() > kMaxFlagsInList) return make_error(Errc::kLimit, "too many flags");
  FlagSet flags;
  for (const Value& v : list.list) {
    if (Status s = add_flag(v, &flags); !s) return s.take_error();
  }
  return flags;
}

Result<StoreArgs> parse_store_args(const std::vector<Value>& args, size_t first) {
  if (first >= args.size() || !args[first].is_atom()) return invalid("STORE data item expected");
  std::string item = ascii_upper(args[first].text);
  StoreArgs out;
  std::string_view name = item;
  if (!name.empty() && (name[0] == '+' || name[0] == '-')) {
    out.op = name[0] == '+' ? store::FlagOp::kAdd : store::FlagOp::kRemove;
    name.remove_prefix(1);
  }
  if (name == "FLAGS.SILENT") {
    out.silent = true;
  } else if (name != "FLAGS") {
    return invalid("invalid STORE data item");
  }
  if (first + 1 >= args.size()) return invalid("flags expected");
  if (args[first + 1].is_list()) {
    if (first + 2 != args.size()) return invalid("unexpected argument after the flag list");
    auto flags = parse_flag_list(args[first + 1]);
    if (!flags) return flags.take_error();
    out.flags = std::move(*flags);
    return out;
  }
  // flag *(SP flag) without parentheses (RFC 3501 9 store-att-flags).
  if (args.size() - first - 1 > kMaxFlagsInList) return make_error(Errc::kLimit, "too many flags");
  for (size_t i = first + 1; i < args.size(); ++i) {
    if (Status s = add_flag(args[i], &out.flags); !s) return s.take_error();
  }
  return out;
}

}  // namespace tern::imap
