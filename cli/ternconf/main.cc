// ternconf(1): print and edit Tern's configuration, as Postfix's postconf.
//
//   ternconf [-c DIR] [-n | -d] [-x] [name...]   print "name = value"
//   ternconf [-c DIR] [-e] name=value...         edit DIR/main.cf in place
//   ternconf [-c DIR] -M [service[/type]...]     print master.cf, normalized
//
// Values print as written (unexpanded) unless -x, as postconf does. The
// configuration directory is -c DIR, else $MAIL_CONFIG, else the compiled
// default. Exit status: 0 done; 1 an error or an unknown parameter name;
// 2 bad usage.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "build_paths.h"
#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"
#include "common/config/master_cf.h"

namespace {

using tern::config::MainCf;
using tern::config::ServiceEntry;

struct Options {
  std::string config_dir;
  bool non_default = false;  // -n
  bool defaults = false;     // -d
  bool expand = false;       // -x
  bool edit = false;         // -e (implied by name=value operands)
  bool master = false;       // -M
  std::vector<std::string> operands;
};

void warn(const std::string& text) { std::fprintf(stderr, "ternconf: warning: %s\n", text.c_str()); }

[[noreturn]] void fatal(const std::string& text) {
  std::fprintf(stderr, "ternconf: fatal: %s\n", text.c_str());
  std::exit(1);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: ternconf [-c DIR] [-n | -d] [-x] [name...]\n"
               "       ternconf [-c DIR] [-e] name=value...\n"
               "       ternconf [-c DIR] -M [service[/type]...]\n");
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  int c;
  while ((c = getopt(argc, argv, "c:dehMnx")) != -1) {
    switch (c) {
      case 'c': o.config_dir = optarg; break;
      case 'd': o.defaults = true; break;
      case 'e': o.edit = true; break;
      case 'M': o.master = true; break;
      case 'n': o.non_default = true; break;
      case 'x': o.expand = true; break;
      default: usage();
    }
  }
  for (int i = optind; i < argc; ++i) o.operands.emplace_back(argv[i]);
  if (o.config_dir.empty()) {
    const char* env = std::getenv("MAIL_CONFIG");
    o.config_dir = env && *env ? env : tern::build::kConfigDir;
  }
  bool assignments = false;
  for (const auto& op : o.operands) assignments |= op.find('=') != std::string::npos;
  o.edit |= assignments;
  if (o.defaults && o.non_default) usage();
  if (o.edit && (o.defaults || o.non_default || o.master || o.expand || o.operands.empty())) usage();
  if (o.master && (o.defaults || o.non_default)) usage();
  return o;
}

void print_setting(const std::string& name, const std::string& value) {
  if (value.empty())
    std::printf("%s =\n", name.c_str());
  else
    std::printf("%s = %s\n", name.c_str(), value.c_str());
}

MainCf load_main(const Options& o) {
  std::vector<std::string> warnings;
  auto cf = MainCf::load(o.config_dir, &warnings);
  if (!cf) fatal(cf.error().text);
  for (const auto& w : warnings) warn(w);
  return std::move(cf).value();
}

// Prints parameters; returns the exit status.
int print_params(const Options& o) {
  // -d shows the compiled defaults, so it needs no main.cf.
  MainCf cf = o.defaults ? MainCf() : load_main(o);
  std::vector<std::string> names = o.operands;
  if (names.empty()) names = o.non_default ? cf.set_names() : cf.known_names();
  int status = 0;
  for (const auto& name : names) {
    if (!cf.known(name) && !cf.is_set(name)) {
      warn("unknown parameter: " + name);
      status = 1;
      continue;
    }
    if (o.non_default && !cf.is_set(name)) continue;
    std::string value = cf.raw(name).value_or(cf.default_raw(name).value_or(""));
    if (o.expand) {
      auto v = cf.expand(value);
      if (!v) {
        warn(v.error().text);
        status = 1;
        continue;
      }
      value = *v;
    }
    print_setting(name, value);
  }
  return status;
}

