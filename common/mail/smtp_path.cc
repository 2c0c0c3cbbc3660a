#include "common/mail/smtp_path.h"

#include <arpa/inet.h>

#include <cstring>
#include <vector>

#include "common/base/strings.h"
#include "common/mail/utf8.h"

namespace tern::mail {

namespace {

Error fail(ArgFault* why, ArgFault fault, std::string text) {
  if (why) *why = fault;
  const Errc code = fault == ArgFault::kPathTooLong ? Errc::kLimit : Errc::kInvalid;
  return make_error(code, std::move(text));
}

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 5322 3.2.3 atext, which RFC 5321 4.1.2 uses for Atom.
bool is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// RFC 5321 4.1.2 qtextSMTP: %d32-33 / %d35-91 / %d93-126.
bool is_qtext(unsigned char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

// A non-ASCII byte at s[i]: with SMTPUTF8 a well-formed UTF-8 sequence is
// taken as one character (RFC 6531 3.3, UTF8-non-ascii); returns its length,
// or 0 with *err set.

bool is_dot_string(std::string_view s, bool allow_utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '.') {
      if (s[i + 1] == '.') return false;  // i + 1 < size: s.back() != '.'
    } else if (c >= 0x80) {
      const CodePoint cp = decode_utf8(s.substr(i));
      if (!allow_utf8 || cp.length == 0) return false;
      i += cp.length - 1;
    } else if (!is_atext(c)) {
      return false;
    }
  }
  return true;
}

struct Scan {
  ArgFault fault = ArgFault::kNone;
  std::string text;
};

// A non-ASCII byte at s[i]: with SMTPUTF8 a well-formed UTF-8 sequence is
// taken as one character (RFC 6531 3.3, UTF8-non-ascii). Returns its length,
// or 0 with the fault recorded in *sc.
size_t utf8_char(std::string_view s, size_t i, bool allow_utf8, Scan* sc) {
  const CodePoint cp = decode_utf8(s.substr(i));
  if (cp.length == 0) {
    sc->fault = ArgFault::kPathSyntax;
    sc->text = "invalid UTF-8 in address";
    return 0;
  }
  if (!allow_utf8) {
    sc->fault = ArgFault::kNonAscii;
    sc->text = "non-ASCII address without SMTPUTF8";
    return 0;
  }
  return cp.length;
}

// RFC 5321 4.1.2: sub-domain = Let-dig [Ldh-str]; no leading or trailing
// hyphen, no empty label. A U-label byte counts as a letter (RFC 6531 3.3).
bool check_domain(std::string_view d, bool allow_utf8, size_t max_len, Scan* s) {
  if (d.empty()) {
    s->fault = ArgFault::kPathSyntax;
    s->text = "empty domain";
    return false;
  }
  size_t label_start = 0;
  for (size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      const std::string_view label = d.substr(label_start, i - label_start);
      if (label.empty()) {
        s->fault = ArgFault::kPathSyntax;
        s->text = "empty label in domain";
        return false;
      }
      if (label.front() == '-' || label.back() == '-') {
        s->fault = ArgFault::kPathSyntax;
        s->text = "domain label starts or ends with '-'";
        return false;
      }
      if (label.size() > 63) {  // RFC 1035 2.3.4
        s->fault = ArgFault::kPathTooLong;
        s->text = "domain label longer than 63 octets (RFC 1035 2.3.4)";
        return false;
      }
      label_start = i + 1;
      continue;
    }
    const auto c = static_cast<unsigned char>(d[i]);
    if (c >= 0x80) {
      const size_t n = utf8_char(d, i, allow_utf8, s);
      if (n == 0) return false;
      i += n - 1;
    } else if (!is_alpha(c) && !is_digit(c) && c != '-') {
      s->fault = ArgFault::kPathSyntax;
      s->text = strf("invalid character 0x%02x in domain", c);
      return false;
    }
  }
  if (d.size() > max_len) {
    s->fault = ArgFault::kPathTooLong;
    s->text = strf("domain longer than %zu octets (RFC 5321 4.5.3.1.2)", max_len);
    return false;
  }
  return true;
}

