// The installed etc/main.cf and etc/master.cf: they must load as shipped, and
// every commented-out example must still be valid once an administrator
// uncomments it.

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "common/base/fd.h"
#include "common/config/main_cf.h"
#include "common/config/master_cf.h"

using tern::config::MainCf;

namespace {

std::string read_source(const char* rel) {
  auto text = tern::read_file(std::string(TERN_SOURCE_DIR "/") + rel);
  if (!text) FAIL(text.error().text);
  return std::move(text).value();
}

// Removes the "#" of lines that match `re` ("#name = ..." settings,
// "#service type ..." lines and their "#  -o" continuations), leaving
// commentary ("# ...") alone.
std::string uncomment(const std::string& text, const std::regex& re) {
  std::istringstream in(text);
  std::string out, line;
  while (std::getline(in, line)) out += (std::regex_search(line, re) ? line.substr(1) : line) + "\n";
  return out;
}

}  // namespace

TEST_CASE("etc/main.cf: loads as shipped and every example setting is valid", "[config]") {
  std::string text = read_source("etc/main.cf");
  std::vector<std::string> warnings;
  auto shipped = MainCf::parse(text, "main.cf", &warnings);
  REQUIRE(shipped.ok());
  CHECK(warnings.empty());
  CHECK(shipped->set_names().empty());

  std::string all = uncomment(text, std::regex("^#[a-z_]+ ="));
  warnings.clear();
  auto cf = MainCf::parse(all, "main.cf", &warnings);
  REQUIRE(cf.ok());
  for (const auto& w : warnings) {
    INFO(w);
    CHECK(w.find("overriding earlier entry: myorigin") != std::string::npos);
  }
  CHECK(cf->set_names().size() >= 30);
  CHECK(cf->validate().ok());
}

TEST_CASE("etc/master.cf: loads as shipped and every example service is valid", "[config]") {
  std::string text = read_source("etc/master.cf");
  MainCf main;
  std::vector<std::string> warnings;
  auto shipped = tern::config::parse_master_cf(text, "master.cf", main, &warnings);
  REQUIRE(shipped.ok());
  CHECK(shipped->empty());
  CHECK(warnings.empty());

  std::string all = uncomment(text, std::regex("^#([^ #=-]|  -o )"));
  auto r = tern::config::parse_master_cf(all, "master.cf", main, &warnings);
  if (!r) FAIL(r.error().text);
  std::vector<std::string> keys;
  for (const auto& e : *r) keys.push_back(e.name + "/" + e.type_name() + " " + e.user);
  CHECK(keys == std::vector<std::string>{
                    "smtp/inet tern", "submission/inet tern", "smtps/inet tern", "pickup/unix tern",
                    "qmgr/unix tern", "showq/unix tern", "smtp/unix tern", "lmtp/unix tern",
                    "deliver/unix vmail", "127.0.0.1:24/inet vmail", "imap/inet tern-login",
                    "imaps/inet tern-login", "login/imap/unix vmail", "auth/unix tern-auth",
                    "login/auth/unix tern-auth", "userdb/unix tern-auth"});
  // The -o names of daemons not written yet are unknown to the table: only
  // they may draw warnings.
  for (const auto& w : warnings) {
    INFO(w);
    CHECK(std::regex_search(w, std::regex("unknown parameter (smtpd|imap)_[a-z_]+ in -o$")));
  }
}
