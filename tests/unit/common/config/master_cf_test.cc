#include "common/config/master_cf.h"

#include <catch2/catch.hpp>

using tern::config::MainCf;
using tern::config::parse_master_cf;
using tern::config::ServiceEntry;
using tern::config::ServiceType;

namespace {

MainCf test_main() {
  auto cf = MainCf::parse("queue_directory = /q\nmail_owner = tern\ndefault_process_limit = 50\nfoo = bar\n",
                          "main.cf");
  REQUIRE(cf.ok());
  return std::move(cf).value();
}

std::vector<ServiceEntry> parse_ok(const std::string& text, std::vector<std::string>* warnings = nullptr) {
  MainCf main = test_main();
  auto r = parse_master_cf(text, "master.cf", main, warnings);
  INFO(text);
  if (!r) FAIL(r.error().text);
  return std::move(r).value();
}

ServiceEntry one(const std::string& line, std::vector<std::string>* warnings = nullptr) {
  auto v = parse_ok(line, warnings);
  REQUIRE(v.size() == 1);
  return v[0];
}

}  // namespace

TEST_CASE("master_cf: reads the eight columns and their defaults", "[config]") {
  ServiceEntry e = one("qmgr unix n - n 300 1 qmgr\n");
  CHECK(e.name == "qmgr");
  CHECK(e.type == ServiceType::kUnix);
  CHECK_FALSE(e.private_);
  CHECK(e.unpriv);
  CHECK_FALSE(e.chroot);
  CHECK(e.wakeup == 300);
  CHECK(e.maxproc == 1);
  CHECK(e.command == "qmgr");
  CHECK(e.args.empty());
  CHECK(e.user == "tern");
  CHECK(e.socket_path == "public/qmgr");
  CHECK(e.listener_key() == "unix:public/qmgr");
  CHECK(e.chroot_dir.empty());
  CHECK(e.listen_mode == -1);
  CHECK(e.file == "master.cf");
  CHECK(e.line == 1);

  ServiceEntry d = one("auth unix - - - - - authd\n");
  CHECK(d.private_);
  CHECK(d.unpriv);
  CHECK_FALSE(d.chroot);
  CHECK(d.wakeup == 0);
  CHECK(d.maxproc == 50);  // default_process_limit
  CHECK(d.socket_path == "private/auth");
  CHECK(d.listener_key() == "unix:private/auth");
}

TEST_CASE("master_cf: resolves inet addresses, socket paths and listener keys", "[config]") {
  struct Case {
    const char* line;
    const char* host;
    const char* port;
    const char* socket_path;
    const char* key;
  };
  const Case cases[] = {
      {"25 inet n - y - - smtpd", "", "25", "", "inet:*:25"},
      {"smtp inet n - y - - smtpd", "", "smtp", "", "inet:*:smtp"},
      {"127.0.0.1:25 inet n - y - - smtpd", "127.0.0.1", "25", "", "inet:127.0.0.1:25"},
      {"[::1]:587 inet n - y - - smtpd", "::1", "587", "", "inet:[::1]:587"},
      {"mail.example.org:submission inet n - y - - smtpd", "mail.example.org", "submission", "",
       "inet:mail.example.org:submission"},
      {"auth unix - - - - - authd", "", "", "private/auth", "unix:private/auth"},
      {"showq unix n - y - - showq", "", "", "public/showq", "unix:public/showq"},
      {"login/imap unix - n n - - imapd", "", "", "login/imap", "unix:login/imap"},
      {"handoff pass - - - - - imapd", "", "", "private/handoff", "pass:private/handoff"},
  };
  for (const auto& c : cases) {
    ServiceEntry e = one(c.line);
    CHECK(e.host == c.host);
    CHECK(e.port == c.port);
    CHECK(e.socket_path == c.socket_path);
    CHECK(e.listener_key() == c.key);
  }
}

