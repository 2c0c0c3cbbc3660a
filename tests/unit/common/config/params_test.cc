#include "common/config/params.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "common/config/main_cf.h"

using tern::config::find_param;
using tern::config::param_table;

TEST_CASE("params: the table is sorted, unique and documented", "[config]") {
  const auto& t = param_table();
  REQUIRE(t.size() >= 39);
  std::set<std::string_view> names;
  for (size_t i = 0; i < t.size(); ++i) {
    INFO(t[i].name);
    CHECK(tern::config::valid_param_name(t[i].name));
    CHECK(names.insert(t[i].name).second);
    if (i) CHECK(t[i - 1].name < t[i].name);
    CHECK(t[i].doc.size() > 10);
    CHECK(find_param(t[i].name) == &t[i]);
  }
  CHECK(find_param("no_such_parameter") == nullptr);
  CHECK(find_param("") == nullptr);
}

TEST_CASE("params: every default is valid for its type", "[config]") {
  tern::config::MainCf cf;
  for (const auto& d : param_table()) {
    INFO(d.name);
    CHECK(cf.validate(d.name).ok());
  }
  CHECK(cf.validate().ok());
}

TEST_CASE("params: defaults match what administrators expect", "[config]") {
  struct Case {
    const char* name;
    const char* value;
    tern::config::ParamType type;
  };
  using T = tern::config::ParamType;
  const Case cases[] = {
      {"queue_directory", "/var/spool/tern", T::kString},
      {"mydestination", "$myhostname, localhost.$mydomain, localhost", T::kList},
      {"mynetworks", "127.0.0.0/8 [::1]/128", T::kList},
      {"alias_maps", "lmdb:$config_directory/aliases", T::kList},
      {"default_process_limit", "100", T::kInt},
      {"graceful_stop_time", "30s", T::kTime},
      {"smtpd_peername_lookup", "yes", T::kBool},
      {"myhostname", "<computed>", T::kString},
      {"mydomain", "<computed>", T::kString},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto* d = find_param(c.name);
    REQUIRE(d);
    CHECK(d->default_value == c.value);
    CHECK(d->type == c.type);
  }
}

TEST_CASE("params: man/tern.cf.5 documents every parameter of the table", "[config]") {
  std::ifstream in(TERN_SOURCE_DIR "/man/tern.cf.5");
  REQUIRE(in.good());
  std::set<std::string> documented;
  std::string line;
  bool after_tp = false;
  while (std::getline(in, line)) {
    // Each parameter is a ".TP" paragraph whose tag line is ".B name".
    if (after_tp && line.rfind(".B ", 0) == 0) documented.insert(line.substr(3));
    after_tp = line == ".TP";
  }
  for (const auto& d : param_table()) {
    INFO("man/tern.cf.5 does not document " << d.name);
    CHECK(documented.count(std::string(d.name)) == 1);
  }
}
