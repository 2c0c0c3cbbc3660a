#include "common/mail/rfc2047.h"

#include <catch2/catch.hpp>

#include "common/mail/charset.h"
#include "common/mail/transfer_encoding.h"

using namespace tern::mail;

TEST_CASE("rfc2047: decodes B and Q words to UTF-8", "[mail][rfc2047]") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"plain text", "plain text"},
      {"=?utf-8?q?J=C3=B6rg?= <j@x>", "J\xC3\xB6rg <j@x>"},
      {"=?ISO-8859-1?Q?caf=E9_cr=E8me?=", "caf\xC3\xA9 cr\xC3\xA8" "me"},
      {"Quarterly, =?utf-8?b?w6l0w6k=?= edition", "Quarterly, \xC3\xA9t\xC3\xA9" " edition"},
      // White space between adjacent words goes (RFC 2047 6.2), and a
      // character split across two words comes out whole.
      {"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},
      {"=?utf-8?b?w6k=?=\r\n =?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xC3\xA9\xC3\xA9"},
      {"=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"},
      // Unknown charset, unknown encoding, malformed: raw.
      {"=?x-nonesuch?q?abc?=", "=?x-nonesuch?q?abc?="},
      {"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},
      {"=?utf-8?q?no end", "=?utf-8?q?no end"},
      {"=?utf-8?q?has space?=", "=?utf-8?q?has space?="},
      // RFC 2231 language suffix; glued to text.
      {"=?utf-8*fr?q?d=C3=A9but?=", "d\xC3\xA9" "but"},
      {"x=?utf-8?q?y?=z", "xyz"},
      // Bad bytes in the charset become U+FFFD.
      {"=?utf-8?q?=FF?=", "\xFF"},
      {"=?shift_jis?b?gqA=?=", "\xE3\x81\x82"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(decode_rfc2047(c.in) == c.out);
  }
}

TEST_CASE("charset: conversion to UTF-8", "[mail][charset]") {
  CHECK(convert_to_utf8("caf\xE9", "iso-8859-1") == "caf\xC3\xA9");
  CHECK(convert_to_utf8("\x80", "windows-1252") == "\xE2\x82\xAC");
  CHECK(convert_to_utf8("a\xFF" "b", "utf-8") == "a\xFF" "b");  // utf-8 is taken as it is
  CHECK(convert_to_utf8("\x82", "shift_jis") == "\xEF\xBF\xBD");  // truncated
  CHECK_FALSE(convert_to_utf8("x", "x-nonesuch"));
  CHECK_FALSE(convert_to_utf8("x", "../../etc/passwd"));
  CHECK_FALSE(convert_to_utf8("x", "UTF-8//TRANSLIT"));
  CHECK(convert_to_utf8(std::string(100, 'a'), "iso-8859-1", 10)->size() == 10);
  CHECK(charset_known("KOI8-R"));
}

TEST_CASE("transfer_encoding: lenient base64 and quoted-printable", "[mail][charset]") {
  CHECK(decode_base64_lenient("aGVs\r\nbG8=") == "hello");
  CHECK(decode_base64_lenient("aGVsbG8") == "hello");
  CHECK(decode_base64_lenient("a*G!V-s bG8=garbage") == "hello");
  CHECK(decode_quoted_printable("caf=C3=A9 =\r\nsoft=  \r\nbreak =zz=4") == "caf\xC3\xA9 softbreak =zz=4");
  CHECK(decode_quoted_printable("a=\nb=") == "ab");
  CHECK(decode_q("a_b=3Dc=") == "a b=c=");
  CHECK(decode_transfer_encoding("YQ==", "BASE64") == "a");
  CHECK(decode_transfer_encoding("YQ==", "7bit") == "YQ==");
}
