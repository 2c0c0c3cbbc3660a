#include "common/mail/mime_downgrade.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tern::mail;

namespace {

DowngradePlan scan(std::string_view msg, size_t piece = 100000) {
  MimeDowngrade s;
  std::string ignored;
  for (size_t i = 0; i < msg.size(); i += piece) s.feed(msg.substr(i, piece), ignored);
  s.finish(ignored);
  CHECK(ignored.empty());
  return s.plan();
}

std::string convert(std::string_view msg, size_t piece = 100000) {
  MimeDowngrade c(scan(msg, piece));
  std::string out;
  for (size_t i = 0; i < msg.size(); i += piece) c.feed(msg.substr(i, piece), out);
  c.finish(out);
  return out;
}

// RFC 2045 6.7 decoding, for round trips.
std::string qp_decode(std::string_view in) {
  std::string out;
  auto hex = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out += in[i];
    } else if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      i += 2;  // soft line break
    } else if (i + 2 < in.size()) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    }
  }
  return out;
}

bool lines_within(std::string_view s, size_t limit) {
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find("\r\n", start);
    size_t end = nl == std::string_view::npos ? s.size() : nl;
    if (end - start > limit) return false;
    if (nl == std::string_view::npos) break;
    start = nl + 2;
  }
  return true;
}

bool is_7bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c == 0) return false;
  return true;
}

}  // namespace

TEST_CASE("qp encoder: =, 8-bit bytes and trailing white space are encoded, lines stay within 76 octets") {
  QpEncoder e;
  std::string out;
  e.encode("a=b caf\xc3\xa9 end ", out);
  e.line_end(out);
  e.encode("tab\t", out);
  e.line_end(out);
  CHECK(out == "a=3Db caf=C3=A9 end=20\r\ntab=09\r\n");

  std::string line(200, 'x');
  line += "\xff";
  QpEncoder e2;
  std::string out2;
  e2.encode(line, out2);
  e2.line_end(out2);
  CHECK(lines_within(out2, 76));
  CHECK(qp_decode(out2) == line + "\r\n");
}

TEST_CASE("mime downgrade: an 8-bit text message becomes quoted-printable, byte for byte") {
  std::string in =
      "From: a@example.org\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "caf\xc3\xa9 = ok \r\n"
      ".dot\r\n";
  auto plan = scan(in);
  CHECK(plan.convert());
  CHECK_FALSE(plan.signed_8bit);
  std::string want =
      "From: a@example.org\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "caf=C3=A9 =3D ok=20\r\n"
      ".dot\r\n";
  for (size_t piece : {1, 2, 3, 7, 64, 100000}) {
    INFO("pieces of " << piece);
    CHECK(convert(in, piece) == want);
  }
}

TEST_CASE("mime downgrade: a 7-bit message needs nothing and passes unchanged") {
  std::string in = "Subject: x\r\nContent-Transfer-Encoding: 7bit\r\n\r\nplain\r\n";
  auto plan = scan(in);
  CHECK_FALSE(plan.convert());
  CHECK_FALSE(plan.any_8bit());
  CHECK(convert(in) == in);
}

TEST_CASE("mime downgrade: a message without MIME-Version or encoding gets both") {
  std::string in = "Subject: x\r\n\r\n\xe9t\xe9\r\n";
  CHECK(convert(in) ==
        "Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n=E9t=E9\r\n");
}

TEST_CASE("mime downgrade: only the 8-bit parts of a multipart are converted, the multipart is relabelled 7bit") {
  std::string in =
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed;\r\n"
      " boundary=\"b1\"\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "preamble\r\n"
      "--b1\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "ascii only\r\n"
      "--b1\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "d\xe9j\xe0\r\n"
      "--b1\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "AAEC\r\n"
      "--b1--\r\n"
      "epilogue\r\n";
  std::string want =
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed;\r\n"
      " boundary=\"b1\"\r\n"
      "Content-Transfer-Encoding: 7bit\r\n"
      "\r\n"
      "preamble\r\n"
      "--b1\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "ascii only\r\n"
      "--b1\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "d=E9j=E0\r\n"
      "--b1\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "AAEC\r\n"
      "--b1--\r\n"
      "epilogue\r\n";
  for (size_t piece : {1, 5, 100000}) {
    INFO("pieces of " << piece);
    CHECK(convert(in, piece) == want);
  }
}

TEST_CASE("mime downgrade: a message/rfc822 part is converted inside") {
  std::string in =
      "Content-Type: multipart/mixed; boundary=outer\r\n"
      "\r\n"
      "--outer\r\n"
      "Content-Type: message/rfc822\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "Subject: inner\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "\r\n"
      "\xc3\xbc\r\n"
      "--outer--\r\n";
  std::string out = convert(in);
  CHECK(is_7bit(out));
  CHECK(out.find("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n") != std::string::npos);
  CHECK(out.find("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=BC\r\n"
                 "--outer--\r\n") != std::string::npos);
}

TEST_CASE("mime downgrade: 8-bit data inside multipart/signed cannot be converted") {
  std::string in =
      "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=s\r\n"
      "\r\n"
      "--s\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "sign\xe9\r\n"
      "--s\r\n"
      "Content-Type: application/pgp-signature\r\n"
      "\r\n"
      "SIG\r\n"
      "--s--\r\n";
  auto plan = scan(in);
  CHECK(plan.signed_8bit);
  CHECK_FALSE(plan.convert());
  // Converting anyway leaves the signed data alone.
  CHECK(convert(in) == in);
}

TEST_CASE("mime downgrade: 8-bit bytes in a header are reported but left") {
  std::string in = "Subject: caf\xc3\xa9\r\n\r\nascii\r\n";
  auto plan = scan(in);
  CHECK(plan.other_8bit);
  CHECK_FALSE(plan.convert());
  CHECK(convert(in) == in);
}

TEST_CASE("mime downgrade: long lines and hostile structure cost bounded memory and round-trip") {
  std::string body;
  for (int i = 0; i < 3; ++i) body += std::string(10000, 'a') + "\xe9 \r\n";
  std::string in = "Content-Transfer-Encoding: 8bit\r\n\r\n" + body;
  for (size_t piece : {1, 4095, 4097, 100000}) {
    std::string out = convert(in, piece);
    size_t hdr = out.find("\r\n\r\n") + 4;
    CHECK(lines_within(out, 998));
    CHECK(lines_within(out.substr(hdr), 76));
    CHECK(qp_decode(out.substr(hdr)) == body);
  }
  // 100 nested multiparts, a header section past the limit, many parts.
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
                                      std::to_string(i) + "\r\n";
  deep += "\r\n\xff\r\n";
  CHECK(scan(deep).any_8bit());
  std::string huge = "X: " + std::string(MimeDowngrade::kMaxHeader + 10, 'h') + "\r\n\r\n\xff\r\n";
  CHECK(convert(huge) == huge);
  std::string many = "Content-Type: multipart/mixed; boundary=m\r\n\r\n";
  for (size_t i = 0; i < MimeDowngrade::kMaxParts + 5; ++i) many += "--m\r\n\r\nx\r\n";
  auto plan = scan(many);
  CHECK(plan.parts <= MimeDowngrade::kMaxParts);
}
