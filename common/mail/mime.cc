// The MIME structure of a message (mime.h).

#include "common/mail/mime.h"

#include <cstring>
#include <map>

#include "common/base/strings.h"
#include "common/mail/charset.h"

namespace tern::mail {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 2045 5.1 tspecials, plus what cannot be part of a token at all.
bool is_tspecial(char c) { return std::strchr("()<>@,;:\\\"/[]?=", c) != nullptr; }

// A position in the buffer, in raw bytes, in CRLF-form bytes and in line ends.
struct Mark {
  size_t raw = 0;
  uint64_t crlf = 0;
  uint64_t lfs = 0;
};

// Structured header values (RFC 2045 5.1, RFC 2183 2): tokens, quoted
// strings and comments, leniently, as mailers write them.
class ValueLexer {
 public:
  explicit ValueLexer(std::string_view s) : s_(s) {}

  bool at_end() {
    skip_cfws();
    return i_ >= s_.size();
  }
  // Skips white space and comments and takes c if it is next.
  bool take(char c) {
    skip_cfws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // RFC 2045 token.
  std::string token() {
    skip_cfws();
    size_t b = i_;
    while (i_ < s_.size() && static_cast<unsigned char>(s_[i_]) > 32 && s_[i_] != 127 && !is_tspecial(s_[i_])) ++i_;
    return std::string(s_.substr(b, i_ - b));
  }
  // A parameter value: a quoted string, or (leniently) anything up to ';'
  // or white space: mailers write "name=a/b.pdf" and "name=Ä.txt".
  std::optional<std::string> value() {
    skip_cfws();
    if (i_ < s_.size() && s_[i_] == '"') return quoted();
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] != ';' && s_[i_] != '"' && s_[i_] != '(' &&
           static_cast<unsigned char>(s_[i_]) > 32)
      ++i_;
    if (b == i_) return std::nullopt;
    return std::string(s_.substr(b, i_ - b));
  }
  // Skips to the next ';' (recovery after garbage).
  void skip_to_semicolon() {
    while (i_ < s_.size() && s_[i_] != ';') {
      if (s_[i_] == '"') {
        (void)quoted();
      } else {
        ++i_;
      }
    }
  }

