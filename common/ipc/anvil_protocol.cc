// The anvil protocol's messages (anvil_protocol.h) over the line codec.

#include "common/ipc/anvil_protocol.h"

#include <array>
#include <utility>

#include "common/base/strings.h"
#include "common/ipc/escape.h"

namespace tern::ipc {
namespace {

constexpr std::array<std::pair<AnvilCommand, std::string_view>, 5> kCommands = {{
    {AnvilCommand::kConnect, "connect"},
    {AnvilCommand::kDisconnect, "disconnect"},
    {AnvilCommand::kMessage, "message"},
    {AnvilCommand::kRcpt, "rcpt"},
    {AnvilCommand::kLookup, "lookup"},
}};

// Requests and replies carry a handful of fields; more is hostile.
constexpr size_t kMaxFields = 16;
// Counts are bounded by what one table holds; anything longer is garbage.
constexpr size_t kMaxDigits = 10;

Result<std::string_view> checked_line(std::string_view line) {
  if (line.size() > kAnvilMaxLine) return make_error(Errc::kLimit, "line longer than " + std::to_string(kAnvilMaxLine));
  return line;
}

Result<std::string> name_field(const Line& l, std::string_view key) {
  const std::string* v = l.get(key);
  if (!v || v->empty()) return invalid(std::string(key) + "= missing");
  if (v->size() > kAnvilMaxName) return make_error(Errc::kLimit, std::string(key) + "= too long");
  return *v;
}

Result<std::optional<int>> count_field(const Line& l, std::string_view key) {
  const std::string* v = l.get(key);
  if (!v) return std::optional<int>();
  if (v->empty() || v->size() > kMaxDigits) return invalid(std::string(key) + "= is not a count");
  for (char c : *v)
    if (c < '0' || c > '9') return invalid(std::string(key) + "= is not a count");
  auto n = parse_int(*v);
  if (!n || *n > 0x7fffffff) return invalid(std::string(key) + "= is not a count");
  return std::optional<int>(static_cast<int>(*n));
}

}  // namespace

std::string_view anvil_command_name(AnvilCommand c) {
  for (const auto& [cmd, name] : kCommands)
    if (cmd == c) return name;
  return "?";
}

std::string AnvilRequest::format() const {
  Line l;
  l.command = std::string(anvil_command_name(command));
  l.add("service", service).add("client", client);
  return l.format();
}

Result<AnvilRequest> AnvilRequest::parse(std::string_view text) {
  auto checked = checked_line(text);
  if (!checked) return checked.take_error();
  auto line = Line::parse(*checked, kMaxFields);
  if (!line) return line.take_error();
  AnvilRequest r;
  bool known = false;
  for (const auto& [cmd, name] : kCommands) {
    if (line->command == name) {
      r.command = cmd;
      known = true;
    }
  }
  if (!known) return invalid("unknown request");
  auto service = name_field(*line, "service");
  if (!service) return service.take_error();
  auto client = name_field(*line, "client");
  if (!client) return client.take_error();
  r.service = std::move(*service);
  r.client = std::move(*client);
  return r;
}

AnvilReply AnvilReply::error(std::string reason) {
  AnvilReply r;
  r.ok = false;
  r.reason = std::move(reason);
  return r;
}

std::string AnvilReply::format() const {
  Line l;
  if (!ok) {
    l.command = "error";
    l.add("reason", reason);
    return l.format();
  }
  l.command = "ok";
  if (count) l.add("count", std::to_string(*count));
  if (rate) l.add("rate", std::to_string(*rate));
  if (message_rate) l.add("message_rate", std::to_string(*message_rate));
  if (rcpt_rate) l.add("rcpt_rate", std::to_string(*rcpt_rate));
  return l.format();
}

Result<AnvilReply> AnvilReply::parse(std::string_view text) {
  auto checked = checked_line(text);
  if (!checked) return checked.take_error();
  auto line = Line::parse(*checked, kMaxFields);
  if (!line) return line.take_error();
  if (line->command == "error") {
    const std::string* reason = line->get("reason");
    return AnvilReply::error(reason ? *reason : "");
  }
  if (line->command != "ok") return invalid("reply is neither ok nor error");
  AnvilReply r;
  std::pair<std::string_view, std::optional<int>*> fields[] = {
      {"count", &r.count}, {"rate", &r.rate}, {"message_rate", &r.message_rate}, {"rcpt_rate", &r.rcpt_rate}};
  for (auto& [key, out] : fields) {
    auto v = count_field(*line, key);
    if (!v) return v.take_error();
    *out = *v;
  }
  return r;
}

}  // namespace tern::ipc
