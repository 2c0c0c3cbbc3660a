// A user's subscribed mailbox names in Dovecot's file (subscriptions.h).

#include "common/store/subscriptions.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/store/mailbox_list.h"
#include "common/store/uidlist.h"

namespace tern::store {
namespace {

constexpr std::string_view kHeader = "V\t2\n\n";
constexpr std::string_view kLockName = "tern-subscriptions.lock";

// A valid name never holds a control character, so it needs none of
// Dovecot's tab-escapes (\001 x): levels joined by TAB are the line.
std::string line_of(std::string_view name) {
  std::string line(name);
  std::replace(line.begin(), line.end(), kMailboxSeparator, '\t');
  return line;
}

// The name a line stands for; std::nullopt for lines that are not one of
// ours (escapes decode to control characters, which names refuse).
std::optional<std::string> name_of(std::string_view line, bool v2) {
  std::string name(line);
  if (v2) {
    if (name.find(kMailboxSeparator) != std::string::npos) return std::nullopt;  // "/" inside a level
    std::replace(name.begin(), name.end(), '\t', kMailboxSeparator);
  }
  auto canon = canonical_mailbox_name(name);
  if (!canon) return std::nullopt;
  return std::move(*canon);
}

Result<std::string> read_text(const std::string& path) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) {
    if (fd.error().err == ENOENT) return std::string();
    return fd.take_error();
  }
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxSubscriptionsFile) return make_error(Errc::kLimit, "subscriptions file too large: " + path);
  }
  return text;
}

std::string path_of(std::string_view maildir) { return std::string(maildir) + "/" + std::string(kSubscriptionsName); }

}  // namespace

ParsedSubscriptions parse_subscriptions(std::string_view text) {
  ParsedSubscriptions out;
  const bool v2 = text.substr(0, kHeader.size()) == kHeader;
  if (v2) text.remove_prefix(kHeader.size());
  std::set<std::string> seen;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    auto name = name_of(line, v2);
    // Version 1 lines are rewritten as version 2 lines of the same name.
    out.lines.push_back(name && !v2 ? line_of(*name) : std::string(line));
    out.valid.push_back(name.has_value());
    if (name && seen.insert(*name).second) out.names.push_back(std::move(*name));
  }
  return out;
}

std::string format_subscriptions(const std::vector<std::string>& names) {
  std::string out(kHeader);
  for (const std::string& n : names) out += line_of(n) + "\n";
  return out;
}

Result<std::vector<std::string>> read_subscriptions(std::string_view maildir) {
  auto text = read_text(path_of(maildir));
  if (!text) return text.take_error();
  return parse_subscriptions(*text).names;
}

Status set_subscribed(std::string_view maildir, std::string_view name, bool subscribe) {
  auto canon = canonical_mailbox_name(name);
  if (!canon) return canon.take_error();
  auto lock = lock_file(std::string(maildir) + "/" + std::string(kLockName));
  if (!lock) return lock.take_error();
  const std::string path = path_of(maildir);
  auto text = read_text(path);
  if (!text) return text.take_error();
  ParsedSubscriptions parsed = parse_subscriptions(*text);
  const bool present = std::find(parsed.names.begin(), parsed.names.end(), *canon) != parsed.names.end();
  if (present == subscribe) return {};
  std::string out(kHeader);
  if (subscribe) {
    if (parsed.names.size() >= kMaxSubscriptions) return make_error(Errc::kLimit, "too many subscriptions");
    for (const std::string& l : parsed.lines) out += l + "\n";
    out += line_of(*canon) + "\n";
  } else {
    const std::string gone = line_of(*canon);
    for (size_t i = 0; i < parsed.lines.size(); ++i) {
      // Another spelling of the same name ("inbox") goes too.
      if (parsed.valid[i] && (parsed.lines[i] == gone || name_of(parsed.lines[i], true) == *canon)) continue;
      out += parsed.lines[i] + "\n";
    }
  }
  return write_file_atomic(path, out, DurableOptions{0600, true});
}

}  // namespace tern::store