// RFC 5321 4.1.3: Snum = 1*3DIGIT, representing a value in 0-255.
bool is_ipv4_literal(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t digits = 0;
    int value = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i])) && digits < 4) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    if (++parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// RFC 5321 4.1.3 address-literal. The General-address-literal form needs a
// tag registered with IANA and none is besides IPv6, so any other tag is
// refused: nothing could deliver to it.
bool check_address_literal(std::string_view lit, size_t max_len, Scan* s) {
  const std::string_view inner = lit.substr(1, lit.size() - 2);
  bool good;
  if (starts_with_nocase(inner, "IPv6:")) {
    // inet_pton reads a C string: a NUL (or anything else) hidden in the
    // literal must be refused before it gets there.
    const std::string addr(inner.substr(5));
    good = !addr.empty() && addr.size() < 64 &&
           addr.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos;
    unsigned char buf[16];
    good = good && inet_pton(AF_INET6, addr.c_str(), buf) == 1;
  } else {
    good = is_ipv4_literal(inner);
  }
  if (!good) {
    s->fault = ArgFault::kPathSyntax;
    s->text = "invalid address literal";
    return false;
  }
  if (lit.size() > max_len) {
    s->fault = ArgFault::kPathTooLong;
    s->text = strf("domain longer than %zu octets (RFC 5321 4.5.3.1.2)", max_len);
    return false;
  }
  return true;
}

// A Quoted-string starting at s[0] == '"'. Returns the index just past the
// closing quote (0 on error) and appends the unquoted content to *out.
size_t scan_quoted(std::string_view s, bool allow_utf8, std::string* out, Scan* sc) {
  for (size_t i = 1; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      // quoted-pairSMTP = %d92 %d32-126
      if (i + 1 >= s.size() || static_cast<unsigned char>(s[i + 1]) < 32 || static_cast<unsigned char>(s[i + 1]) > 126)
        break;
      out->push_back(s[++i]);
    } else if (c >= 0x80) {
      const size_t n = utf8_char(s, i, allow_utf8, sc);
      if (n == 0) return 0;
      out->append(s.substr(i, n));
      i += n - 1;
    } else if (is_qtext(c)) {
      out->push_back(static_cast<char>(c));
    } else {
      break;
    }
  }
  sc->fault = ArgFault::kPathSyntax;
  sc->text = "malformed quoted local part";
  return 0;
}

