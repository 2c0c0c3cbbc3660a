#include "common/mail/mime_downgrade.h"

#include <algorithm>

#include "common/base/strings.h"

namespace tern::mail {

namespace {

bool has_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c == 0) return true;
  return false;
}

bool all_wsp(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// One field of a header section: [begin, end) in the section's bytes, its
// lower-cased name and unfolded value.
struct Field {
  size_t begin = 0, end = 0;
  std::string name;
  std::string value;
};

std::vector<Field> split_fields(std::string_view h) {
  std::vector<Field> fields;
  size_t pos = 0;
  while (pos < h.size()) {
    size_t nl = h.find('\n', pos);
    size_t next = nl == std::string_view::npos ? h.size() : nl + 1;
    bool continuation = h[pos] == ' ' || h[pos] == '\t';
    if (continuation && !fields.empty()) {
      fields.back().end = next;
    } else {
      Field f;
      f.begin = pos;
      f.end = next;
      fields.push_back(std::move(f));
    }
    pos = next;
  }
  for (auto& f : fields) {
    std::string_view raw = h.substr(f.begin, f.end - f.begin);
    size_t colon = raw.find(':');
    if (colon == std::string_view::npos) continue;
    f.name = to_lower(trim(raw.substr(0, colon)));
    std::string v;
    for (char c : raw.substr(colon + 1))
      if (c != '\r' && c != '\n') v += c;
    f.value = std::string(trim(v));
  }
  return fields;
}

// Content-Type (RFC 2045 5.1): "type/subtype" lower-cased, and the
// boundary parameter (a token or a quoted-string). RFC 2231 parameter
// continuations are not decoded (a boundary never needs them).
void parse_content_type(std::string_view v, std::string& type, std::string& boundary) {
  size_t i = 0;
  while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '(') ++i;
  type = to_lower(v.substr(0, i));
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ';' || v[i] == ' ' || v[i] == '\t')) ++i;
    size_t eq = v.find('=', i);
    if (eq == std::string_view::npos) return;
    std::string name = to_lower(trim(v.substr(i, eq - i)));
    i = eq + 1;
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    std::string value;
    if (i < v.size() && v[i] == '"') {
      for (++i; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value += v[i];
      }
      if (i < v.size()) ++i;  // the closing quote
    } else {
      size_t start = i;
      while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t') ++i;
      value = std::string(v.substr(start, i - start));
    }
    if (name == "boundary" && boundary.empty()) boundary = value;
    while (i < v.size() && v[i] != ';') ++i;
  }
}

}  // namespace

// ---- quoted-printable ---------------------------------------------------------

void QpEncoder::token(std::string& out, const char* s, size_t n) {
  // Room for the "=" of a soft line break: encoded lines stay within 76
  // octets (RFC 2045 6.7 rule 5).
  if (col_ + n > 75) {
    out += "=\r\n";
    col_ = 0;
  }
  out.append(s, n);
  col_ += n;
}

void QpEncoder::encode(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    if (pending_) {
      char p = pending_;
      pending_ = 0;
      token(out, &p, 1);  // not trailing: literal (rule 3)
    }
    if (c == ' ' || c == '\t') {
      pending_ = static_cast<char>(c);
      continue;
    }
    if (c >= 33 && c <= 126 && c != '=') {
      char ch = static_cast<char>(c);
      token(out, &ch, 1);
    } else {
      char e[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      token(out, e, 3);
    }
  }
}

void QpEncoder::finish(std::string& out) {
  if (pending_) {
    // White space at the end of an encoded line is encoded (rule 3).
    char e[3] = {'=', pending_ == ' ' ? '2' : '0', pending_ == ' ' ? '0' : '9'};
    pending_ = 0;
    token(out, e, 3);
  }
}

void QpEncoder::line_end(std::string& out) {
  finish(out);
  out += "\r\n";
  col_ = 0;
}

