#pragma once
// main.cf: "name = value" lines; a line starting with white space continues
// the previous one; "#" starts a comment line; "$name" and "${name}" expand
// recursively (a loop is an error naming the chain), as do Postfix's
// "${name?value}" (value when name is non-empty) and "${name:value}" (value
// when name is empty). Every known parameter has a default from the table
// (params.h); myhostname, mydomain, myorigin and mydestination default as in
// Postfix (myhostname from the host's FQDN; mydomain its parent domain).
//
// Details an administrator may rely on (they follow Postfix):
//   - "$$" is a literal "$"; a "$" not followed by a name, "{" or "(" is
//     literal too; "$(name)" works like "${name}"; an unknown name expands
//     to "".
//   - A later setting of the same name wins, with a warning
//     ("overriding earlier entry").
//   - Names are letters, digits, "_", "-" and "."; a bare "$name" ends at the
//     first character that is not a letter, digit or "_".

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/config/params.h"

namespace tern::config {

class MainCf {
 public:
  // Parses text as if read from `filename` (used in "file:line: reason").
  // Unknown parameter names go into warnings as "file:line: unknown parameter X".
  static Result<MainCf> parse(std::string_view text, const std::string& filename,
                              std::vector<std::string>* warnings = nullptr);
  // Reads <config_dir>/main.cf and sets config_directory to config_dir.
  static Result<MainCf> load(const std::string& config_dir, std::vector<std::string>* warnings = nullptr);
  // An empty configuration: every parameter at its default.
  MainCf() = default;

  // Command-line "-o name=value": overrides the file.
  void set(std::string_view name, std::string_view value);
  // Registers a parameter a program reads beyond the table (e.g. a test
  // service's own knobs), so it is neither unknown nor without a default.
  // For a table name, it replaces the table's default for this program.
  void define(std::string_view name, std::string_view default_value);
  // "file:line: unknown parameter X" for every explicit setting that is
  // neither in the table nor define()d. A program that defines its own
  // parameters loads with warnings == nullptr, defines, then logs these.
  std::vector<std::string> unknown_warnings() const;

  // Expanded value: explicit setting, else default, else "" for unknown names.
  std::string str(std::string_view name) const;
  // Typed getters; the value was validated by validate(), so a bad value
  // here is a program error (an unknown name or wrong type panics).
  long long integer(std::string_view name) const;
  bool boolean(std::string_view name) const;
  std::chrono::seconds seconds(std::string_view name) const;
  std::vector<std::string> list(std::string_view name) const;

  // Expands $name references in an arbitrary string against this config.
  Result<std::string> expand(std::string_view value) const;
  // Checks that every set and default value expands (no loop) and has the
  // right type: "file:line: bad value for X: reason".
  Status validate() const;
  // The same check for one parameter.
  Status validate(std::string_view name) const;

  bool is_set(std::string_view name) const;       // explicitly set (file or -o)
  std::optional<std::string> raw(std::string_view name) const;  // unexpanded explicit value
  std::vector<std::string> set_names() const;     // explicit names, sorted
  const std::string& filename() const { return filename_; }
  // In the table or define()d.
  bool known(std::string_view name) const;
  // Every known name, sorted (what "ternconf" prints).
  std::vector<std::string> known_names() const;
  // The unexpanded default of a known name (define() first, then the table;
  // computed ones resolved against this configuration), nullopt otherwise.
  std::optional<std::string> default_raw(std::string_view name) const;
  // Line of the explicit setting in filename() (0: set by -o, or not set).
  int line_of(std::string_view name) const;

 private:
  struct Setting {
    std::string value;
    int line = 0;  // 0 for -o and define()
  };
  // One top-level expansion: the names being expanded (loop detection) and
  // those already expanded (so "$a $a $a" chains cost linear, not
  // exponential, time: a name's value does not depend on who asks).
  struct ExpandState {
    std::vector<std::string> chain;
    std::map<std::string, std::string, std::less<>> done;
  };
  Result<std::string> expand_depth(std::string_view value, ExpandState& st) const;
  Result<std::string> lookup(std::string_view name, ExpandState& st) const;
  Result<std::string> expanded(std::string_view name) const;
  std::string where(std::string_view name) const;

  std::string filename_ = "main.cf";
  std::map<std::string, Setting, std::less<>> settings_;
  std::map<std::string, std::string, std::less<>> extra_defaults_;
};

// In-place edit for "ternconf name=value": replaces the (first) setting of
// name, keeping comments and the other lines; appends when absent.
// The replaced setting's continuation lines and any later settings of the
// same name (with theirs) are removed; comment lines between them stay.
std::string edit_main_cf(std::string_view text, std::string_view name, std::string_view value);

// The host's fully-qualified name: gethostname(), and when that has no dot,
// the canonical name getaddrinfo(AI_CANONNAME) gives it; failing that,
// hostname + ".localdomain". Computed once per process (it may query DNS).
const std::string& system_hostname();

}  // namespace tern::config