std::string quote_local(std::string_view local, bool allow_utf8) {
  if (is_dot_string(local, allow_utf8)) return std::string(local);
  std::string out = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Mailbox = Local-part "@" ( Domain / address-literal ), the whole of text.
bool scan_mailbox(std::string_view text, const PathLimits& limits, bool allow_utf8, Address* a, Scan* s) {
  size_t at;
  if (!text.empty() && text.front() == '"') {
    const size_t end = scan_quoted(text, allow_utf8, &a->local, s);
    if (end == 0) return false;
    a->local_was_quoted = true;
    at = end;
    if (at >= text.size() || text[at] != '@') {
      s->fault = ArgFault::kPathSyntax;
      s->text = "expected '@' after the quoted local part";
      return false;
    }
  } else {
    at = text.find('@');
    if (at == std::string_view::npos) {
      s->fault = ArgFault::kPathSyntax;
      s->text = "no '@' in address";
      return false;
    }
    const std::string_view local = text.substr(0, at);
    for (size_t i = 0; i < local.size(); ++i) {
      const auto c = static_cast<unsigned char>(local[i]);
      if (c < 0x80) continue;
      const size_t n = utf8_char(local, i, allow_utf8, s);
      if (n == 0) return false;
      i += n - 1;
    }
    if (!is_dot_string(local, true)) {
      s->fault = ArgFault::kPathSyntax;
      s->text = local.empty() ? "empty local part" : "malformed local part";
      return false;
    }
    a->local = std::string(local);
  }
  // RFC 5321 4.5.3.1.1 counts the local part as sent, quotes included.
  if (at > limits.local_part) {
    s->fault = ArgFault::kPathTooLong;
    s->text = strf("local part longer than %zu octets (RFC 5321 4.5.3.1.1)", limits.local_part);
    return false;
  }
  const std::string_view domain = text.substr(at + 1);
  if (!domain.empty() && domain.front() == '[') {
    if (domain.size() < 2 || domain.back() != ']') {
      s->fault = ArgFault::kPathSyntax;
      s->text = "malformed address literal";
      return false;
    }
    if (!check_address_literal(domain, limits.domain, s)) return false;
    a->is_address_literal = true;
  } else if (!check_domain(domain, allow_utf8, limits.domain, s)) {
    return false;
  }
  a->domain = std::string(domain);
  a->domain_lower = to_lower(domain);
  a->local_quoted = quote_local(a->local, true);
  return true;
}

// A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain; text is
// everything before the ':'.
bool scan_route(std::string_view adl, const PathLimits& limits, bool allow_utf8, Scan* s) {
  for (std::string_view hop : split(adl, ',')) {
    if (hop.size() < 2 || hop.front() != '@') {
      s->fault = ArgFault::kPathSyntax;
      s->text = "malformed source route";
      return false;
    }
    if (!check_domain(hop.substr(1), allow_utf8, limits.domain, s)) return false;
  }
  return true;
}

// Index of the '>' closing the path that starts at s[0] == '<', skipping
// quoted strings; npos when there is none.
size_t path_end(std::string_view s) {
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (quoted) {
      if (s[i] == '\\') ++i;
      else if (s[i] == '"') quoted = false;
    } else if (s[i] == '"') {
      quoted = true;
    } else if (s[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

bool is_xchar(unsigned char c) { return c >= '!' && c <= '~' && c != '+' && c != '='; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 32 || c > 126) return false;
  return true;
}

}  // namespace

std::string Address::str() const {
  if (is_null) return {};
  if (is_postmaster) return local;
  return local_quoted + "@" + domain;
}

std::string Address::key() const {
  if (is_null) return {};
  if (is_postmaster) return to_lower(local);
  return local_quoted + "@" + domain_lower;
}

bool Address::needs_smtputf8() const { return !is_ascii(local) || !is_ascii(domain); }

unsigned routing_tricks(const Address& a) {
  unsigned t = kNoRoutingTrick;
  if (a.local.find('%') != std::string::npos) t |= kPercentHack;
  if (a.local.find('!') != std::string::npos) t |= kBangPath;
  if (a.local.find('@') != std::string::npos) t |= kQuotedAt;
  if (a.had_source_route) t |= kSourceRoute;
  return t;
}

std::string describe_routing_tricks(unsigned tricks) {
  static constexpr std::pair<unsigned, const char*> kNames[] = {
      {kPercentHack, "percent hack"},
      {kBangPath, "bang path"},
      {kQuotedAt, "'@' in the local part"},
      {kSourceRoute, "source route"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(tricks & bit)) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

Extension split_extension(std::string_view local, std::string_view delimiters) {
  Extension e;
  e.user = std::string(local);
  if (delimiters.empty()) return e;
  // Never split the addresses every site must have.
  if (equals_nocase(local, "postmaster") || equals_nocase(local, "MAILER-DAEMON")) return e;
  // Postfix's backwards compatibility for mailing lists.
  if (delimiters.find('-') != std::string_view::npos) {
    if (starts_with_nocase(local, "owner-")) return e;
    if (local.size() > 8 && equals_nocase(local.substr(local.size() - 8), "-request")) return e;
  }
  const size_t pos = local.find_first_of(delimiters);
  if (pos == 0 || pos == std::string_view::npos) return e;
  e.user = std::string(local.substr(0, pos));
  e.extension = std::string(local.substr(pos + 1));
  e.delimiter = local[pos];
  return e;
}

Result<Address> parse_mailbox(std::string_view text, const PathLimits& limits, bool allow_utf8, ArgFault* why) {
  if (why) *why = ArgFault::kNone;
  Address a;
  Scan s;
  if (!scan_mailbox(text, limits, allow_utf8, &a, &s)) return fail(why, s.fault, s.text);
  return a;
}

Result<Address> parse_path(std::string_view text, const PathOptions& opts, ArgFault* why) {
  if (why) *why = ArgFault::kNone;
  if (text.size() < 2 || text.front() != '<' || text.back() != '>')
    return fail(why, ArgFault::kPathSyntax, "address must be enclosed in <>");
  std::string_view inner = text.substr(1, text.size() - 2);
  Address a;
  if (inner.empty()) {
    if (!opts.allow_null) return fail(why, ArgFault::kPathSyntax, "null address not allowed here");
    a.is_null = true;
    return a;
  }
  // RFC 5321 4.1.1.3: "<Postmaster>" without a domain, matched without
  // regard to case (4.5.1).
  if (opts.allow_postmaster && equals_nocase(inner, "postmaster")) {
    a.is_postmaster = true;
    a.local = a.local_quoted = std::string(inner);
    return a;
  }
  Scan s;
  if (inner.front() == '@') {
    // The route ends at the first ':'; domains cannot contain one.
    const size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return fail(why, ArgFault::kPathSyntax, "malformed source route");
    if (!scan_route(inner.substr(0, colon), opts.limits, opts.allow_utf8, &s)) return fail(why, s.fault, s.text);
    a.had_source_route = true;
    inner.remove_prefix(colon + 1);
  }
  if (!scan_mailbox(inner, opts.limits, opts.allow_utf8, &a, &s)) return fail(why, s.fault, s.text);
  if (text.size() > opts.limits.path)
    return fail(why, ArgFault::kPathTooLong,
                strf("path longer than %zu octets (RFC 5321 4.5.3.1.3)", opts.limits.path));
  return a;
}

std::string xtext_encode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (is_xchar(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::string> xtext_decode(std::string_view xtext) {
  std::string out;
  out.reserve(xtext.size());
  for (size_t i = 0; i < xtext.size(); ++i) {
    const auto c = static_cast<unsigned char>(xtext[i]);
    if (c == '+') {
      const int hi = i + 2 < xtext.size() ? hex_value(xtext[i + 1]) : -1;
      const int lo = i + 2 < xtext.size() ? hex_value(xtext[i + 2]) : -1;
      if (hi < 0 || lo < 0) return invalid("malformed xtext: '+' must be followed by two hex digits");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (is_xchar(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      return invalid(strf("invalid character 0x%02x in xtext", c));
    }
  }
  return out;
}

std::string format_notify(unsigned notify) {
  if (notify & kNotifyNever) return "NEVER";
  std::string out;
  for (auto [bit, name] : {std::pair{kNotifySuccess, "SUCCESS"}, {kNotifyFailure, "FAILURE"}, {kNotifyDelay, "DELAY"}}) {
    if (!(notify & bit)) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

std::string Orcpt::format() const { return addr_type + ";" + xtext_encode(address); }

namespace {

struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
// esmtp-value   = 1*(%d33-60 / %d62-126)      (RFC 5321 4.1.2)
Result<Param> split_param(std::string_view p, ArgFault* why) {
  Param out;
  const size_t eq = p.find('=');
  out.keyword = p.substr(0, eq);
  if (out.keyword.empty() || !(is_alpha(out.keyword[0]) || is_digit(out.keyword[0])))
    return fail(why, ArgFault::kParamSyntax, "malformed parameter keyword");
  for (unsigned char c : out.keyword)
    if (!is_alpha(c) && !is_digit(c) && c != '-') return fail(why, ArgFault::kParamSyntax, "malformed parameter keyword");
  if (eq != std::string_view::npos) {
    out.has_value = true;
    out.value = p.substr(eq + 1);
    if (out.value.empty()) return fail(why, ArgFault::kParamSyntax, strf("empty value for %.*s", int(out.keyword.size()), out.keyword.data()));
    for (unsigned char c : out.value)
      if (c < 33 || c > 126 || c == '=')
        return fail(why, ArgFault::kParamSyntax, strf("malformed value for %.*s", int(out.keyword.size()), out.keyword.data()));
  }
  return out;
}

// Splits "<path> params" into the path text and the parameter list.
struct Split {
  std::string_view path;
  std::string_view params;
};

Result<Split> split_arg(std::string_view arg, ArgFault* why) {
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  while (!arg.empty() && arg.back() == ' ') arg.remove_suffix(1);
  if (arg.empty() || arg.front() != '<') return fail(why, ArgFault::kPathSyntax, "address must be enclosed in <>");
  const size_t end = path_end(arg);
  if (end == std::string_view::npos) return fail(why, ArgFault::kPathSyntax, "address must be enclosed in <>");
  Split s{arg.substr(0, end + 1), arg.substr(end + 1)};
  if (!s.params.empty() && s.params.front() != ' ')
    return fail(why, ArgFault::kPathSyntax, "garbage after the address");
  return s;
}

Error not_offered(ArgFault* why, std::string_view keyword) {
  return fail(why, ArgFault::kParamUnknown,
              strf("unsupported parameter %.*s", int(keyword.size()), keyword.data()));
}

Status need_value(const Param& p, ArgFault* why) {
  if (!p.has_value)
    return fail(why, ArgFault::kParamSyntax, strf("%.*s needs a value", int(p.keyword.size()), p.keyword.data()));
  return {};
}

Status parse_mail_param(const Param& p, const Offered& off, MailParams* out, ArgFault* why) {
  const std::string_view k = p.keyword;
  const std::string_view v = p.value;
  if (equals_nocase(k, "SIZE")) {
    if (!off.size) return not_offered(why, k);
    if (auto st = need_value(p, why); !st) return st;
    // RFC 1870 6: size-value = 1*20DIGIT
    if (v.size() > 20) return fail(why, ArgFault::kParamSyntax, "malformed SIZE value");
    uint64_t n = 0;
    for (unsigned char c : v) {
      if (!is_digit(c)) return fail(why, ArgFault::kParamSyntax, "malformed SIZE value");
      const uint64_t d = c - '0';
      n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
    }
    out->size = n;
  } else if (equals_nocase(k, "BODY")) {
    if (!off.eightbitmime) return not_offered(why, k);
    if (auto st = need_value(p, why); !st) return st;
    if (equals_nocase(v, "7BIT")) {
      out->body = Body::k7Bit;
    } else if (equals_nocase(v, "8BITMIME")) {
      out->body = Body::k8BitMime;
    } else if (equals_nocase(v, "BINARYMIME")) {
      // RFC 3030 3: BINARYMIME only where CHUNKING was offered.
      if (!off.chunking) return fail(why, ArgFault::kParamUnknown, "BODY=BINARYMIME needs CHUNKING");
      out->body = Body::kBinaryMime;
    } else {
      return fail(why, ArgFault::kParamSyntax, "BODY must be 7BIT, 8BITMIME or BINARYMIME");
    }
  } else if (equals_nocase(k, "SMTPUTF8")) {
    if (!off.smtputf8) return not_offered(why, k);
    // RFC 6531 3.4: the parameter has no value.
    if (p.has_value) return fail(why, ArgFault::kParamSyntax, "SMTPUTF8 takes no value");
    out->smtputf8 = true;
  } else if (equals_nocase(k, "RET")) {
    if (!off.dsn) return not_offered(why, k);
    if (auto st = need_value(p, why); !st) return st;
    if (equals_nocase(v, "FULL")) out->ret = Ret::kFull;
    else if (equals_nocase(v, "HDRS")) out->ret = Ret::kHdrs;
    else return fail(why, ArgFault::kParamSyntax, "RET must be FULL or HDRS");
  } else if (equals_nocase(k, "ENVID")) {
    if (!off.dsn) return not_offered(why, k);
    if (auto st = need_value(p, why); !st) return st;
    if (v.size() > kMaxEnvid) return fail(why, ArgFault::kParamSyntax, "ENVID longer than 100 characters (RFC 3461 4.4)");
    auto decoded = xtext_decode(v);
    // RFC 3461 4.4: printable US-ASCII only.
    if (!decoded || !printable_ascii(*decoded)) return fail(why, ArgFault::kParamSyntax, "malformed ENVID");
    out->envid = std::move(*decoded);
  } else if (equals_nocase(k, "AUTH")) {
    if (!off.auth) return not_offered(why, k);
    if (auto st = need_value(p, why); !st) return st;
    auto decoded = xtext_decode(v);  // RFC 4954 5: xtext of an addr-spec, or "<>"
    if (!decoded || !printable_ascii(*decoded)) return fail(why, ArgFault::kParamSyntax, "malformed AUTH value");
    out->auth = std::move(*decoded);
  } else {
    return not_offered(why, k);
  }
  return {};
}

Status parse_notify(std::string_view v, unsigned* out, ArgFault* why) {
  unsigned n = 0;
  for (std::string_view item : split(v, ',')) {
    if (equals_nocase(item, "NEVER")) n |= kNotifyNever;
    else if (equals_nocase(item, "SUCCESS")) n |= kNotifySuccess;
    else if (equals_nocase(item, "FAILURE")) n |= kNotifyFailure;
    else if (equals_nocase(item, "DELAY")) n |= kNotifyDelay;
    else return fail(why, ArgFault::kParamSyntax, "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY");
  }
  // RFC 3461 4.1: NEVER stands alone.
  if ((n & kNotifyNever) && n != kNotifyNever)
    return fail(why, ArgFault::kParamSyntax, "NOTIFY=NEVER cannot be combined");
  *out = n;
  return {};
}

Status parse_orcpt(std::string_view v, Orcpt* out, ArgFault* why) {
  if (v.size() > kMaxOrcpt) return fail(why, ArgFault::kParamSyntax, "ORCPT longer than 500 characters (RFC 3461 4.2)");
  const size_t semi = v.find(';');
  if (semi == std::string_view::npos || semi == 0) return fail(why, ArgFault::kParamSyntax, "ORCPT must be addr-type;address");
  const std::string_view type = v.substr(0, semi);
  for (unsigned char c : type)  // addr-type = atom
    if (!is_atext(c)) return fail(why, ArgFault::kParamSyntax, "malformed ORCPT address type");
  auto decoded = xtext_decode(v.substr(semi + 1));
  // RFC 3461 4.2: the original address is printable US-ASCII (RFC 6533
  // keeps UTF-8 addresses ASCII with its \x{...} form).
  if (!decoded || decoded->empty() || !printable_ascii(*decoded))
    return fail(why, ArgFault::kParamSyntax, "malformed ORCPT address");
  out->addr_type = std::string(type);
  out->address = std::move(*decoded);
  return {};
}

Status parse_rcpt_param(const Param& p, const Offered& off, RcptParams* out, ArgFault* why) {
  const std::string_view k = p.keyword;
  if (equals_nocase(k, "NOTIFY")) {
    if (!off.dsn) return not_offered(why, k);
    if (auto st = need_value(p, why); !st) return st;
    return parse_notify(p.value, &out->notify, why);
  }
  if (equals_nocase(k, "ORCPT")) {
    if (!off.dsn) return not_offered(why, k);
    if (auto st = need_value(p, why); !st) return st;
    Orcpt o;
    if (auto st = parse_orcpt(p.value, &o, why); !st) return st;
    out->orcpt = std::move(o);
    return {};
  }
  return not_offered(why, k);
}

// Walks the SP-separated parameters, refusing a keyword given twice.
template <class F>
Status for_each_param(std::string_view params, ArgFault* why, F&& handle) {
  std::vector<std::string> seen;
  for (std::string_view item : split_any(params, " ")) {
    auto p = split_param(item, why);
    if (!p) return p.take_error();
    std::string upper = to_lower(p->keyword);
    for (const auto& s : seen)
      if (s == upper) return fail(why, ArgFault::kParamSyntax, "duplicate parameter " + std::string(p->keyword));
    seen.push_back(std::move(upper));
    if (auto st = handle(*p); !st) return st;
  }
  return {};
}

}  // namespace

Result<MailArgs> parse_mail_args(std::string_view arg, const ArgOptions& opts, ArgFault* why) {
  if (why) *why = ArgFault::kNone;
  auto split_r = split_arg(arg, why);
  if (!split_r) return split_r.take_error();
  PathOptions po;
  po.limits = opts.limits;
  po.allow_null = true;
  po.allow_utf8 = true;  // decided below, once SMTPUTF8 is known
  auto addr = parse_path(split_r->path, po, why);
  if (!addr) return addr.take_error();
  MailArgs out{std::move(*addr), {}};
  auto st = for_each_param(split_r->params, why,
                           [&](const Param& p) { return parse_mail_param(p, opts.offered, &out.params, why); });
  if (!st) return st.take_error();
  // RFC 6531 3.5: a UTF-8 sender needs SMTPUTF8 on this very command.
  if (out.sender.needs_smtputf8() && !out.params.smtputf8)
    return fail(why, ArgFault::kNonAscii, "non-ASCII sender address without SMTPUTF8");
  return out;
}

Result<RcptArgs> parse_rcpt_args(std::string_view arg, const ArgOptions& opts, bool smtputf8, ArgFault* why) {
  if (why) *why = ArgFault::kNone;
  auto split_r = split_arg(arg, why);
  if (!split_r) return split_r.take_error();
  PathOptions po;
  po.limits = opts.limits;
  po.allow_postmaster = true;
  po.allow_utf8 = smtputf8;
  auto addr = parse_path(split_r->path, po, why);
  if (!addr) return addr.take_error();
  RcptArgs out{std::move(*addr), {}};
  auto st = for_each_param(split_r->params, why,
                           [&](const Param& p) { return parse_rcpt_param(p, opts.offered, &out.params, why); });
  if (!st) return st.take_error();
  return out;
}

}  // namespace tern::mail
