// ternmap(1): build, query and list lookup tables (Postfix's postmap and
// postalias in one tool; newaliases runs "ternmap -a").
//
//   ternmap [-c dir] [-a] [type:]file ...      build file.lmdb from file (lmdb);
//                                              check the file (texthash, regexp)
//   ternmap [-c dir] [-a] -q key [type:]file ...   print the value of key
//   ternmap [-c dir] [-a] -q - [type:]file ...     "key value" for each key on stdin
//   ternmap [-c dir] [-a] -s [type:]file ...       list every entry
//
// A bare file means lmdb:file. -a reads the /etc/aliases format instead of
// "key value". -c is accepted as by every tern program and otherwise unused:
// tables are named on the command line, not in main.cf.
//
// Exit status: 0 success; 1 an error, or with -q the key was not found;
// 2 an error with -q (so scripts can tell "absent" from "broken").

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/table/table.h"

namespace {

using tern::table::Entry;

struct Options {
  bool aliases = false;
  bool list = false;
  std::optional<std::string> query;
  std::vector<std::string> tables;
};

int usage() {
  std::fprintf(stderr,
               "usage: ternmap [-c dir] [-a] [type:]file ...\n"
               "       ternmap [-c dir] [-a] -q key|- [type:]file ...\n"
               "       ternmap [-c dir] [-a] -s [type:]file ...\n");
  return 1;
}

int fail(const std::string& text, int status = 1) {
  std::fprintf(stderr, "ternmap: fatal: %s\n", text.c_str());
  return status;
}

void warn(const std::string& text) { std::fprintf(stderr, "ternmap: warning: %s\n", text.c_str()); }

// "path" alone means "lmdb:path", as "postmap path" means the default type.
std::string with_type(const std::string& arg) {
  size_t colon = arg.find(':');
  size_t slash = arg.find('/');
  if (colon == std::string::npos || (slash != std::string::npos && slash < colon)) return "lmdb:" + arg;
  return arg;
}

// Builds an lmdb table; texthash and regexp have no build step, so for them
// this parses the file and reports what a daemon would refuse.
int build(const std::string& spec, bool aliases) {
  std::vector<std::string> warnings;
  auto st = tern::table::build_from_source(spec, aliases, &warnings);
  for (const auto& w : warnings) warn(w);
  return st ? 0 : fail(st.error().text);
}

std::vector<std::unique_ptr<tern::table::Table>> open_all(const std::vector<std::string>& specs, int* status) {
  std::vector<std::unique_ptr<tern::table::Table>> out;
  for (const auto& spec : specs) {
    auto table = tern::table::open(spec);
    if (!table) {
      *status = fail(table.error().text, 2);
      return {};
    }
    out.push_back(std::move(*table));
  }
  return out;
}

// Looks key up in each table in turn; 0 found (value in *value), 1 absent, 2 error.
int lookup(const std::vector<std::unique_ptr<tern::table::Table>>& tables, std::string_view key, std::string* value) {
  for (const auto& t : tables) {
    auto r = t->lookup(key);
    if (r) {
      *value = std::move(*r);
      return 0;
    }
    if (r.error().code != tern::Errc::kNotFound) return fail(r.error().text, 2);
  }
  return 1;
}

int query(const std::vector<std::string>& specs, const std::string& key) {
  int status = 0;
  auto tables = open_all(specs, &status);
  if (status) return status;
  std::string value;
  if (key != "-") {
    status = lookup(tables, key, &value);
    if (status == 0) std::printf("%s\n", value.c_str());
    return status;
  }
  // As "postmap -q -": one key per line on stdin, "key value" for each found.
  bool found = false;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string_view k = tern::trim(line);
    if (k.empty()) continue;
    status = lookup(tables, k, &value);
    if (status == 2) return status;
    if (status == 0) {
      found = true;
      std::printf("%.*s\t%s\n", static_cast<int>(k.size()), k.data(), value.c_str());
    }
  }
  return found ? 0 : 1;
}

int list(const std::vector<std::string>& specs, bool aliases) {
  for (const auto& spec : specs) {
    auto table = tern::table::open(spec);
    if (!table) return fail(table.error().text);
    auto entries = (*table)->entries();
    if (!entries) return fail(entries.error().text);
    for (const Entry& e : *entries) std::printf(aliases ? "%s: %s\n" : "%s\t%s\n", e.key.c_str(), e.value.c_str());
  }
  return 0;
}

int run(const Options& opts) {
  if (opts.query) return query(opts.tables, *opts.query);
  if (opts.list) return list(opts.tables, opts.aliases);
  for (const auto& spec : opts.tables)
    if (int status = build(spec, opts.aliases)) return status;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  int c;
  while ((c = ::getopt(argc, argv, "ac:q:sv")) != -1) {
    switch (c) {
      case 'a': opts.aliases = true; break;
      case 'c': break;  // accepted for uniformity with the other tools
      case 'q': opts.query = optarg; break;
      case 's': opts.list = true; break;
      case 'v': break;  // nothing to say yet
      default: return usage();
    }
  }
  for (int i = optind; i < argc; ++i) opts.tables.push_back(with_type(argv[i]));
  if (opts.tables.empty() || (opts.query && opts.list)) {
    usage();
    return opts.query ? 2 : 1;
  }
  int status = run(opts);
  // Output cut short (a full disk, a closed pipe) must not look like success.
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return fail(std::string("write standard output: ") + std::strerror(errno), opts.query ? 2 : 1);
  return status;
}
