#include "common/config/main_cf.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>

using tern::config::edit_main_cf;
using tern::config::MainCf;

namespace {

MainCf parse_ok(const std::string& text, std::vector<std::string>* warnings = nullptr) {
  auto cf = MainCf::parse(text, "main.cf", warnings);
  INFO(text);
  REQUIRE(cf.ok());
  return std::move(cf).value();
}

std::string parse_error(const std::string& text) {
  auto cf = MainCf::parse(text, "main.cf");
  INFO(text);
  REQUIRE_FALSE(cf.ok());
  return cf.error().text;
}

}  // namespace

TEST_CASE("main_cf: reports each malformed line as file:line: reason", "[config]") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"myhostname\n", "main.cf:1: missing '=' after parameter name: \"myhostname\""},
      {"# ok\n\nmyhostname mail.example.org\n", "main.cf:3: missing '=' after parameter name: \"myhostname mail.example.org\""},
      {"= value\n", "main.cf:1: missing parameter name before '='"},
      {"  = value\n", "main.cf:1: continuation line before any setting: \"= value\""},
      {"\n  mydomain = x\n", "main.cf:2: continuation line before any setting: \"mydomain = x\""},
      {"my host = x\n", "main.cf:1: invalid parameter name \"my host\" (letters, digits, '_', '-' and '.' only)"},
      {"a = 1\nb$c = 2\n", "main.cf:2: invalid parameter name \"b$c\" (letters, digits, '_', '-' and '.' only)"},
  };
  for (const auto& c : cases) CHECK(parse_error(c.text) == c.error);
}

TEST_CASE("main_cf: joins continuation lines with one space and skips comments and blank lines", "[config]") {
  MainCf cf = parse_ok(
      "# leading comment\n"
      "mydestination = a,\n"
      "\tb,\n"
      "  # a comment inside does not end the setting\n"
      "\n"
      "    c   \n"
      "myorigin = example.org # not a comment\n"
      "   # indented comment\n"
      "mynetworks=10.0.0.0/8\r\n");
  CHECK(cf.raw("mydestination") == "a, b, c");
  CHECK(cf.list("mydestination") == std::vector<std::string>{"a", "b", "c"});
  // Postfix: "#" is a comment only at the start of a line.
  CHECK(cf.raw("myorigin") == "example.org # not a comment");
  CHECK(cf.raw("mynetworks") == "10.0.0.0/8");
  CHECK(cf.line_of("mydestination") == 2);
  CHECK(cf.line_of("myorigin") == 7);
}

TEST_CASE("main_cf: expands $name, ${name}, $(name), ${name?value} and ${name:value}", "[config]") {
  MainCf cf = parse_ok(
      "a = alpha\n"
      "b = $a-beta\n"
      "empty =\n"
      "c = ${b}/${empty}\n");
  cf.define("empty", "");
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"$a", "alpha"},
      {"${a}", "alpha"},
      {"$(a)", "alpha"},
      {"$a.b", "alpha.b"},  // a bare name ends before '.'
      {"x$b", "xalpha-beta"},
      {"$c", "alpha-beta/"},
      {"${a?set}", "set"},
      {"${empty?set}", ""},
      {"${a:unset}", ""},
      {"${empty:unset}", "unset"},
      {"${nosuch:fallback $a}", "fallback alpha"},
      {"${a?${b}/${c}}", "alpha-beta/alpha-beta/"},
      {"$nosuch", ""},
      {"$$a", "$a"},
      {"cost: 5$", "cost: 5$"},
      {"$ a", "$ a"},
      {"$$$a", "$alpha"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto v = cf.expand(c.in);
    REQUIRE(v.ok());
    CHECK(*v == c.out);
  }
}

