#pragma once
// The parameter table: every main.cf parameter Tern knows, its default (in
// main.cf syntax, possibly with $name references) and a one-line doc.
// ternconf -d prints it; tests check that man/tern.cf.5 documents each name.

#include <string_view>
#include <vector>

namespace tern::config {

enum class ParamType {
  kString,
  kInt,       // decimal integer
  kBool,      // yes / no
  kTime,      // Postfix time: 300s, 5m, 2h, 1d, 1w (bare number: seconds)
  kSize,      // bytes
  kList,      // comma and/or white space separated
};

struct ParamDef {
  std::string_view name;
  std::string_view default_value;  // "" for empty; "<computed>" values are filled by MainCf
  ParamType type;
  std::string_view doc;
};

const std::vector<ParamDef>& param_table();
const ParamDef* find_param(std::string_view name);

}  // namespace tern::config