TEST_CASE("master_cf: unpriv, chroot and the reserved tern_* options decide who and where", "[config]") {
  struct Case {
    const char* line;
    const char* user;
    const char* chroot_dir;
    const char* owner;
    const char* group;
    int mode;
  };
  const Case cases[] = {
      {"smtp inet n - y - - smtpd", "tern", "/q", "", "", -1},
      {"x unix - n n - - x", "", "", "", "", -1},
      {"deliver unix - n n - - lmtp-deliver -o tern_user=vmail -o tern_listen_group=tern-priv", "vmail", "", "",
       "tern-priv", -1},
      {"auth unix - n n - - authd -o tern_user=tern-auth -o tern_listen_mode=0660 -o tern_listen_owner=tern-auth",
       "tern-auth", "", "tern-auth", "", 0660},
      {"imap inet n - y - - imap-login -o tern_user=tern-login -o tern_chroot_dir=login", "tern-login", "/q/login",
       "", "", -1},
      {"j unix - - y - - x -o tern_chroot_dir=/var/jail", "tern", "/var/jail", "", "", -1},
      {"j2 unix - - y - - x -otern_chroot_dir=$queue_directory/j2", "tern", "/q/j2", "", "", -1},
      {"m unix - - - - - x -o tern_listen_mode=600", "tern", "", "", "", 0600},
      {"m0 unix - - - - - x -o { tern_listen_mode = 0 }", "tern", "", "", "", 0},
  };
  for (const auto& c : cases) {
    ServiceEntry e = one(c.line);
    CHECK(e.user == c.user);
    CHECK(e.chroot_dir == c.chroot_dir);
    CHECK(e.listen_owner == c.owner);
    CHECK(e.listen_group == c.group);
    CHECK(e.listen_mode == c.mode);
    // master consumes the reserved options; the daemon never sees them.
    for (const auto& a : e.args) CHECK(a.find("tern_") == std::string::npos);
    CHECK(e.overrides.empty());
  }
}

TEST_CASE("master_cf: normalizes -o overrides and expands plain arguments", "[config]") {
  std::vector<std::string> warnings;
  ServiceEntry e = one(
      "submission inet n - y - - smtpd -v\n"
      "  -o max_use=$foo\n"
      "  -omax_idle=10s\n"
      "# a comment between continuation lines\n"
      "  -o { smtpd_tls_cert_file = /etc/ssl/a b.pem }\n"
      "  -o tern_user=$mail_owner\n"
      "  $foo ${queue_directory}/x { two words } -o my_knob=1\n",
      &warnings);
  CHECK(e.args == std::vector<std::string>{"-v", "-o", "max_use=$foo", "-o", "max_idle=10s", "-o",
                                           "smtpd_tls_cert_file=/etc/ssl/a b.pem", "bar", "/q/x", "two words", "-o",
                                           "my_knob=1"});
  CHECK(e.overrides == std::vector<std::pair<std::string, std::string>>{
                           {"max_use", "$foo"},
                           {"max_idle", "10s"},
                           {"smtpd_tls_cert_file", "/etc/ssl/a b.pem"},
                           {"my_knob", "1"}});
  CHECK(e.user == "tern");
  CHECK(warnings == std::vector<std::string>{"master.cf:1: unknown parameter my_knob in -o"});
}

TEST_CASE("master_cf: accepts wakeup with a trailing ? and maxproc 0", "[config]") {
  ServiceEntry e = one("pickup unix n - y 60? 1 pickup\n");
  CHECK(e.wakeup == 60);
  CHECK(e.maxproc == 1);
  CHECK(one("x unix - - - - 0 x\n").maxproc == 0);
}

