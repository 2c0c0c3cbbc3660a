// Charset conversion to UTF-8 (charset.h).

#include "common/mail/charset.h"

#include <iconv.h>

#include <cerrno>

#include "common/base/strings.h"

namespace tern::mail {
namespace {

bool plain(std::string_view cs) {
  return equals_nocase(cs, "us-ascii") || equals_nocase(cs, "utf-8") || equals_nocase(cs, "utf8") ||
         equals_nocase(cs, "ascii");
}

bool safe_name(std::string_view cs) {
  if (cs.empty() || cs.size() > 64) return false;
  for (char c : cs) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// iconv_t owner (no bare iconv_close outside it).
class Iconv {
 public:
  explicit Iconv(std::string_view from) {
    std::string name(from);
    cd_ = iconv_open("UTF-8", name.c_str());
  }
  ~Iconv() {
    if (ok()) iconv_close(cd_);
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return cd_; }

 private:
  iconv_t cd_;
};

}  // namespace

bool charset_known(std::string_view charset) {
  if (plain(charset)) return true;
  if (!safe_name(charset)) return false;
  return Iconv(charset).ok();
}

std::optional<std::string> convert_to_utf8(std::string_view bytes, std::string_view charset, size_t max_out) {
  if (plain(charset)) return std::string(bytes.substr(0, max_out));
  if (!safe_name(charset)) return std::nullopt;
  Iconv cd(charset);
  if (!cd.ok()) return std::nullopt;
  std::string out;
  char buf[4096];
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  bool flushing = false;
  while (out.size() < max_out) {
    char* o = buf;
    size_t o_left = sizeof buf;
    size_t r = flushing ? iconv(cd.get(), nullptr, nullptr, &o, &o_left) : iconv(cd.get(), &in, &in_left, &o, &o_left);
    int err = errno;
    out.append(buf, sizeof buf - o_left);
    if (r != static_cast<size_t>(-1)) {
      if (flushing) break;
      flushing = true;  // in_left is 0: flush any shift state
      continue;
    }
    if (err == E2BIG) continue;
    if (err == EILSEQ || err == EINVAL) {
      // An undecodable or truncated sequence: U+FFFD for its first byte.
      out += "\xEF\xBF\xBD";
      if (in_left == 0) break;
      ++in;
      --in_left;
      iconv(cd.get(), nullptr, nullptr, nullptr, nullptr);
      continue;
    }
    break;
  }
  if (out.size() > max_out) {
    size_t cut = max_out;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

}  // namespace tern::mail
