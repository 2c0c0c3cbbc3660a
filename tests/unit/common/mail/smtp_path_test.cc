#include "common/mail/smtp_path.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/base/strings.h"

using namespace tern;
using namespace tern::mail;

namespace {

std::string repeat(char c, size_t n) { return std::string(n, c); }

// A domain of exactly n octets: labels of at most 63 letters joined by dots.
std::string domain_of(size_t n) {
  std::string d;
  while (n - d.size() > 63) d += repeat('a', std::min<size_t>(63, n - d.size() - 2)) + ".";
  return d + repeat('a', n - d.size());
}

PathOptions rcpt_opts(bool utf8 = false) {
  PathOptions o;
  o.allow_postmaster = true;
  o.allow_utf8 = utf8;
  return o;
}

}  // namespace

TEST_CASE("smtp_path: parse_path accepts the RFC 5321 4.1.2 grammar", "[mail]") {
  struct Case {
    const char* in;
    const char* local;
    const char* local_quoted;
    const char* domain;
    bool literal;
    bool route;
  };
  const Case cases[] = {
      {"<user@example.com>", "user", "user", "example.com", false, false},
      {"<first.last@sub.example.com>", "first.last", "first.last", "sub.example.com", false, false},
      {"<u+tag@Example.COM>", "u+tag", "u+tag", "Example.COM", false, false},
      {"<!#$%&'*+-/=?^_`{|}~@x.y>", "!#$%&'*+-/=?^_`{|}~", "!#$%&'*+-/=?^_`{|}~", "x.y", false, false},
      {"<\"john doe\"@example.com>", "john doe", "\"john doe\"", "example.com", false, false},
      {"<\"plain\"@example.com>", "plain", "plain", "example.com", false, false},
      {"<\"a\\\"b\\\\c\"@example.com>", "a\"b\\c", "\"a\\\"b\\\\c\"", "example.com", false, false},
      {"<\"\\a\"@example.com>", "a", "a", "example.com", false, false},
      {"<\"a..b\"@example.com>", "a..b", "\"a..b\"", "example.com", false, false},
      {"<\"\"@example.com>", "", "\"\"", "example.com", false, false},
      {"<\"a>b\"@example.com>", "a>b", "\"a>b\"", "example.com", false, false},
      {"<user@[192.0.2.1]>", "user", "user", "[192.0.2.1]", true, false},
      {"<user@[0.0.0.0]>", "user", "user", "[0.0.0.0]", true, false},
      {"<user@[255.255.255.255]>", "user", "user", "[255.255.255.255]", true, false},
      {"<user@[IPv6:2001:db8::1]>", "user", "user", "[IPv6:2001:db8::1]", true, false},
      {"<user@[ipv6:::ffff:192.0.2.1]>", "user", "user", "[ipv6:::ffff:192.0.2.1]", true, false},
      {"<@relay.example:user@example.com>", "user", "user", "example.com", false, true},
      {"<@a.example,@b.example:user@c.example>", "user", "user", "c.example", false, true},
      {"<a@b>", "a", "a", "b", false, false},
      {"<a@1-2.x-y.example>", "a", "a", "1-2.x-y.example", false, false},
      {"<a@123.example>", "a", "a", "123.example", false, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto a = parse_path(c.in, rcpt_opts());
    REQUIRE(a.ok());
    CHECK(a->local == c.local);
    CHECK(a->local_quoted == c.local_quoted);
    CHECK(a->domain == c.domain);
    CHECK(a->domain_lower == to_lower(c.domain));
    CHECK(a->is_address_literal == c.literal);
    CHECK(a->had_source_route == c.route);
    CHECK_FALSE(a->is_null);
    CHECK_FALSE(a->is_postmaster);
  }
}

TEST_CASE("smtp_path: parse_path refuses what the grammar does not allow", "[mail]") {
  struct Case {
    const char* in;
    ArgFault fault;
  };
  const Case cases[] = {
      {"user@example.com", ArgFault::kPathSyntax},       // no brackets: no leniency
      {"<user@example.com", ArgFault::kPathSyntax},
      {"user@example.com>", ArgFault::kPathSyntax},
      {"< user@example.com>", ArgFault::kPathSyntax},
      {"<user@example.com >", ArgFault::kPathSyntax},
      {"<user>", ArgFault::kPathSyntax},
      {"<@example.com>", ArgFault::kPathSyntax},
      {"<user@>", ArgFault::kPathSyntax},
      {"<.user@example.com>", ArgFault::kPathSyntax},
      {"<user.@example.com>", ArgFault::kPathSyntax},
      {"<us..er@example.com>", ArgFault::kPathSyntax},
      {"<us er@example.com>", ArgFault::kPathSyntax},
      {"<us(er@example.com>", ArgFault::kPathSyntax},
      {"<a@b@example.com>", ArgFault::kPathSyntax},
      {"<user@.example.com>", ArgFault::kPathSyntax},
      {"<user@example.com.>", ArgFault::kPathSyntax},
      {"<user@example..com>", ArgFault::kPathSyntax},
      {"<user@-example.com>", ArgFault::kPathSyntax},
      {"<user@example-.com>", ArgFault::kPathSyntax},
      {"<user@exa_mple.com>", ArgFault::kPathSyntax},
      {"<user@exa mple.com>", ArgFault::kPathSyntax},
      {"<user@[192.0.2.256]>", ArgFault::kPathSyntax},
      {"<user@[192.0.2]>", ArgFault::kPathSyntax},
      {"<user@[192.0.2.1.5]>", ArgFault::kPathSyntax},
      {"<user@[1922.0.2.1]>", ArgFault::kPathSyntax},
      {"<user@[IPv6:2001:db8::g]>", ArgFault::kPathSyntax},
      {"<user@[IPv6:]>", ArgFault::kPathSyntax},
      {"<user@[x400:foo]>", ArgFault::kPathSyntax},
      {"<user@[192.0.2.1>", ArgFault::kPathSyntax},
      {"<user@192.0.2.1]>", ArgFault::kPathSyntax},
      {"<\"unterminated@example.com>", ArgFault::kPathSyntax},
      {"<\"a\"b@example.com>", ArgFault::kPathSyntax},
      {"<\"a\tb\"@example.com>", ArgFault::kPathSyntax},
      {"<\"a\\\x01\"@example.com>", ArgFault::kPathSyntax},
      {"<@relay.example user@example.com>", ArgFault::kPathSyntax},
      {"<@relay.example:>", ArgFault::kPathSyntax},
      {"<@:user@example.com>", ArgFault::kPathSyntax},
      {"<@a.example,b.example:user@example.com>", ArgFault::kPathSyntax},
      {"<@[192.0.2.1]:user@example.com>", ArgFault::kPathSyntax},
      {"<>", ArgFault::kPathSyntax},  // null only where allowed (MAIL)
      {"<us\xc3\xa9r@example.com>", ArgFault::kNonAscii},
      {"<user@\xc3\xa9xample.com>", ArgFault::kNonAscii},
      {"<\"\xc3\xa9\"@example.com>", ArgFault::kNonAscii},
      {"<us\xff" "er@example.com>", ArgFault::kPathSyntax},  // not UTF-8 at all
      {"<user\0@example.com>", ArgFault::kPathSyntax},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    ArgFault why = ArgFault::kNone;
    auto a = parse_path(c.in, rcpt_opts(), &why);
    REQUIRE_FALSE(a.ok());
    CHECK(why == c.fault);
    CHECK(a.error().code == Errc::kInvalid);
    CHECK_FALSE(a.error().text.empty());
  }
  ArgFault why = ArgFault::kNone;
  // A NUL inside an IPv6 literal must not hide the rest from inet_pton
  // (found by the fuzzer).
  CHECK_FALSE(parse_path(std::string_view("<user@[IPv6:::f\0junk]>", 22), rcpt_opts(), &why).ok());
  CHECK(why == ArgFault::kPathSyntax);
  CHECK_FALSE(parse_path("<user@[IPv6:::f%eth0]>", rcpt_opts(), &why).ok());
  // The embedded NUL: a string_view that really holds it.
  CHECK_FALSE(parse_path(std::string_view("<us\0er@example.com>", 19), rcpt_opts(), &why).ok());
  CHECK(why == ArgFault::kPathSyntax);
}

TEST_CASE("smtp_path: null path, postmaster and UTF-8 depend on the options", "[mail]") {
  PathOptions mail;
  mail.allow_null = true;
  auto null = parse_path("<>", mail);
  REQUIRE(null.ok());
  CHECK(null->is_null);
  CHECK(null->str().empty());

  for (const char* pm : {"<postmaster>", "<Postmaster>", "<POSTMASTER>"}) {
    CAPTURE(pm);
    auto a = parse_path(pm, rcpt_opts());
    REQUIRE(a.ok());
    CHECK(a->is_postmaster);
    CHECK(a->domain.empty());
    CHECK(a->key() == "postmaster");
    CHECK_FALSE(parse_path(pm, mail).ok());  // MAIL FROM:<postmaster> has no domain
  }
  auto pm_dom = parse_path("<postmaster@example.com>", rcpt_opts());
  REQUIRE(pm_dom.ok());
  CHECK_FALSE(pm_dom->is_postmaster);

  auto u = parse_path("<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", rcpt_opts(true));
  REQUIRE(u.ok());
  CHECK(u->needs_smtputf8());
  CHECK(u->local == "j\xc3\xb6rg");
  CHECK(u->local_quoted == "j\xc3\xb6rg");
  ArgFault why = ArgFault::kNone;
  CHECK_FALSE(parse_path("<j\xc3\xb6rg@example.com>", rcpt_opts(false), &why).ok());
  CHECK(why == ArgFault::kNonAscii);
  // Overlong and surrogate forms stay refused even with SMTPUTF8.
  CHECK_FALSE(parse_path("<a\xc0\xaf@example.com>", rcpt_opts(true), &why).ok());
  CHECK(why == ArgFault::kPathSyntax);
  CHECK_FALSE(parse_path("<a\xed\xa0\x80@example.com>", rcpt_opts(true), &why).ok());
  CHECK(why == ArgFault::kPathSyntax);
}

TEST_CASE("smtp_path: the RFC 5321 4.5.3.1 limits hold exactly at the limit", "[mail]") {
  struct Case {
    std::string in;
    bool ok;
    const char* limit_text;  // a word of the error text naming the limit
  };
  const std::string d255 = domain_of(255);
  const std::string d256 = domain_of(256);
  const std::string l64 = repeat('l', 64);
  const std::string l65 = repeat('l', 65);
  // "<" + local + "@" + domain + ">": 256 octets with local 64 and domain 189.
  const std::string d189 = domain_of(189);
  const std::string d190 = domain_of(190);
  const Case cases[] = {
      {"<" + l64 + "@example.com>", true, ""},
      {"<" + l65 + "@example.com>", false, "local part"},
      {"<\"" + repeat('q', 62) + "\"@example.com>", true, ""},
      {"<\"" + repeat('q', 63) + "\"@example.com>", false, "local part"},
      {"<u@" + d255 + ">", false, "path"},  // 259 octets: the domain fits, the path does not
      {"<u@" + d256 + ">", false, "domain"},
      {"<" + l64 + "@" + d189 + ">", true, ""},
      {"<" + l64 + "@" + d190 + ">", false, "path"},
      {"<u@" + repeat('a', 63) + ".example>", true, ""},
      {"<u@" + repeat('a', 64) + ".example>", false, "label"},
  };
  PathOptions rfc = rcpt_opts();
  rfc.limits = PathLimits{.local_part = 64, .domain = 255, .path = 256};
  for (const auto& c : cases) {
    CAPTURE(c.in.size(), c.in.substr(0, 40));
    ArgFault why = ArgFault::kNone;
    auto a = parse_path(c.in, rfc, &why);
    CHECK(a.ok() == c.ok);
    if (!c.ok && !a.ok()) {
      CHECK(why == ArgFault::kPathTooLong);
      CHECK(a.error().code == Errc::kLimit);
      CHECK(a.error().text.find(c.limit_text) != std::string::npos);
    }
  }
  // The domain limit on its own, with a larger path limit.
  PathOptions wide = rfc;
  wide.limits.path = 1000;
  CHECK(parse_path("<u@" + d255 + ">", wide).ok());
  // The defaults take what RFC 5321 4.5.3.1 asks to take where possible:
  // an SRS sender of forwarded mail, a local part of 512 octets.
  CHECK(parse_path("<SRS0=x7Qh=TT=long-sender-domain.example.org=a.very.long.mailing-list-bounce+verp-"
                   "1234567890@forwarder.example.net>",
                   rcpt_opts())
            .ok());
  CHECK(parse_path("<" + repeat('l', 512) + "@" + d255 + ">", rcpt_opts()).ok());
  CHECK_FALSE(parse_path("<" + repeat('l', 513) + "@example.com>", rcpt_opts()).ok());
  CHECK_FALSE(parse_path("<u@" + d256 + ">", rcpt_opts()).ok());
  ArgFault why = ArgFault::kNone;
  auto too_long = parse_path("<u@" + d256 + ">", wide, &why);
  REQUIRE_FALSE(too_long.ok());
  CHECK(why == ArgFault::kPathTooLong);
  CHECK(too_long.error().text.find("domain longer than 255") != std::string::npos);
}

TEST_CASE("smtp_path: routing tricks an open-relay check must refuse", "[mail]") {
  struct Case {
    const char* in;
    unsigned tricks;
  };
  const Case cases[] = {
      {"<user@local.example>", kNoRoutingTrick},
      {"<\"john doe\"@local.example>", kNoRoutingTrick},
      {"<user+tag@local.example>", kNoRoutingTrick},
      {"<user%other.example@local.example>", kPercentHack},
      {"<other.example!user@local.example>", kBangPath},
      {"<\"user@other.example\"@local.example>", kQuotedAt},
      {"<\"user%other.example\"@local.example>", kPercentHack},
      {"<@local.example:user@other.example>", kSourceRoute},
      {"<@a.example,@b.example:x!y%z@local.example>", kSourceRoute | kBangPath | kPercentHack},
      {"<\"a@b!c%d\"@local.example>", kQuotedAt | kBangPath | kPercentHack},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto a = parse_path(c.in, rcpt_opts());
    REQUIRE(a.ok());
    CHECK(routing_tricks(*a) == c.tricks);
    CHECK(has_routing_tricks(*a) == (c.tricks != kNoRoutingTrick));
    CHECK(describe_routing_tricks(c.tricks).empty() == (c.tricks == kNoRoutingTrick));
  }
  CHECK(describe_routing_tricks(kPercentHack | kSourceRoute) == "percent hack, source route");
}

TEST_CASE("smtp_path: split_extension follows recipient_delimiter", "[mail]") {
  struct Case {
    const char* local;
    const char* delims;
    const char* user;
    const char* ext;
    char delim;
  };
  const Case cases[] = {
      {"user+tag", "+", "user", "tag", '+'},
      {"user+tag+more", "+", "user", "tag+more", '+'},
      {"user+", "+", "user", "", '+'},
      {"user", "+", "user", "", 0},
      {"+tag", "+", "+tag", "", 0},
      {"user-tag", "+-", "user", "tag", '-'},
      {"a-b+c", "+-", "a", "b+c", '-'},
      {"user+tag", "", "user+tag", "", 0},
      {"owner-list", "-", "owner-list", "", 0},
      {"list-request", "-", "list-request", "", 0},
      {"list-request", "+", "list-request", "", 0},
      {"MAILER-DAEMON", "-", "MAILER-DAEMON", "", 0},
      {"postmaster", "t", "postmaster", "", 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.local, c.delims);
    const Extension e = split_extension(c.local, c.delims);
    CHECK(e.user == c.user);
    CHECK(e.extension == c.ext);
    CHECK(e.delimiter == c.delim);
  }
}

TEST_CASE("smtp_path: xtext round trip and strict decoding (RFC 3461 4)", "[mail]") {
  struct Case {
    std::string raw;
    const char* xtext;
  };
  const Case cases[] = {
      {"user@example.com", "user@example.com"},
      {"a+b=c", "a+2Bb+3Dc"},
      {"a b", "a+20b"},
      {"", ""},
      {std::string("\0\x7f\xff~!", 5), "+00+7F+FF~!"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.xtext);
    CHECK(xtext_encode(c.raw) == c.xtext);
    auto back = xtext_decode(c.xtext);
    REQUIRE(back.ok());
    CHECK(*back == c.raw);
  }
  CHECK(*xtext_decode("a+2bb") == "a+b");  // lower-case hex read
  for (const char* bad : {"+", "+2", "+2G", "a=b", "a b", "\x80", "+G0"}) {
    CAPTURE(bad);
    CHECK_FALSE(xtext_decode(bad).ok());
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  CHECK(*xtext_decode(xtext_encode(all)) == all);
}

TEST_CASE("smtp_path: MAIL FROM arguments with every ESMTP parameter", "[mail]") {
  ArgOptions o;
  o.offered.chunking = true;
  o.offered.auth = true;
  ArgFault why = ArgFault::kNone;

  auto m = parse_mail_args("<a@b.example> SIZE=12345 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 AUTH=u+2Bx@b.example", o, &why);
  REQUIRE(m.ok());
  CHECK(why == ArgFault::kNone);
  CHECK(m->sender.str() == "a@b.example");
  CHECK(m->params.size == 12345u);
  CHECK(m->params.body == Body::k8BitMime);
  CHECK(m->params.ret == Ret::kHdrs);
  CHECK(m->params.envid == "QQ+1");
  CHECK(m->params.auth == "u+x@b.example");
  CHECK_FALSE(m->params.smtputf8);

  auto n = parse_mail_args("<>", o);
  REQUIRE(n.ok());
  CHECK(n->sender.is_null);

  auto lower = parse_mail_args(" <a@b.example>  size=1 body=binarymime smtputf8 ret=full auth=<>  ", o);
  REQUIRE(lower.ok());
  CHECK(lower->params.size == 1u);
  CHECK(lower->params.body == Body::kBinaryMime);
  CHECK(lower->params.smtputf8);
  CHECK(lower->params.ret == Ret::kFull);
  CHECK(lower->params.auth == "<>");

  auto big = parse_mail_args("<a@b.example> SIZE=99999999999999999999", o);
  REQUIRE(big.ok());
  CHECK(big->params.size == UINT64_MAX);

  auto seven = parse_mail_args("<a@b.example> BODY=7BIT", o);
  REQUIRE(seven.ok());
  CHECK(seven->params.body == Body::k7Bit);

  auto utf8 = parse_mail_args("<j\xc3\xb6rg@example.com> SMTPUTF8", o);
  REQUIRE(utf8.ok());
  CHECK(utf8->sender.needs_smtputf8());
}

TEST_CASE("smtp_path: MAIL FROM refusals say which reply fits", "[mail]") {
  ArgOptions o;  // chunking and auth not offered
  struct Case {
    const char* in;
    ArgFault fault;
  };
  const Case cases[] = {
      {"a@b.example", ArgFault::kPathSyntax},
      {"", ArgFault::kPathSyntax},
      {"<a@b.example", ArgFault::kPathSyntax},
      {"<a@b.example>SIZE=1", ArgFault::kPathSyntax},
      {"<postmaster>", ArgFault::kPathSyntax},
      {"<j\xc3\xb6rg@example.com>", ArgFault::kNonAscii},
      {"<a@b.example> SIZE", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=12a", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=-1", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=123456789012345678901", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=1 SIZE=2", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=1 size=1", ArgFault::kParamSyntax},
      {"<a@b.example> BODY=9BIT", ArgFault::kParamSyntax},
      {"<a@b.example> BODY", ArgFault::kParamSyntax},
      {"<a@b.example> BODY=BINARYMIME", ArgFault::kParamUnknown},  // CHUNKING not offered
      {"<a@b.example> SMTPUTF8=yes", ArgFault::kParamSyntax},
      {"<a@b.example> RET=ALL", ArgFault::kParamSyntax},
      {"<a@b.example> ENVID=a+2", ArgFault::kParamSyntax},
      {"<a@b.example> ENVID=a+0A", ArgFault::kParamSyntax},  // not printable
      {"<a@b.example> AUTH=<>", ArgFault::kParamUnknown},  // AUTH not offered
      {"<a@b.example> NOTIFY=NEVER", ArgFault::kParamUnknown},  // RCPT only
      {"<a@b.example> FOO=bar", ArgFault::kParamUnknown},
      {"<a@b.example> X-FOO", ArgFault::kParamUnknown},
      {"<a@b.example> -FOO", ArgFault::kParamSyntax},
      {"<a@b.example> F_O=1", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=1=2", ArgFault::kParamSyntax},
      {"<a@b.example> SIZE=1\t", ArgFault::kParamSyntax},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    ArgFault why = ArgFault::kNone;
    auto m = parse_mail_args(c.in, o, &why);
    REQUIRE_FALSE(m.ok());
    CHECK(why == c.fault);
  }
  const std::string envid_100 = std::string(100, 'e');
  CHECK(parse_mail_args("<a@b.example> ENVID=" + envid_100, o).ok());
  ArgFault why = ArgFault::kNone;
  CHECK_FALSE(parse_mail_args("<a@b.example> ENVID=" + envid_100 + "e", o, &why).ok());
  CHECK(why == ArgFault::kParamSyntax);

  // Extensions not offered make their parameters unknown.
  ArgOptions bare;
  bare.offered = Offered{false, false, false, false, false, false};
  for (const char* p : {"SIZE=1", "BODY=8BITMIME", "SMTPUTF8", "RET=FULL", "ENVID=x"}) {
    CAPTURE(p);
    CHECK_FALSE(parse_mail_args(std::string("<a@b.example> ") + p, bare, &why).ok());
    CHECK(why == ArgFault::kParamUnknown);
  }
}

TEST_CASE("smtp_path: RCPT TO arguments with NOTIFY and ORCPT", "[mail]") {
  ArgOptions o;
  ArgFault why = ArgFault::kNone;
  auto r = parse_rcpt_args("<x@y.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;x+2By@y.example", o, false, &why);
  REQUIRE(r.ok());
  CHECK(r->recipient.str() == "x@y.example");
  CHECK(r->params.notify == (kNotifySuccess | kNotifyDelay));
  CHECK(format_notify(r->params.notify) == "SUCCESS,DELAY");
  REQUIRE(r->params.orcpt);
  CHECK(r->params.orcpt->addr_type == "rfc822");
  CHECK(r->params.orcpt->address == "x+y@y.example");
  CHECK(r->params.orcpt->format() == "rfc822;x+2By@y.example");

  auto never = parse_rcpt_args("<x@y.example> notify=never", o, false);
  REQUIRE(never.ok());
  CHECK(never->params.notify == kNotifyNever);
  CHECK(format_notify(kNotifyNever) == "NEVER");
  CHECK(format_notify(0).empty());
  CHECK(format_notify(kNotifySuccess | kNotifyFailure | kNotifyDelay) == "SUCCESS,FAILURE,DELAY");

  auto pm = parse_rcpt_args("<Postmaster>", o, false);
  REQUIRE(pm.ok());
  CHECK(pm->recipient.is_postmaster);

  auto utf8 = parse_rcpt_args("<j\xc3\xb6rg@example.com>", o, true);
  REQUIRE(utf8.ok());

  struct Case {
    const char* in;
    ArgFault fault;
  };
  const Case cases[] = {
      {"<>", ArgFault::kPathSyntax},
      {"x@y.example", ArgFault::kPathSyntax},
      {"<j\xc3\xb6rg@example.com>", ArgFault::kNonAscii},  // no SMTPUTF8 on MAIL
      {"<x@y.example> NOTIFY=NEVER,SUCCESS", ArgFault::kParamSyntax},
      {"<x@y.example> NOTIFY=SOMETIMES", ArgFault::kParamSyntax},
      {"<x@y.example> NOTIFY=SUCCESS,", ArgFault::kParamSyntax},
      {"<x@y.example> NOTIFY", ArgFault::kParamSyntax},
      {"<x@y.example> NOTIFY=DELAY NOTIFY=DELAY", ArgFault::kParamSyntax},
      {"<x@y.example> ORCPT=x@y.example", ArgFault::kParamSyntax},
      {"<x@y.example> ORCPT=;x@y.example", ArgFault::kParamSyntax},
      {"<x@y.example> ORCPT=rfc822;", ArgFault::kParamSyntax},
      {"<x@y.example> ORCPT=rfc(822;x@y", ArgFault::kParamSyntax},
      {"<x@y.example> ORCPT=rfc822;x+0D@y", ArgFault::kParamSyntax},
      {"<x@y.example> SIZE=1", ArgFault::kParamUnknown},  // MAIL only
      {"<x@y.example> FOO", ArgFault::kParamUnknown},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto rr = parse_rcpt_args(c.in, o, false, &why);
    REQUIRE_FALSE(rr.ok());
    CHECK(why == c.fault);
  }
  const std::string orcpt_500 = "rfc822;" + std::string(493, 'o');
  CHECK(parse_rcpt_args("<x@y.example> ORCPT=" + orcpt_500, o, false).ok());
  CHECK_FALSE(parse_rcpt_args("<x@y.example> ORCPT=" + orcpt_500 + "o", o, false).ok());
}

TEST_CASE("smtp_path: parse_mailbox reads a bare address, str() and key() are canonical", "[mail]") {
  auto a = parse_mailbox("\"us er\"@Example.COM", PathLimits{}, false);
  REQUIRE(a.ok());
  CHECK(a->str() == "\"us er\"@Example.COM");
  CHECK(a->key() == "\"us er\"@example.com");
  CHECK(a->local_was_quoted);
  CHECK_FALSE(parse_mailbox("<a@b>", PathLimits{}, false).ok());
  CHECK_FALSE(parse_mailbox("a@b c", PathLimits{}, false).ok());
  auto q = parse_mailbox("\"abc\"@b.example", PathLimits{}, false);
  REQUIRE(q.ok());
  CHECK(q->str() == "abc@b.example");
}
