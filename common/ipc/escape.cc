// The line codec of Tern's own protocols (escape.h).
//
// Parsing splits the line on raw tabs before unescaping, so a raw tab can
// never end up inside a command, key or value, and a raw CR or LF inside the
// line is rejected: only the escapes %09, %0D, %0A put those bytes in a
// component. Any "%XX" is decoded on input (either case); output only ever
// escapes the four bytes the protocol names (plus '=' in keys, see below).

#include "common/ipc/escape.h"

#include <charconv>

namespace tern::ipc {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void append_escaped(std::string& out, std::string_view s, bool escape_equals) {
  for (char c : s) {
    if (c == '\t' || c == '\n' || c == '\r' || c == '%' || (escape_equals && c == '=')) {
      unsigned char u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
}

// A line without its one optional trailing "\n"; raw CR or LF inside is an error.
Result<std::string_view> strip_line(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.find_first_of("\r\n") != std::string_view::npos) return invalid("raw CR or LF inside a line");
  return text;
}

// A small non-negative decimal with no sign, spaces or leading junk.
std::optional<int> parse_version_number(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_escaped(out, s, false);
  return out;
}

Result<std::string> unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return invalid("bad escape at offset " + std::to_string(i));
    out.push_back(static_cast<char>(hi << 4 | lo));
    i += 2;
  }
  return out;
}

const std::string* Line::get(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

Line& Line::add(std::string key, std::string value) {
  fields.emplace_back(std::move(key), std::move(value));
  return *this;
}

std::string Line::format() const {
  std::string out;
  append_escaped(out, command, false);
  for (const auto& [k, v] : fields) {
    out.push_back('\t');
    // '=' in a key would move the split point; %3D keeps it (any %XX decodes).
    append_escaped(out, k, true);
    out.push_back('=');
    append_escaped(out, v, false);
  }
  out.push_back('\n');
  return out;
}

Result<Line> Line::parse(std::string_view text, size_t max_fields) {
  auto body = strip_line(text);
  if (!body) return body.take_error();
  std::string_view rest = *body;

  Line line;
  size_t tab = rest.find('\t');
  auto command = unescape(rest.substr(0, tab));
  if (!command) return command.take_error();
  if (command->empty()) return invalid("empty command");
  line.command = std::move(*command);

  while (tab != std::string_view::npos) {
    rest.remove_prefix(tab + 1);
    if (line.fields.size() >= max_fields)
      return make_error(Errc::kLimit, "more than " + std::to_string(max_fields) + " fields");
    tab = rest.find('\t');
    std::string_view field = rest.substr(0, tab);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return invalid("field without '='");
    auto key = unescape(field.substr(0, eq));
    if (!key) return key.take_error();
    if (key->empty()) return invalid("field with an empty key");
    auto value = unescape(field.substr(eq + 1));
    if (!value) return value.take_error();
    line.fields.emplace_back(std::move(*key), std::move(*value));
  }
  return line;
}

std::string Version::format() const {
  return "VERSION\t" + escape(proto) + "\t" + std::to_string(major) + "\t" + std::to_string(minor) + "\n";
}

Result<Version> Version::parse(std::string_view text) {
  auto body = strip_line(text);
  if (!body) return body.take_error();
  std::string_view parts[4];
  std::string_view rest = *body;
  for (int i = 0; i < 4; ++i) {
    size_t tab = rest.find('\t');
    if ((tab == std::string_view::npos) != (i == 3)) return invalid("VERSION needs exactly three fields");
    parts[i] = rest.substr(0, tab);
    if (tab != std::string_view::npos) rest.remove_prefix(tab + 1);
  }
  if (parts[0] != "VERSION") return invalid("not a VERSION line");
  auto proto = unescape(parts[1]);
  if (!proto) return proto.take_error();
  if (proto->empty()) return invalid("VERSION without a protocol name");
  auto major = parse_version_number(parts[2]);
  auto minor = parse_version_number(parts[3]);
  if (!major || !minor) return invalid("VERSION with a bad version number");
  return Version{std::move(*proto), *major, *minor};
}

Status check_version(const Version& server, std::string_view proto, int major) {
  if (server.proto != proto)
    return invalid("server speaks protocol \"" + server.proto + "\", expected \"" + std::string(proto) + "\"");
  if (server.major != major)
    return invalid("server speaks " + server.proto + " version " + std::to_string(server.major) + "." +
                   std::to_string(server.minor) + ", this client speaks major version " + std::to_string(major));
  return {};
}

}  // namespace tern::ipc