TEST_CASE("master_cf: reports every bad line as file:line: reason", "[config]") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"smtp inet n - y - - \n",
       "master.cf:1: expected at least 8 columns (service type private unpriv chroot wakeup maxproc command), found 7"},
      {"# c\n\nsmtp tcp n - y - - smtpd\n", "master.cf:3: unknown service type \"tcp\" (expected inet, unix or pass)"},
      {"x unix-dgram n - y - - x\n", "master.cf:1: service type unix-dgram is not supported by Tern"},
      {"x fifo n - y - - x\n", "master.cf:1: service type fifo is not supported by Tern"},
      {"x unix yes - y - - x\n", "master.cf:1: bad private column \"yes\" (expected y, n or -)"},
      {"x unix - Y - - - x\n", "master.cf:1: bad unpriv column \"Y\" (expected y, n or -)"},
      {"x unix - - 1 - - x\n", "master.cf:1: bad chroot column \"1\" (expected y, n or -)"},
      {"x unix - - - 5m - x\n", "master.cf:1: bad wakeup column \"5m\""},
      {"x unix - - - - -3 x\n", "master.cf:1: bad maxproc \"-3\""},
      {"x unix - - - - - bin/x\n",
       "master.cf:1: command \"bin/x\" must be a name in daemon_directory or an absolute path"},
      {"../x unix - - - - - x\n", "master.cf:1: bad socket path \"../x\""},
      {"/tmp/x unix - - - - - x\n", "master.cf:1: socket path must be relative to queue_directory: \"/tmp/x\""},
      {"private/ unix - - - - - x\n", "master.cf:1: bad socket path \"private/\""},
      {"99999 inet n - - - - x\n", "master.cf:1: port out of range: 99999"},
      {"::1:25 inet n - - - - x\n", "master.cf:1: IPv6 address needs brackets: \"[::1]:25\""},
      {"[::1]25 inet n - - - - x\n", "master.cf:1: bad inet service \"[::1]25\" (expected [address]:port)"},
      {"a unix - - - - - x\nb unix - - - - - x\na unix - - - - - y\n",
       "master.cf:3: duplicate service a/unix (first at line 1)"},
      {"x unix - - - - - x -o\n", "master.cf:1: -o without name=value"},
      {"x unix - - - - - x -o max_use\n", "master.cf:1: -o max_use: expected name=value"},
      {"x unix - - - - - x -o tern_colour=red\n", "master.cf:1: unknown reserved option tern_colour"},
      {"x unix - - - - - x -o tern_user=a -o tern_user=b\n", "master.cf:1: tern_user given twice"},
      {"x unix - - - - - x -o tern_user=\n", "master.cf:1: bad tern_user \"\""},
      {"x unix - - - - - x -o tern_listen_group=-g\n", "master.cf:1: bad tern_listen_group \"-g\""},
      {"x unix - - - - - x -o tern_listen_mode=0668\n",
       "master.cf:1: bad tern_listen_mode \"0668\" (an octal mode from 0 to 0777)"},
      {"x unix - - - - - x -o tern_listen_mode=4755\n",
       "master.cf:1: bad tern_listen_mode \"4755\" (an octal mode from 0 to 0777)"},
      {"x unix - - n - - x -o tern_chroot_dir=/j\n", "master.cf:1: tern_chroot_dir needs y in the chroot column"},
      {"x unix - - y - - x -o tern_chroot_dir=../j\n", "master.cf:1: bad tern_chroot_dir \"../j\""},
      {"x unix - - - - - x -o { max_use = 1\n", "master.cf:1: missing '}' after '{'"},
      {"  x unix - - - - - x\n", "master.cf:1: continuation line before any setting: \"x unix - - - - - x\""},
      {"x unix - - - - - x $loop\n", "master.cf:1: main.cf: parameter expansion loop: loop -> loop"},
  };
  auto main = MainCf::parse("queue_directory = /q\nloop = $loop\n", "main.cf");
  REQUIRE(main.ok());
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse_master_cf(c.text, "master.cf", *main);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().text == c.error);
  }
}

TEST_CASE("master_cf: warns about settings that have no effect", "[config]") {
  std::vector<std::string> warnings;
  parse_ok("smtp inet y - - - - smtpd -o tern_listen_mode=0600\n", &warnings);
  CHECK(warnings == std::vector<std::string>{
                        "master.cf:1: private=y is ignored for inet service smtp",
                        "master.cf:1: tern_listen_owner, tern_listen_group and tern_listen_mode are ignored for inet"});
}

TEST_CASE("master_cf: keeps service name and type apart and counts lines across continuations", "[config]") {
  auto v = parse_ok(
      "# Tern master.cf\n"
      "smtp      inet  n - y - - smtpd\n"
      "smtp      unix  - - y - - smtp-client\n"
      "lmtp      unix  - - y - - smtp-client\n"
      "   -o max_use=10\n"
      "\n"
      "deliver   unix  - n n - - lmtp-deliver -o tern_user=vmail\n");
  REQUIRE(v.size() == 4);
  CHECK(v[0].listener_key() == "inet:*:smtp");
  CHECK(v[1].listener_key() == "unix:private/smtp");
  CHECK(v[2].line == 4);
  CHECK(v[2].args == std::vector<std::string>{"-o", "max_use=10"});
  CHECK(v[3].line == 7);
  CHECK(v[3].user == "vmail");
  CHECK(v[3].type_name() == "unix");
}