// ---- the MIME state machine --------------------------------------------------

MimeDowngrade::MimeDowngrade() : scan_(true) { plan_.parts = 1; }

MimeDowngrade::MimeDowngrade(DowngradePlan plan) : scan_(false), plan_(std::move(plan)) {}

bool MimeDowngrade::in_signed() const {
  return std::any_of(stack_.begin(), stack_.end(), [](const Multipart& m) { return m.is_signed; });
}

void MimeDowngrade::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    size_t nl = in.find('\n');
    if (line_.empty() && nl != std::string_view::npos && nl + 1 <= kMaxLine) {
      process(in.substr(0, nl + 1), !mid_line_, out);
      mid_line_ = false;
      in.remove_prefix(nl + 1);
      continue;
    }
    size_t room = kMaxLine - line_.size();
    size_t take = std::min(nl == std::string_view::npos ? in.size() : nl + 1, room);
    line_.append(in.substr(0, take));
    in.remove_prefix(take);
    if (line_.back() == '\n') {
      process(line_, !mid_line_, out);
      mid_line_ = false;
      line_.clear();
    } else if (line_.size() >= kMaxLine) {
      // A fragment of a long line. A CR at its end stays for the next
      // piece, so a CRLF is never split into two line ends.
      bool cr = line_.back() == '\r';
      process(std::string_view(line_).substr(0, line_.size() - (cr ? 1 : 0)), !mid_line_, out);
      mid_line_ = true;
      line_.clear();
      if (cr) line_.push_back('\r');
    }
  }
}

void MimeDowngrade::finish(std::string& out) {
  if (!line_.empty()) process(line_, !mid_line_, out);
  line_.clear();
  if (state_ == State::kHeader) {
    emit(out, header_);
    header_.clear();
  }
  if (qp_) encoder_.finish(out);
  qp_ = false;
}

void MimeDowngrade::process(std::string_view raw, bool line_start, std::string& out) {
  bool eol = !raw.empty() && raw.back() == '\n';
  std::string_view content = raw;
  if (eol) {
    content.remove_suffix(1);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
  }
  bool whole = line_start && eol;  // only whole lines are boundaries or the end of a header
  if (state_ == State::kHeader) {
    if (whole && content.empty()) return end_header(raw, out);
    if (whole && !stack_.empty() && boundary(content, raw, out)) return;
    if (has_8bit(raw)) plan_.other_8bit = true;
    if (header_.size() + raw.size() > kMaxHeader) {
      // Not a header section we parse: the rest of the part as it is.
      emit(out, header_);
      emit(out, raw);
      header_.clear();
      state_ = State::kOpaque;
      return;
    }
    header_.append(raw);
    return;
  }
  if (whole && !stack_.empty() && boundary(content, raw, out)) return;
  body(raw, content, eol, out);
}

void MimeDowngrade::body(std::string_view raw, std::string_view content, bool eol, std::string& out) {
  if (state_ != State::kLeaf) {
    if (has_8bit(raw)) plan_.other_8bit = true;
    return emit(out, raw);
  }
  if (scan_) {
    if (has_8bit(content)) {
      if (plan_.part_8bit.size() <= part_) plan_.part_8bit.resize(part_ + 1, 0);
      plan_.part_8bit[part_] = 1;
      (in_signed() ? plan_.signed_8bit : plan_.convertible_8bit) = true;
    }
    return;
  }
  if (!qp_) return emit(out, raw);
  encoder_.encode(content, out);
  if (eol) encoder_.line_end(out);
}