int edit_params(const Options& o) {
  std::string path = o.config_dir + "/main.cf";
  std::string text;
  int mode = 0644;
  if (auto r = tern::read_file(path)) {
    text = std::move(r).value();
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0) mode = static_cast<int>(st.st_mode & 07777);
  } else if (r.error().err != ENOENT) {
    fatal(r.error().text);
  }
  std::vector<std::string> edited;
  for (const auto& op : o.operands) {
    size_t eq = op.find('=');
    if (eq == std::string::npos) fatal("expected name=value, not \"" + op + "\"");
    std::string name(tern::trim(std::string_view(op).substr(0, eq)));
    std::string value(tern::trim(std::string_view(op).substr(eq + 1)));
    if (!tern::config::valid_param_name(name)) fatal("invalid parameter name \"" + name + "\"");
    if (value.find_first_of("\r\n") != std::string::npos) fatal(name + ": value contains a line break");
    if (!tern::config::find_param(name)) warn("unknown parameter: " + name);
    text = tern::config::edit_main_cf(text, name, value);
    edited.push_back(name);
  }
  // Refuse to write what the daemons would refuse to start with.
  auto cf = MainCf::parse(text, path);
  if (!cf) fatal(cf.error().text);
  cf->define("config_directory", o.config_dir);
  for (const auto& name : edited)
    if (auto st = cf->validate(name); !st) fatal(st.error().text + " (main.cf not changed)");
  tern::DurableOptions opts;
  opts.mode = mode;
  if (auto st = tern::write_file_atomic(path, text, opts); !st) fatal(st.error().text);
  return 0;
}

std::string yn(bool b) { return b ? "y" : "n"; }

// Column and argument text: braces around what holds white space (Postfix 3).
std::string quote_arg(const std::string& a) {
  return a.find_first_of(" \t") == std::string::npos && !a.empty() ? a : "{ " + a + " }";
}

std::string format_entry(const ServiceEntry& e, const MainCf& cf) {
  std::string out = tern::strf("%-10s %-5s %-7s %-7s %-7s %-7d %-7d %s", e.name.c_str(), e.type_name().c_str(),
                               yn(e.private_).c_str(), yn(e.unpriv).c_str(), yn(e.chroot).c_str(), e.wakeup,
                               e.maxproc, e.command.c_str());
  for (const auto& a : e.args) out += " " + quote_arg(a);
  // The reserved options master consumed, where they differ from the defaults.
  std::string default_user = e.unpriv ? cf.str("mail_owner") : "";
  auto add = [&](const char* k, const std::string& v) { out += std::string(" -o ") + k + "=" + v; };
  if (e.user != default_user) add("tern_user", e.user.empty() ? "root" : e.user);
  if (!e.listen_owner.empty()) add("tern_listen_owner", e.listen_owner);
  if (!e.listen_group.empty()) add("tern_listen_group", e.listen_group);
  if (e.listen_mode >= 0) add("tern_listen_mode", tern::strf("%04o", e.listen_mode));
  if (e.chroot && e.chroot_dir != cf.str("queue_directory")) add("tern_chroot_dir", e.chroot_dir);
  return out;
}

int print_master(const Options& o) {
  MainCf cf = load_main(o);
  if (auto st = cf.validate(); !st) fatal(st.error().text);
  std::vector<std::string> warnings;
  auto entries = tern::config::load_master_cf(o.config_dir, cf, &warnings);
  for (const auto& w : warnings) warn(w);
  if (!entries) fatal(entries.error().text);
  int status = 0;
  std::vector<bool> matched(o.operands.size(), false);
  for (const auto& e : *entries) {
    bool wanted = o.operands.empty();
    for (size_t i = 0; i < o.operands.size(); ++i) {
      if (o.operands[i] == e.name || o.operands[i] == e.name + "/" + e.type_name()) wanted = matched[i] = true;
    }
    if (wanted) std::printf("%s\n", format_entry(e, cf).c_str());
  }
  for (size_t i = 0; i < o.operands.size(); ++i) {
    if (!matched[i]) {
      warn("no master.cf entry: " + o.operands[i]);
      status = 1;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  if (o.edit) return edit_params(o);
  if (o.master) return print_master(o);
  return print_params(o);
}
