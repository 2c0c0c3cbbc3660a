// FETCH ENVELOPE (envelope.h).

#include "common/imap/envelope.h"

#include "common/imap/response.h"
#include "common/mail/address.h"

namespace tern::imap {
namespace {


void put_text(std::string* out, const mail::HeaderField* f) {
  if (!f) {
    *out += "NIL";
    return;
  }
  append_nstring(out, f->unfolded());
}

// (address ...) or NIL when the field is absent or holds no address.
bool put_addresses(std::string* out, const mail::HeaderField* f) {
  if (!f) return false;
  auto list = mail::parse_addresses(f->value());
  if (list.empty()) return false;
  *out += '(';
  for (const auto& a : list) {
    *out += '(';
    append_nstring(out, a.name);
    *out += ' ';
    append_nstring(out, a.route);
    *out += ' ';
    append_nstring(out, a.mailbox);
    *out += ' ';
    append_nstring(out, a.host);
    *out += ')';
  }
  *out += ')';
  return true;
}

std::string render(const std::vector<mail::HeaderField>& fields) {
  auto find = [&](std::string_view name) { return mail::find_field(fields, name); };
  std::string out = "(";
  put_text(&out, find("Date"));
  out += ' ';
  put_text(&out, find("Subject"));
  out += ' ';
  std::string from;
  if (!put_addresses(&from, find("From"))) from = "NIL";
  out += from;
  for (const char* name : {"Sender", "Reply-To"}) {
    out += ' ';
    std::string value;
    out += put_addresses(&value, find(name)) ? value : from;
  }
  for (const char* name : {"To", "Cc", "Bcc"}) {
    out += ' ';
    if (!put_addresses(&out, find(name))) out += "NIL";
  }
  out += ' ';
  put_text(&out, find("In-Reply-To"));
  out += ' ';
  put_text(&out, find("Message-ID"));
  out += ')';
  return out;
}

}  // namespace

std::string envelope(std::string_view message, const mail::MimeTree& tree, uint32_t part) {
  if (part >= tree.parts.size()) return render({});
  return render(mail::entity_fields(message, tree.parts[part]));
}

std::string envelope_of_header(std::string_view header) {
  mail::MimePart whole;
  whole.body_begin = header.size();
  return render(mail::entity_fields(header, whole));
}

}  // namespace tern::imap
