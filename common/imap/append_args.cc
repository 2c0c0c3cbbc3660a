#include "common/imap/append_args.h"

#include "common/imap/mailbox_name.h"

namespace tern::imap {

Result<AppendArgs> parse_append_args(const std::vector<Value>& args, bool* bad_syntax) {
  *bad_syntax = true;
  if (args.empty() || !args[0].is_astring()) return invalid("mailbox name expected");
  AppendArgs out;
  size_t i = 1;
  if (i < args.size() && args[i].is_list()) {
    auto flags = parse_flag_list(args[i]);
    if (!flags) return flags.take_error();
    out.flags = std::move(*flags);
    ++i;
  }
  if (i < args.size()) {
    // date-time = DQUOTE ... DQUOTE: a quoted string, nothing else.
    if (args[i].kind != ValueKind::kQuoted) return invalid("date-time expected");
    auto date = parse_date_time(args[i].text);
    if (!date) return invalid("invalid date-time");
    out.date = *date;
    ++i;
  }
  if (i != args.size()) return invalid("unexpected APPEND argument");
  auto name = parse_mailbox(args[0]);
  if (!name) {
    *bad_syntax = false;
    return name.take_error();
  }
  out.mailbox = std::move(*name);
  *bad_syntax = false;
  return out;
}

}  // namespace tern::imap
