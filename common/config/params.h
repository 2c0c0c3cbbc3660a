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

// The default_value of parameters whose default depends on the host
// (myhostname, mydomain): MainCf computes them (main_cf.h).
inline constexpr std::string_view kComputedDefault = "<computed>";

struct ParamDef {
  std::string_view name;
  std::string_view default_value;  // "" for empty; kComputedDefault values are filled by MainCf
  ParamType type;
  std::string_view doc;
  // For a kList or kString with a fixed vocabulary: the allowed words,
  // space separated ("all ipv4 ipv6"); empty = anything.
  std::string_view choices = {};
};

// Sorted by name.
const std::vector<ParamDef>& param_table();
const ParamDef* find_param(std::string_view name);
const char* param_type_name(ParamType type);  // "string", "integer", ...
// "<transport>_destination_concurrency_limit" and
// "<transport>_destination_recipient_limit": per-transport settings qmgr
// reads for any master.cf transport (Postfix's convention), so main.cf may
// set them for names the table cannot list; never reported as unknown.
bool is_per_transport_param(std::string_view name);
// A parameter name as main.cf and -o accept it: letters, digits, '_', '-', '.'.
bool valid_param_name(std::string_view name);

}  // namespace tern::config
