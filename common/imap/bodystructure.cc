// FETCH BODY / BODYSTRUCTURE (bodystructure.h).

#include "common/imap/bodystructure.h"

#include "common/imap/envelope.h"
#include "common/imap/response.h"

namespace tern::imap {
namespace {

using mail::MimePart;

// What Dovecot shows where the grammar needs a body and there is none.
constexpr std::string_view kEmptyBody = R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0))";
constexpr std::string_view kEmptyBodyExt = R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))";
constexpr std::string_view kEmptyEnvelope = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

void put_params(std::string* out, const std::vector<mail::MimeParam>& params) {
  if (params.empty()) {
    *out += "NIL";
    return;
  }
  *out += '(';
  bool first = true;
  for (const auto& p : params) {
    if (!first) *out += ' ';
    first = false;
    append_string(out, p.name);
    *out += ' ';
    append_string(out, p.value);
  }
  *out += ')';
}

void put_opt(std::string* out, const std::optional<std::string>& s) {
  append_nstring(out, s ? std::optional<std::string_view>(*s) : std::nullopt);
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc
void put_dsp_lang_loc(std::string* out, const MimePart& p) {
  if (p.disposition) {
    *out += '(';
    append_string(out, p.disposition->type);
    *out += ' ';
    put_params(out, p.disposition->params);
    *out += ')';
  } else {
    *out += "NIL";
  }
  *out += ' ';
  if (p.language.empty()) {
    *out += "NIL";
  } else {
    *out += '(';
    for (size_t i = 0; i < p.language.size(); ++i) {
      if (i) *out += ' ';
      append_string(out, p.language[i]);
    }
    *out += ')';
  }
  *out += ' ';
  put_opt(out, p.location);
}

class Renderer {
 public:
  Renderer(std::string_view msg, const mail::MimeTree& tree, bool ext) : msg_(msg), tree_(tree), ext_(ext) {}

  void body(std::string* out, uint32_t index) {
    const MimePart& p = tree_.parts[index];
    if (p.opaque && !p.is_type("text")) {
      // Stopped by the limits: not what its type says any more (Dovecot).
      *out += R"(("application" "octet-stream" NIL NIL NIL "7bit" )";
      *out += std::to_string(p.body_size);
      *out += ext_ ? " NIL NIL NIL NIL)" : ")";
      return;
    }
    if (p.kind == MimePart::Kind::kMultipart || p.is_type("multipart")) {
      multipart(out, p);
      return;
    }
    *out += '(';
    append_string(out, p.type);
    *out += ' ';
    append_string(out, p.subtype);
    *out += ' ';
    put_params(out, p.params);
    *out += ' ';
    put_opt(out, p.id);
    *out += ' ';
    put_opt(out, p.description);
    *out += ' ';
    append_string(out, p.encoding ? std::string_view(*p.encoding) : std::string_view("7bit"));
    *out += ' ';
    *out += std::to_string(p.body_size);
    if (p.is_type("message", "rfc822") || p.is_type("message", "global")) {
      *out += ' ';
      message_inside(out, p);
      *out += ' ';
      *out += std::to_string(p.body_lines);
    } else if (p.is_type("text")) {
      *out += ' ';
      *out += std::to_string(p.body_lines);
    }
    if (ext_) {
      *out += " NIL ";  // body-fld-md5
      put_dsp_lang_loc(out, p);
    }
    *out += ')';
  }

 private:
  void multipart(std::string* out, const MimePart& p) {
    *out += '(';
    if (p.children.empty()) *out += ext_ ? kEmptyBodyExt : kEmptyBody;
    for (uint32_t c : p.children) body(out, c);
    *out += ' ';
    append_string(out, p.subtype);
    if (ext_) {
      *out += ' ';
      put_params(out, p.params);
      *out += ' ';
      put_dsp_lang_loc(out, p);
    }
    *out += ')';
  }

  // envelope SP body of an encapsulated message.
  void message_inside(std::string* out, const MimePart& p) {
    if (p.kind == MimePart::Kind::kMessage && !p.children.empty()) {
      *out += envelope(msg_, tree_, p.children[0]);
      *out += ' ';
      body(out, p.children[0]);
      return;
    }
    // Not identity-encoded (RFC 2046 5.2.1 forbids it): nothing inside is
    // readable; an empty envelope and body, as Dovecot.
    *out += kEmptyEnvelope;
    *out += ' ';
    *out += ext_ ? kEmptyBodyExt : kEmptyBody;
  }

  std::string_view msg_;
  const mail::MimeTree& tree_;
  bool ext_;
};

}  // namespace

std::string body_structure(std::string_view message, const mail::MimeTree& tree, bool extended) {
  std::string out;
  if (tree.parts.empty()) return std::string(kEmptyBody);
  Renderer(message, tree, extended).body(&out, 0);
  return out;
}

}  // namespace tern::imap
