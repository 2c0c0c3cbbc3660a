// The installed etc/main.cf and etc/master.cf: they must load as shipped, and
// every commented-out example must still be valid once an administrator
// uncomments it.

#include <catch2/catch.hpp>
#include <functional>
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

// Removes the "#" of the lines `example` picks ("#name = ..." settings,
// "#service type ..." lines and their "#  -o" continuations), leaving
// commentary ("# ...") alone. (No std::regex: gcc 12's <regex> trips
// -Wmaybe-uninitialized in sanitizer builds.)
std::string uncomment(const std::string& text, const std::function<bool(const std::string&)>& example) {
  std::istringstream in(text);
  std::string out, line;
  while (std::getline(in, line)) out += (example(line) ? line.substr(1) : line) + "\n";
  return out;
}

bool is_setting_example(const std::string& line) {
  size_t name_end = line.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", 1);
  return line.size() > 1 && line[0] == '#' && name_end > 1 && name_end != std::string::npos &&
         line.compare(name_end, 2, " =") == 0;
}

bool is_service_example(const std::string& line) {
  if (line.rfind("#  -o ", 0) == 0) return true;
  return line.size() > 1 && line[0] == '#' && std::string(" #=-").find(line[1]) == std::string::npos;
}

}  // namespace

TEST_CASE("etc/main.cf: loads as shipped and every example setting is valid", "[config]") {
  std::string text = read_source("etc/main.cf");
  std::vector<std::string> warnings;
  auto shipped = MainCf::parse(text, "main.cf", &warnings);
  REQUIRE(shipped.ok());
  CHECK(warnings.empty());
  CHECK(shipped->set_names().empty());

  std::string all = uncomment(text, is_setting_example);
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

  std::string all = uncomment(text, is_service_example);
  auto r = tern::config::parse_master_cf(all, "master.cf", main, &warnings);
  if (!r) FAIL(r.error().text);
  std::vector<std::string> keys;
  for (const auto& e : *r) keys.push_back(e.name + "/" + e.type_name() + " " + e.user);
  CHECK(keys == std::vector<std::string>{
                    "smtp/inet tern", "submission/inet tern", "smtps/inet tern", "pickup/unix tern",
                    "qmgr/unix tern", "anvil/unix tern", "showq/unix tern", "smtp/unix tern", "lmtp/unix tern",
                    "deliver/unix vmail", "127.0.0.1:24/inet vmail", "imap/inet tern-login",
                    "imaps/inet tern-login", "login/imap/unix vmail", "auth/unix tern-auth",
                    "login/auth/unix tern-auth", "userdb/unix tern-auth"});
  // The -o names of daemons not written yet are unknown to the table: only
  // they may draw warnings.
  for (const auto& w : warnings) {
    INFO(w);
    bool future_daemon = w.find("unknown parameter smtpd_") != std::string::npos ||
                         w.find("unknown parameter imap_") != std::string::npos;
    CHECK(future_daemon);
    CHECK(w.substr(w.size() - 6) == " in -o");
  }
}
