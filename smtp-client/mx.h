#pragma once
// Where an SMTP next hop's mail goes: the list of (host, address) targets
// a Session tries in order, found through the DNS (c-ares, dns/resolver.h).
//
//   DOMAIN     MX lookup (RFC 5321 5.1): the exchanges by preference, in
//              random order among equal preferences, each host's addresses
//              (A and/or AAAA as inet_protocols allows) in answer order.
//              No MX (NODATA): the domain's own addresses, as an implicit
//              MX of preference 0. A null MX (RFC 7505: one record,
//              preference 0, exchange ".") bounces at once, 5.1.10.
//              A domain that does not exist (NXDOMAIN) bounces, 5.1.2; a
//              lookup that failed or timed out defers, 4.4.3; MX hosts of
//              which none has an address bounce, 5.4.4, unless one of them
//              failed temporarily (deferred, 4.4.3), as Postfix does with
//              smtp_defer_if_no_mx_address_found = no.
//   [HOST]     HOST's addresses only (no MX lookup); HOST not found: 5.4.4.
//
// CNAMEs: the recursive server follows the chain and c-ares reads the
// records at its end (resolver.h), for MX and for addresses alike.
//
// Mail loops (Postfix's "mail for X loops back to myself", 5.4.6): an MX
// whose exchange is myhostname means this host is an MX of the domain;
// mail may then only go to MX hosts of a better (lower) preference. When
// none is left, this host is the best MX and the mail would come back.
//
// Bounds: at most smtp_mx_address_limit addresses in all (0: no limit but
// kMaxHosts hosts); at most kMaxHosts MX hosts are looked up.

#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns/resolver.h"
#include "common/ipc/delivery_protocol.h"

namespace tern::smtp_client {

inline constexpr size_t kMaxHosts = 10;

struct Target {
  std::string host;     // the MX host (or the next hop's host)
  std::string address;  // IPv4 or IPv6, inet_ntop form
};

// A next hop's targets, or why there are none.
struct Destination {
  std::vector<Target> targets;
  ipc::DeliveryAction action = ipc::DeliveryAction::kDeferred;  // when targets is empty
  std::string dsn;
  std::string reason;
  bool ok() const { return !targets.empty(); }
};

struct MxOptions {
  bool ipv4 = true;
  bool ipv6 = true;
  size_t address_limit = 5;  // 0: no limit
  std::string myhostname;    // lower case
};

// MX records by preference, equal preferences shuffled (pure; rng given).
std::vector<dns::MxRecord> order_mx(std::vector<dns::MxRecord> records, std::mt19937& rng);

// RFC 7505: exactly one record, preference 0, exchange ".". (Several
// records of which one is "." are malformed; the "." one is then ignored.)
bool is_null_mx(const std::vector<dns::MxRecord>& records);

// The ordered records without those at or above myhostname's own
// preference; sets loops when myhostname is the best MX (nothing left).
std::vector<dns::MxRecord> drop_self(std::vector<dns::MxRecord> ordered, std::string_view myhostname, bool& loops);

// One resolution of a next hop at a time. Cancelled by destruction or by
// cancel(); the callback runs on the loop, never from inside start().
class MxResolver {
 public:
  using Done = std::function<void(Destination)>;
  MxResolver(dns::Resolver* resolver, MxOptions options) : resolver_(resolver), options_(std::move(options)) {}
  // use_mx: DOMAIN (MX lookup) rather than [HOST].
  void start(std::string name, bool use_mx, Done done);
  void cancel();

 private:
  struct HostSlot {
    std::string host;
    std::vector<std::string> v4, v6;
    dns::Outcome v4_outcome = dns::Outcome::kNoData, v6_outcome = dns::Outcome::kNoData;
    std::string v4_detail, v6_detail;
    int waiting = 0;
  };
  void on_mx(dns::Answer<dns::MxRecord> a);
  void resolve_hosts(std::vector<std::string> hosts);
  void host_done();
  void finish(Destination d);

  dns::Resolver* resolver_;
  MxOptions options_;
  std::string name_;
  bool use_mx_ = false;
  bool implicit_ = false;  // no MX: the name's own addresses
  Done done_;
  dns::Lookup mx_lookup_;
  std::vector<HostSlot> slots_;
  std::vector<dns::Lookup> lookups_;
  int waiting_ = 0;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace tern::smtp_client