 private:
  std::string quoted() {
    std::string out;
    for (++i_; i_ < s_.size(); ++i_) {
      char c = s_[i_];
      if (c == '\\' && i_ + 1 < s_.size()) {
        out += s_[++i_];
      } else if (c == '"') {
        ++i_;
        return out;
      } else if (c != '\r' && c != '\n') {
        out += c;
      }
    }
    return out;  // unclosed: what there is
  }
  void skip_cfws() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (is_wsp(c) || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '(') {
        int depth = 0;
        for (; i_ < s_.size(); ++i_) {
          if (s_[i_] == '\\') {
            ++i_;
          } else if (s_[i_] == '(') {
            ++depth;
          } else if (s_[i_] == ')' && --depth == 0) {
            ++i_;
            break;
          }
        }
      } else {
        return;
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

// RFC 2231 section 7 attribute-char: what may stay unescaped in an
// extended value.
bool is_attribute_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 32 && u < 127 && !is_tspecial(c) && c != '*' && c != '\'' && c != '%';
}

std::string percent_encode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (is_attribute_char(c)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// RFC 2231 3 and 4: joins name*0, name*1*, ... and keeps name* encoded
// values as they are. Joined parameters come after the others, in the
// order they were first seen (as Dovecot lists them).
std::vector<MimeParam> join_rfc2231(std::vector<MimeParam> raw) {
  struct Segment {
    std::string value;
    bool encoded = false;
  };
  struct Joined {
    std::map<unsigned, Segment> segments;
  };
  std::vector<MimeParam> out;
  std::map<std::string, Joined> joined;
  std::vector<std::string> order;  // joined names, first seen first
  for (auto& p : raw) {
    size_t star = p.name.find('*');
    if (star == std::string::npos) {
      out.push_back(std::move(p));
      continue;
    }
    std::string base = p.name.substr(0, star);
    std::string_view rest = std::string_view(p.name).substr(star + 1);
    if (rest.empty()) {  // name*: one encoded value, kept as written
      out.push_back(std::move(p));
      continue;
    }
    bool encoded = rest.back() == '*';
    if (encoded) rest.remove_suffix(1);
    auto n = parse_int(rest);
    if (base.empty() || !n || *n < 0 || *n > 999 || (rest.size() > 1 && rest[0] == '0')) {
      out.push_back(std::move(p));  // not a continuation: an odd name, kept
      continue;
    }
    auto [it, fresh] = joined.try_emplace(base);
    if (fresh) order.push_back(base);
    it->second.segments.try_emplace(static_cast<unsigned>(*n), Segment{std::move(p.value), encoded});
  }
  for (const auto& base : order) {
    const Joined& j = joined[base];
    if (!j.segments.count(0)) continue;  // no first segment: nothing to join
    bool any_encoded = false;
    for (unsigned n = 0; j.segments.count(n); ++n) any_encoded = any_encoded || j.segments.at(n).encoded;
    MimeParam m;
    m.name = any_encoded ? base + "*" : base;
    for (unsigned n = 0; j.segments.count(n); ++n) {
      const Segment& s = j.segments.at(n);
      if (!any_encoded || s.encoded) {
        m.value += s.value;
      } else {
        // RFC 2231 4.1: the first segment of an encoded value carries the
        // charset and language; a plain first segment gets empty ones.
        if (n == 0) m.value += "''";
        m.value += percent_encode(s.value);
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<MimeParam> parse_params(ValueLexer& lex) {
  std::vector<MimeParam> raw;
  while (lex.take(';')) {
    std::string name = lex.token();
    if (name.empty() || !lex.take('=')) {
      lex.skip_to_semicolon();
      continue;  // garbage: this parameter is dropped
    }
    auto value = lex.value();
    if (!value) continue;
    if (raw.size() >= kMaxMimeParams) break;
    raw.push_back({std::move(name), std::move(*value)});
  }
  return join_rfc2231(std::move(raw));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Content-Language (RFC 3282): a comma-separated list of tags with comments.
std::vector<std::string> parse_language(std::string_view value) {
  std::vector<std::string> out;
  ValueLexer lex(value);
  while (!lex.at_end() && out.size() < kMaxMimeParams) {
    std::string tag = lex.token();
    if (!tag.empty()) out.push_back(std::move(tag));
    if (!lex.take(',')) {
      if (tag.empty()) break;  // garbage
    }
  }
  return out;
}

// Content-Location (RFC 2557 4.1): the URI with folding white space removed.
std::string unfold_location(std::string_view value) {
  std::string out;
  for (char c : value)
    if (!is_wsp(c) && c != '\r' && c != '\n') out += c;
  return out;
}

class MimeParser {
 public:
  MimeParser(std::string_view msg, const MimeLimits& limits) : m_(msg), limits_(limits) {}

  MimeTree parse(const std::function<void(size_t)>* progress = nullptr) {
    new_entity(Mark{}, kNoParent, 0);
    size_t next_progress = kMimeProgressStep;
    while (pos_.raw < m_.size()) {
      if (progress && pos_.raw >= next_progress) {
        (*progress)(pos_.raw);
        next_progress = pos_.raw + kMimeProgressStep;
      }
      const char* nl = static_cast<const char*>(std::memchr(m_.data() + pos_.raw, '\n', m_.size() - pos_.raw));
      size_t end = nl ? static_cast<size_t>(nl - m_.data()) : m_.size();
      bool cr = end > pos_.raw && m_[end - 1] == '\r';
      Line line{m_.substr(pos_.raw, end - pos_.raw - (cr && nl ? 1 : 0)), pos_, {}};
      line.next.raw = nl ? end + 1 : end;
      line.next.crlf = pos_.crlf + (line.next.raw - pos_.raw) + (nl && !cr ? 1 : 0);
      line.next.lfs = pos_.lfs + (nl ? 1 : 0);
      if (nl && !cr) tree_.has_bare_lf = true;
      handle(line);
      before_eol_ = nl ? Mark{end - (cr ? 1 : 0), line.next.crlf - 2, pos_.lfs} : line.next;
      pos_ = line.next;
    }
    // End of the buffer: every open entity ends here.
    close_up_to(kNoParent, pos_);
    return std::move(tree_);
  }

 private:
  static constexpr uint32_t kNoParent = UINT32_MAX;

  struct Line {
    std::string_view text;  // without CR LF
    Mark begin;
    Mark next;  // the start of the following line
  };
  struct Open {
    uint32_t part;
    std::string boundary;
  };
  enum class Mode { kHeader, kSkipHeader, kBody };

  MimePart& cur() { return tree_.parts[cur_]; }

  void new_entity(const Mark& at, uint32_t parent, uint32_t depth) {
    MimePart p;
    p.parent = parent == kNoParent ? 0 : parent;
    p.depth = depth;
    p.header_begin = at.raw;
    tree_.parts.push_back(std::move(p));
    begins_.push_back({at, at});
    closed_.push_back(false);
    cur_ = static_cast<uint32_t>(tree_.parts.size() - 1);
    if (parent != kNoParent) tree_.parts[parent].children.push_back(cur_);
    mode_ = Mode::kHeader;
    header_ = HeaderParser(limits_.header);
  }

  // Which open multipart's delimiter this line is, innermost first.
  // Returns the stack index and whether it is a close delimiter.
  std::optional<std::pair<size_t, bool>> delimiter(std::string_view text) const {
    if (frozen_ || open_.empty() || text.size() < 3 || text[0] != '-' || text[1] != '-') return std::nullopt;
    std::string_view rest = text.substr(2);
    for (size_t i = open_.size(); i-- > 0;) {
      const std::string& b = open_[i].boundary;
      if (rest.size() >= b.size() && rest.compare(0, b.size(), b) == 0) {
        std::string_view after = rest.substr(b.size());
        return std::make_pair(i, after.size() >= 2 && after[0] == '-' && after[1] == '-');
      }
    }
    return std::nullopt;
  }

  void handle(const Line& line) {
    // A line is handled again when an entity's header ended before it and
    // the entity it now belongs to may treat it differently (a multipart's
    // first delimiter right after its header, with no empty line between).
    for (int round = 0;; ++round) {
      if (auto d = delimiter(line.text)) {
        if (on_delimiter(line, d->first, d->second)) return;
      }
      if (mode_ == Mode::kBody) return;  // body bytes: counted by offsets alone
      if (mode_ == Mode::kSkipHeader) {
        if (line.text.empty()) {
          end_header(line.next, true);
          return;
        }
        if (is_wsp(line.text[0]) || looks_like_field(line.text)) return;
        end_header(line.begin, true);
        continue;
      }
      auto step = header_.add_line(line.text);
      if (!step) {  // a header limit: skip the rest of this header
        mode_ = Mode::kSkipHeader;
        if (line.text.empty()) end_header(line.next, true);
        return;
      }
      if (*step == HeaderParser::Step::kMore) return;
      if (*step == HeaderParser::Step::kEnd) {
        end_header(line.next, true);
        return;
      }
      end_header(line.begin, true);  // the line is the body's first
      if (round > 8) return;          // cannot happen; bounded all the same
    }
  }

  static bool looks_like_field(std::string_view text) {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = text.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    return is_field_name(name);
  }

  // The header of the current entity ends; its body starts at `body`.
  // With may_split, a multipart or message/rfc822 opens its inside.
  void end_header(const Mark& body, bool may_split) {
    MimePart& p = cur();
    p.body_begin = body.raw;
    begins_[cur_].body = body;
    apply_fields(p, header_.fields());
    header_ = HeaderParser(limits_.header);
    mode_ = Mode::kBody;
    if (!may_split) return;
    const bool want_multipart = p.is_type("multipart");
    const bool want_message = (p.is_type("message", "rfc822") || p.is_type("message", "global")) &&
                              is_identity_encoding(p.encoding_lower());
    if (!want_multipart && !want_message) return;
    std::optional<std::string> boundary;
    if (want_multipart) {
      boundary = param_value(p.params, "boundary");
      if (!boundary || boundary->empty()) return;  // no delimiter can be found: a leaf
    }
    if (p.depth + 1 >= limits_.nesting || (want_message && tree_.parts.size() >= limits_.parts)) {
      p.opaque = true;
      tree_.limited = true;
      return;
    }
    if (want_multipart) {
      p.kind = MimePart::Kind::kMultipart;
      open_.push_back({cur_, std::move(*boundary)});
      return;
    }
    p.kind = MimePart::Kind::kMessage;
    new_entity(body, cur_, p.depth + 1);
  }

  static bool is_identity_encoding(const std::string& e) { return e == "7bit" || e == "8bit" || e == "binary"; }

  void apply_fields(MimePart& p, const std::vector<HeaderField>& fields) {
    // RFC 2046 5.1.5: in a multipart/digest the default is message/rfc822.
    const MimePart& parent = tree_.parts[p.parent];
    const bool digest_child =
        cur_ != 0 && parent.kind == MimePart::Kind::kMultipart && parent.is_type("multipart", "digest");
    if (digest_child) {
      p.type = "message";
      p.subtype = "rfc822";
      p.params.clear();
    } else {
      p.params = {{"charset", "us-ascii"}};
    }
    for (const auto& f : fields) {
      if (!starts_with_nocase(f.name, "Content-")) continue;
      std::string_view n = std::string_view(f.name).substr(8);
      if (equals_nocase(n, "Type")) {
        if (p.has_content_type) continue;  // the first one counts
        if (auto ct = parse_content_type(f.unfolded())) {
          p.has_content_type = true;
          p.type = std::move(ct->type);
          p.subtype = std::move(ct->subtype);
          p.params = std::move(ct->params);
        }
      } else if (equals_nocase(n, "Transfer-Encoding")) {
        if (!p.encoding) p.encoding = ValueLexer(f.unfolded()).token();
      } else if (equals_nocase(n, "ID")) {
        if (!p.id) p.id = f.unfolded();
      } else if (equals_nocase(n, "Description")) {
        if (!p.description) p.description = f.unfolded();
      } else if (equals_nocase(n, "MD5")) {
        if (!p.md5) p.md5 = f.unfolded();
      } else if (equals_nocase(n, "Disposition")) {
        if (!p.disposition) p.disposition = parse_content_disposition(f.unfolded());
      } else if (equals_nocase(n, "Language")) {
        if (p.language.empty()) p.language = parse_language(f.unfolded());
      } else if (equals_nocase(n, "Location")) {
        if (!p.location) p.location = unfold_location(f.value());
      }
    }
    // RFC 2045 5.2 / RFC 2046 4.1.2: text without a charset is us-ascii;
    // BODYSTRUCTURE shows it, as Dovecot does.
    if (p.has_content_type && p.is_type("text") && !param_value(p.params, "charset"))
      p.params.push_back({"charset", "us-ascii"});
  }

  // Returns false when the line is not taken as a delimiter after all (the
  // parts limit): it is then body of the current entity.
  bool on_delimiter(const Line& line, size_t level, bool close) {
    const uint32_t multipart = open_[level].part;
    if (!close && tree_.parts.size() >= limits_.parts) {
      // No new entity: the rest of the message is body of the current one.
      frozen_ = true;
      tree_.limited = true;
      if (cur().kind == MimePart::Kind::kLeaf) cur().opaque = true;
      if (mode_ != Mode::kBody) end_header(line.begin, false);
      return false;
    }
    close_up_to(multipart, before_eol_);
    open_.resize(level + 1);
    cur_ = multipart;
    mode_ = Mode::kBody;
    if (close) {
      open_.pop_back();  // the epilogue is body of the multipart
      return true;
    }
    new_entity(line.next, multipart, tree_.parts[multipart].depth + 1);
    return true;
  }

  // Ends the current entity and its ancestors below `stop` at `end`.
  // An entity whose body would end before it starts (a delimiter right
  // after its header's empty line, whose CRLF is also the delimiter's)
  // ends where its body starts, and its ancestors no earlier than that.
  void close_up_to(uint32_t stop, Mark end) {
    for (uint32_t i = cur_; i != stop;) {
      if (!closed_[i]) {
        if (i == cur_ && mode_ != Mode::kBody) {
          Mark h = end.raw < begins_[i].header.raw ? begins_[i].header : end;
          end_header(h, false);
        }
        end = finish(i, end);
      }
      if (i == 0) break;
      i = tree_.parts[i].parent;
    }
  }

  Mark finish(uint32_t i, Mark end) {
    MimePart& p = tree_.parts[i];
    const Mark& h = begins_[i].header;
    const Mark& b = begins_[i].body;
    if (end.raw < b.raw) end = b;
    p.body_end = end.raw;
    p.header_size = b.crlf - h.crlf;
    p.body_size = end.crlf - b.crlf;
    p.body_lines = end.lfs - b.lfs;
    closed_[i] = true;
    return end;
  }

  struct Begins {
    Mark header;
    Mark body;
  };

  std::string_view m_;
  const MimeLimits& limits_;
  MimeTree tree_;
  std::vector<Begins> begins_;
  std::vector<bool> closed_;
  std::vector<Open> open_;
  HeaderParser header_;
  Mark pos_;         // start of the line being handled
  Mark before_eol_;  // end of the previous line's text (before its line end)
  uint32_t cur_ = 0;
  Mode mode_ = Mode::kHeader;
  bool frozen_ = false;
};

}  // namespace

bool MimePart::is_type(std::string_view t) const { return equals_nocase(type, t); }
bool MimePart::is_type(std::string_view t, std::string_view sub) const {
  return equals_nocase(type, t) && equals_nocase(subtype, sub);
}
std::string MimePart::encoding_lower() const { return encoding ? to_lower(*encoding) : std::string("7bit"); }

std::optional<ContentType> parse_content_type(std::string_view value) {
  ValueLexer lex(value);
  ContentType ct;
  ct.type = lex.token();
  if (ct.type.empty() || !lex.take('/')) return std::nullopt;
  ct.subtype = lex.token();
  if (ct.subtype.empty()) return std::nullopt;
  ct.params = parse_params(lex);
  return ct;
}

std::optional<ContentDisposition> parse_content_disposition(std::string_view value) {
  ValueLexer lex(value);
  ContentDisposition d;
  d.type = lex.token();
  if (d.type.empty()) return std::nullopt;
  d.params = parse_params(lex);
  return d;
}

std::string decode_param_value(const MimeParam& param) {
  if (param.name.empty() || param.name.back() != '*') return param.value;
  // RFC 2231 4: charset'language'percent-encoded octets.
  size_t q1 = param.value.find('\'');
  size_t q2 = q1 == std::string::npos ? q1 : param.value.find('\'', q1 + 1);
  if (q2 == std::string::npos) return param.value;
  std::string charset = param.value.substr(0, q1);
  std::string bytes;
  std::string_view enc = std::string_view(param.value).substr(q2 + 1);
  for (size_t i = 0; i < enc.size(); ++i) {
    int hi, lo;
    if (enc[i] == '%' && i + 2 < enc.size() && (hi = hex_digit(enc[i + 1])) >= 0 &&
        (lo = hex_digit(enc[i + 2])) >= 0) {
      bytes += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      bytes += enc[i];
    }
  }
  if (charset.empty()) return bytes;
  auto utf8 = convert_to_utf8(bytes, charset);
  return utf8 ? std::move(*utf8) : bytes;
}

std::optional<std::string> param_value(const std::vector<MimeParam>& params, std::string_view name) {
  for (const auto& p : params) {
    std::string_view n = p.name;
    if (!n.empty() && n.back() == '*') n.remove_suffix(1);
    if (equals_nocase(n, name)) return decode_param_value(p);
  }
  return std::nullopt;
}

MimeTree parse_mime(std::string_view message, const MimeLimits& limits) {
  return MimeParser(message, limits).parse();
}

MimeTree parse_mime(std::string_view message, const MimeLimits& limits,
                    const std::function<void(size_t offset)>& progress) {
  return MimeParser(message, limits).parse(&progress);
}

std::optional<uint32_t> resolve_section(const MimeTree& tree, const std::vector<uint32_t>& numbers) {
  if (tree.parts.empty()) return std::nullopt;
  uint32_t cur = 0;
  // cur is the message itself or an encapsulated one: its number 1 is
  // itself when it is not a multipart.
  bool cur_is_message = true;
  for (uint32_t n : numbers) {
    if (n == 0) return std::nullopt;
    const MimePart* p = &tree.parts[cur];
    if (!cur_is_message && p->kind == MimePart::Kind::kMessage) {
      cur = p->children[0];
      p = &tree.parts[cur];
      cur_is_message = true;
    }
    if (p->kind == MimePart::Kind::kMultipart) {
      if (n > p->children.size()) return std::nullopt;
      cur = p->children[n - 1];
      cur_is_message = false;
    } else if (cur_is_message && n == 1) {
      cur_is_message = false;  // the message's one part: itself
    } else {
      return std::nullopt;
    }
  }
  return cur;
}

std::vector<HeaderField> entity_fields(std::string_view message, const MimePart& part, const HeaderLimits& limits) {
  std::string_view text = message.substr(part.header_begin, part.body_begin - part.header_begin);
  HeaderParser parser(limits);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto step = parser.add_line(text.substr(pos, nl - pos));
    if (!step || *step != HeaderParser::Step::kMore) break;
    pos = nl + 1;
  }
  return parser.take_fields();
}

}  // namespace tern::mail