TEST_CASE("main_cf: reports an expansion loop with its chain", "[config]") {
  MainCf cf = parse_ok("a = $b\nb = ${c}\nc = x$a\nself = $self\nok = 1\n");
  auto v = cf.expand("$a");
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().text == "main.cf: parameter expansion loop: a -> b -> c -> a");
  CHECK(cf.expand("$self").error().text == "main.cf: parameter expansion loop: self -> self");
  CHECK(cf.expand("${ok?$b}").error().text == "main.cf: parameter expansion loop: b -> c -> a -> b");
  CHECK_FALSE(cf.validate().ok());
}

TEST_CASE("main_cf: rejects unbalanced braces and runaway expansions", "[config]") {
  MainCf cf = parse_ok("a = ${b\nx = $y$y$y$y$y$y$y$y$y$y$y$y$y$y$y$y\ny = $z$z$z$z$z$z$z$z$z$z$z$z$z$z$z$z\n"
                       "z = $w$w$w$w$w$w$w$w$w$w$w$w$w$w$w$w\nw = $v$v$v$v$v$v$v$v$v$v$v$v$v$v$v$v\n"
                       "v = 0123456789abcdef0123456789abcdef\n");
  CHECK(cf.expand("$a").error().text == "main.cf: unbalanced or too deeply nested '{' in \"${b\"");
  auto big = cf.expand("$x");
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == tern::Errc::kLimit);
  CHECK(cf.expand("${bad name}").error().text == "main.cf: invalid parameter name in \"${bad name}\"");
}

TEST_CASE("main_cf: warns about unknown parameters and overridden entries", "[config]") {
  std::vector<std::string> warnings;
  MainCf cf = parse_ok("myhostname = a.example\nfrobnicate = yes\nmyhostname = b.example\n", &warnings);
  CHECK(warnings == std::vector<std::string>{"main.cf:2: unknown parameter frobnicate",
                                             "main.cf:3: overriding earlier entry: myhostname (line 1)"});
  CHECK(cf.str("myhostname") == "b.example");
  CHECK(cf.str("frobnicate") == "yes");
  CHECK(cf.unknown_warnings() == std::vector<std::string>{"main.cf:2: unknown parameter frobnicate"});
  cf.define("frobnicate", "no");
  CHECK(cf.unknown_warnings().empty());
  cf.set("gadget", "1");
  CHECK(cf.unknown_warnings() == std::vector<std::string>{"-o: unknown parameter gadget"});
  CHECK(cf.known("frobnicate"));
}

TEST_CASE("main_cf: typed getters read defaults and settings", "[config]") {
  MainCf cf = parse_ok("client_limit = 50\nmax_idle = 5m\nsmtpd_peername_lookup = no\n"
                       "mynetworks = 10.0.0.0/8, 192.168.0.0/16\t[fe80::]/10\n");
  CHECK(cf.integer("client_limit") == 50);
  CHECK(cf.integer("default_process_limit") == 100);
  CHECK(cf.seconds("max_idle") == std::chrono::seconds(300));
  CHECK(cf.seconds("graceful_stop_time") == std::chrono::seconds(30));
  CHECK_FALSE(cf.boolean("smtpd_peername_lookup"));
  CHECK(cf.list("mynetworks") == std::vector<std::string>{"10.0.0.0/8", "192.168.0.0/16", "[fe80::]/10"});
  CHECK(cf.list("virtual_mailbox_domains").empty());
  CHECK(cf.list("import_environment") == std::vector<std::string>{"TZ", "LANG"});
  CHECK(cf.str("alias_database") == std::string("lmdb:") + cf.str("config_directory") + "/aliases");
  CHECK(cf.validate().ok());
}