// RFC 2046 5.1.1: "--" boundary, "--" after it for the close delimiter,
// then only linear white space. The innermost open multipart is tried
// first; an outer boundary also ends every part inside it.
bool MimeDowngrade::boundary(std::string_view content, std::string_view raw, std::string& out) {
  if (content.size() < 2 || content[0] != '-' || content[1] != '-') return false;
  for (size_t k = stack_.size(); k-- > 0;) {
    const Multipart& m = stack_[k];
    if (m.closed) continue;
    const std::string& b = m.boundary;
    if (content.size() < 2 + b.size() || content.substr(2, b.size()) != b) continue;
    std::string_view rest = content.substr(2 + b.size());
    bool close = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
    if (close) rest.remove_prefix(2);
    if (!all_wsp(rest)) continue;
    if (state_ == State::kHeader) emit(out, header_);  // a part that ends inside its header
    header_.clear();
    if (qp_) encoder_.finish(out);
    qp_ = false;
    stack_.resize(k + 1);
    emit(out, raw);
    if (close) {
      stack_[k].closed = true;
      state_ = State::kMulti;  // the epilogue
    } else {
      begin_part(stack_[k].digest);
    }
    return true;
  }
  return false;
}

void MimeDowngrade::begin_part(bool digest_default) {
  header_.clear();
  qp_ = false;
  if (part_ + 1 >= kMaxParts) {
    state_ = State::kOpaque;
    return;
  }
  ++part_;
  plan_.parts = std::max(plan_.parts, part_ + 1);
  digest_default_ = digest_default;
  state_ = State::kHeader;
}

void MimeDowngrade::end_header(std::string_view blank, std::string& out) {
  auto fields = split_fields(header_);
  std::string type = digest_default_ ? "message/rfc822" : "text/plain";
  std::string boundary, cte;
  bool has_cte = false, has_version = false;
  for (const auto& f : fields) {
    if (f.name == "content-type") {
      std::string t;
      parse_content_type(f.value, t, boundary);
      if (t.find('/') != std::string::npos) type = t;
    } else if (f.name == "content-transfer-encoding") {
      has_cte = true;
      cte = to_lower(trim(f.value));
    } else if (f.name == "mime-version") {
      has_version = true;
    }
  }
  bool multipart = starts_with_nocase(type, "multipart/") && !boundary.empty() && stack_.size() < kMaxDepth;
  bool message = type == "message/rfc822" && (cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary");
  bool leaf = !multipart && !message;

  enum class Rewrite { kKeep, kQp, k7bit } rewrite = Rewrite::kKeep;
  if (!scan_ && !in_signed()) {
    if (leaf && part_ < plan_.part_8bit.size() && plan_.part_8bit[part_]) {
      rewrite = Rewrite::kQp;
    } else if ((cte == "8bit" || cte == "binary") && type != "multipart/signed") {
      rewrite = Rewrite::k7bit;
    }
  }
  if (rewrite == Rewrite::kKeep) {
    emit(out, header_);
  } else {
    std::string_view value = rewrite == Rewrite::kQp ? "quoted-printable" : "7bit";
    for (const auto& f : fields) {
      if (f.name == "content-transfer-encoding") {
        emit(out, "Content-Transfer-Encoding: ");
        emit(out, value);
        emit(out, "\r\n");
      } else {
        emit(out, std::string_view(header_).substr(f.begin, f.end - f.begin));
      }
    }
    if (rewrite == Rewrite::kQp && !has_cte) emit(out, "Content-Transfer-Encoding: quoted-printable\r\n");
    // Without MIME-Version the encoding would mean nothing to a reader
    // (RFC 2045 4); only the message itself needs one.
    if (rewrite == Rewrite::kQp && part_ == 0 && !has_version) emit(out, "MIME-Version: 1.0\r\n");
  }
  emit(out, blank);
  header_.clear();

  if (multipart) {
    stack_.push_back({boundary, type == "multipart/signed", type == "multipart/digest", false});
    state_ = State::kMulti;  // the preamble
  } else if (message) {
    begin_part(false);  // the enclosed message's header section follows at once
  } else {
    state_ = State::kLeaf;
    qp_ = rewrite == Rewrite::kQp;
  }
}

}  // namespace tern::mail
