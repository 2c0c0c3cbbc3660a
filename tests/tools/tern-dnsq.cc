// tern-dnsq: common/dns from the command line, built only for tests
// (tests/integration/test_dns.py runs it against tests/tools/dns_server.py).
//
//   tern-dnsq [-s SERVERS] [-t SECONDS] QUERY...
//
// SERVERS as dns_servers (comma separated); QUERY is TYPE:NAME with TYPE one
// of a, aaaa, mx, ptr (NAME an address), client (the forward-confirmed name
// of an address, common/dns/client_name.h). Every query starts at once, on
// one loop; when all are answered, one line per query, in argument order:
//
//   QUERY OUTCOME [RECORD...] ms=ELAPSED
//
// OUTCOME: ok, nxdomain, nodata, temporary, timeout; MX records print as
// PREFERENCE:EXCHANGE (EXCHANGE "." for a null MX); client prints
// "ok NAME" or "unknown [temporary]" and a "warning: ..." line per warning.
// Exit 0, or 2 on a usage error.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/dns/client_name.h"
#include "common/dns/resolver.h"
#include "common/event/loop.h"

#include <ares.h>

namespace {

using namespace tern;

const char* outcome_word(dns::Outcome o) {
  switch (o) {
    case dns::Outcome::kOk: return "ok";
    case dns::Outcome::kNoSuchName: return "nxdomain";
    case dns::Outcome::kNoData: return "nodata";
    case dns::Outcome::kTemporary: return "temporary";
    case dns::Outcome::kTimeout: return "timeout";
  }
  return "?";
}

int usage() {
  std::fprintf(stderr, "usage: tern-dnsq [-s SERVERS] [-t SECONDS] TYPE:NAME...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  log::init("tern-dnsq");
  std::string servers;
  long long seconds = 5;
  std::vector<std::string> queries;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-s" || a == "-t") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "-s") {
        servers = v;
      } else {
        auto n = parse_int(v);
        if (!n || *n < 1) return usage();
        seconds = *n;
      }
    } else if (a.find(':') != std::string::npos && a[0] != '-') {
      queries.push_back(a);
    } else {
      return usage();
    }
  }
  if (queries.empty()) return usage();
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) return 1;

  std::vector<std::string> items;
  for (auto s : split_any(servers, ", ")) items.emplace_back(s);
  auto parsed = dns::parse_servers(items);
  if (!parsed) {
    std::fprintf(stderr, "tern-dnsq: %s\n", parsed.error().text.c_str());
    return 2;
  }
  event::Loop loop;
  dns::ResolverOptions options;
  options.servers = *parsed;
  options.timeout = std::chrono::seconds(seconds);
  auto resolver = dns::Resolver::create(loop, options);
  if (!resolver) {
    std::fprintf(stderr, "tern-dnsq: %s\n", resolver.error().text.c_str());
    return 1;
  }
  dns::Resolver& r = **resolver;

  std::vector<std::string> lines(queries.size());
  size_t left = queries.size();
  std::vector<dns::Lookup> lookups;
  std::vector<std::unique_ptr<dns::ClientNameLookup>> clients;
  MonoTime start = loop.clock().now();
  auto elapsed = [&] {
    return strf(" ms=%lld", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       loop.clock().now() - start).count()));
  };
  auto done = [&](size_t i, std::string text, std::string after = "") {
    lines[i] = queries[i] + " " + text + elapsed() + after;
    if (--left == 0) loop.stop();
  };
  auto strings = [&](size_t i) {
    return [&, i](dns::Answer<std::string> a) {
      std::string text = outcome_word(a.outcome);
      for (auto& rec : a.records) text += " " + rec;
      done(i, text);
    };
  };
  for (size_t i = 0; i < queries.size(); ++i) {
    std::string type = queries[i].substr(0, queries[i].find(':'));
    std::string name = queries[i].substr(queries[i].find(':') + 1);
    if (type == "a") {
      lookups.push_back(r.addresses(name, dns::Family::kIpv4, strings(i)));
    } else if (type == "aaaa") {
      lookups.push_back(r.addresses(name, dns::Family::kIpv6, strings(i)));
    } else if (type == "ptr") {
      lookups.push_back(r.ptr(name, strings(i)));
    } else if (type == "mx") {
      lookups.push_back(r.mx(name, [&, i](dns::Answer<dns::MxRecord> a) {
        std::string text = outcome_word(a.outcome);
        for (auto& mx : a.records) text += strf(" %d:%s", mx.preference, mx.exchange.empty() ? "." : mx.exchange.c_str());
        done(i, text);
      }));
    } else if (type == "client") {
      clients.push_back(std::make_unique<dns::ClientNameLookup>(r, name, [&, i](dns::ClientName n) {
        std::string text = n.name == "unknown" ? "unknown" : "ok " + n.name;
        if (n.temporary) text += " temporary";
        std::string warnings;
        for (auto& w : n.warnings) warnings += "\nwarning: " + w;
        done(i, text, warnings);
      }));
    } else {
      return usage();
    }
  }
  // Every lookup ends within the timeout; the bound here only guards the test.
  if (!loop.run_for(std::chrono::seconds(seconds * 3 + 5))) {
    std::fprintf(stderr, "tern-dnsq: lookups still pending after %lld s\n", seconds * 3 + 5);
    return 1;
  }
  for (auto& l : lines) std::printf("%s\n", l.c_str());
  std::printf("pending=%zu\n", r.pending());
  return 0;
}