TEST_CASE("main_cf: validate names the setting and why its value is bad", "[config]") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"client_limit = lots\n", "main.cf:1: bad value for client_limit: \"lots\" is not a non-negative integer"},
      {"x = -5\nmax_use = $x\n", "main.cf:2: bad value for max_use: \"-5\" is not a non-negative integer"},
      {"smtpd_peername_lookup = maybe\n", "main.cf:1: bad value for smtpd_peername_lookup: \"maybe\" is not yes or no"},
      {"max_idle = 5 minutes\n",
       "main.cf:1: bad value for max_idle: \"5 minutes\" is not a time (e.g. 30s, 5m, 2h, 1d, 1w)"},
      {"max_idle = 5y\n", "main.cf:1: bad value for max_idle: \"5y\" is not a time (e.g. 30s, 5m, 2h, 1d, 1w)"},
      {"inet_protocols = ipv4, ipx\n",
       "main.cf:1: bad value for inet_protocols: \"ipx\" is not one of: all ipv4 ipv6"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    MainCf cf = parse_ok(c.text);
    auto st = cf.validate();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().text == c.error);
  }
  MainCf cf;
  cf.set("worker_threads", "many");
  CHECK(cf.validate().error().text == "-o worker_threads: bad value for worker_threads: \"many\" is not a non-negative integer");
  CHECK(parse_ok("inet_protocols = ipv4 ipv6\nmax_idle = 1h\n").validate().ok());
}

TEST_CASE("main_cf: set overrides the file and define adds program parameters", "[config]") {
  MainCf cf = parse_ok("max_use = 10\n");
  cf.set("max_use", "20");
  CHECK(cf.integer("max_use") == 20);
  CHECK(cf.is_set("max_use"));
  CHECK(cf.raw("max_use") == "20");
  CHECK_FALSE(cf.is_set("max_idle"));
  CHECK_FALSE(cf.raw("max_idle").has_value());
  cf.define("test_knob", "$max_use items");
  CHECK(cf.str("test_knob") == "20 items");
  CHECK(cf.default_raw("test_knob") == "$max_use items");
  CHECK_FALSE(cf.default_raw("nosuch").has_value());
  CHECK(cf.str("nosuch").empty());
  auto names = cf.known_names();
  CHECK(std::find(names.begin(), names.end(), "test_knob") != names.end());
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(cf.set_names() == std::vector<std::string>{"max_use"});
}

TEST_CASE("main_cf: computes myhostname and mydomain as Postfix does", "[config]") {
  MainCf host_default;
  std::string host = host_default.str("myhostname");
  CHECK(host.find('.') != std::string::npos);
  CHECK(host == tern::config::system_hostname());
  CHECK(host_default.str("myorigin") == host);

  struct Case {
    const char* myhostname;
    const char* mydomain;
  };
  const Case cases[] = {{"mail.example.org", "example.org"}, {"a.b.c.example", "b.c.example"}, {"single", "localdomain"},
                        {"trailing.", "localdomain"}};
  for (const auto& c : cases) {
    INFO(c.myhostname);
    MainCf cf = parse_ok(std::string("myhostname = ") + c.myhostname + "\n");
    CHECK(cf.str("mydomain") == c.mydomain);
    CHECK(cf.default_raw("mydomain") == c.mydomain);
  }
  MainCf cf = parse_ok("myhostname = mx.example.net\n");
  CHECK(cf.list("mydestination") ==
        std::vector<std::string>{"mx.example.net", "localhost.example.net", "localhost"});
  MainCf loop = parse_ok("myhostname = $mydomain\n");
  CHECK(loop.expand("$mydomain").error().text == "main.cf: parameter expansion loop: mydomain -> myhostname -> mydomain");
}

TEST_CASE("main_cf: load reads DIR/main.cf and makes DIR the config_directory", "[config]") {
  char tmpl[] = "/tmp/tern-main-cf-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl;
  auto missing = MainCf::load(dir);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().err == ENOENT);
  std::ofstream(dir + "/main.cf") << "queue_directory = $config_directory/q\nunknown_thing = 1\n";
  std::vector<std::string> warnings;
  auto cf = MainCf::load(dir, &warnings);
  REQUIRE(cf.ok());
  CHECK(cf->str("queue_directory") == dir + "/q");
  CHECK(cf->str("passwd_file") == dir + "/users");
  CHECK_FALSE(cf->is_set("config_directory"));
  CHECK(warnings == std::vector<std::string>{dir + "/main.cf:2: unknown parameter unknown_thing"});
  std::remove((dir + "/main.cf").c_str());
  rmdir(dir.c_str());
}

TEST_CASE("main_cf: edit_main_cf replaces in place and keeps comments", "[config]") {
  struct Case {
    const char* what;
    const char* before;
    const char* name;
    const char* value;
    const char* after;
  };
  const Case cases[] = {
      {"replaces the setting on its own line", "# top\nmyhostname = old\nmydomain = d\n", "myhostname", "new",
       "# top\nmyhostname = new\nmydomain = d\n"},
      {"drops the continuation lines of the replaced setting",
       "mydestination = a,\n  b,\n  c\n# after\nmyorigin = o\n", "mydestination", "x",
       "mydestination = x\n# after\nmyorigin = o\n"},
      {"keeps comments between continuation lines", "mynetworks = a\n# keep me\n  b\nx = 1\n", "mynetworks", "c",
       "mynetworks = c\n# keep me\nx = 1\n"},
      {"removes later duplicates", "max_use = 1\nmax_idle = 2\nmax_use = 3\n  4\n", "max_use", "9",
       "max_use = 9\nmax_idle = 2\n"},
      {"appends when absent", "# only a comment\n", "max_use", "7", "# only a comment\nmax_use = 7\n"},
      {"appends a newline the file lacked", "max_idle = 5", "max_use", "7", "max_idle = 5\nmax_use = 7\n"},
      {"writes an empty value as name =", "max_use = 1\n", "max_use", "", "max_use =\n"},
      {"does not touch a commented-out setting", "#max_use = 1\n", "max_use", "2", "#max_use = 1\nmax_use = 2\n"},
      {"does not match a longer name", "max_use_x = 1\n", "max_use", "2", "max_use_x = 1\nmax_use = 2\n"},
      {"matches names written without spaces", "max_use=1\n", "max_use", "2", "max_use = 2\n"},
      {"keeps CRLF lines it does not change", "a = 1\r\nmax_use = 1\r\n", "max_use", "2", "a = 1\r\nmax_use = 2\n"},
      {"creates a file from nothing", "", "max_use", "3", "max_use = 3\n"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(edit_main_cf(c.before, c.name, c.value) == c.after);
  }
}

TEST_CASE("main_cf: an edited file parses to the new value", "[config]") {
  std::string text = "# mail name\nmyhostname = a.example\n  # trailing\nmax_use = 5\n";
  text = edit_main_cf(text, "myhostname", "mx.example.com");
  text = edit_main_cf(text, "max_idle", "1h");
  MainCf cf = parse_ok(text);
  CHECK(cf.str("myhostname") == "mx.example.com");
  CHECK(cf.seconds("max_idle") == std::chrono::hours(1));
  CHECK(cf.integer("max_use") == 5);
}

TEST_CASE("main_cf: a chain of repeated references expands in linear time (found by fuzzing)", "[config]") {
  // p0 = $p1 $p1 ... (ten times), p1 = $p2 ..., p11 empty: 10^11 lookups
  // without memoisation.
  std::string text;
  for (int i = 0; i < 11; ++i) {
    text += "p" + std::to_string(i) + " =";
    for (int j = 0; j < 10; ++j) text += " $p" + std::to_string(i + 1);
    text += "\n";
  }
  text += "p11 = x\n";
  auto cf = tern::config::MainCf::parse(text, "main.cf");
  REQUIRE(cf.ok());
  auto start = std::chrono::steady_clock::now();
  auto v = cf->expand("$p0");
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(2));
  // 10^11 copies of "x" would be far past the expansion limit.
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == tern::Errc::kLimit);
}
