#pragma once
// Asynchronous DNS lookups on the event loop, through c-ares (DESIGN.md,
// "Configuration": one resolver setting for every daemon, `dns_servers`, and
// a bound on every lookup, `dns_timeout`).
//
// - The c-ares channel is made before the privilege drop (it reads
//   /etc/resolv.conf then, which the chroot jail does not hold) and only
//   talks to the servers it found there, or to dns_servers. The hosts file
//   is never consulted: every answer comes from the DNS.
// - Nothing blocks: c-ares tells us which sockets it wants watched (its
//   socket-state callback becomes one IoWatch per socket) and when it next
//   wants to retransmit (ares_timeout becomes one Timer).
// - Every lookup ends within the timeout, with an Outcome that tells a name
//   that does not exist (NXDOMAIN, RFC 1035 4.1.1) from a name without
//   records of that type (NODATA, RFC 2308 2.2) from a failure that says
//   nothing about the name (SERVFAIL, REFUSED, unreachable servers, a
//   malformed answer) and from silence (timeout). Callers that must not
//   turn a temporary failure into a permanent one (smtp-client: a bounce)
//   test is_temporary().
// - Names are queried as given, with no search list (ares_query, not
//   ares_search); the recursive server follows CNAME chains and c-ares'
//   parsers read the records at the end of the chain. Results carry no TTL:
//   nothing here caches.
// - Callbacks run on the loop, never from inside the call that started the
//   lookup, and at most once. Destroying the Lookup handle cancels the
//   delivery. A callback may start lookups and destroy handles, but not the
//   Resolver.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/dns/names.h"
#include "common/event/loop.h"

namespace tern::dns {

enum class Outcome {
  kOk,          // records holds at least one record
  kNoSuchName,  // NXDOMAIN: the name does not exist (also: a malformed name)
  kNoData,      // the name exists but has no record of this type
  kTemporary,   // SERVFAIL, REFUSED, no server reachable, a malformed answer
  kTimeout,     // no answer within the timeout
};
const char* outcome_name(Outcome o);  // "ok", "NXDOMAIN", "NODATA", "temporary failure", "timeout"
inline bool is_temporary(Outcome o) { return o == Outcome::kTemporary || o == Outcome::kTimeout; }

template <class T>
struct Answer {
  Outcome outcome = Outcome::kTemporary;
  std::string detail;  // when not kOk: what c-ares said, for a log line
  std::vector<T> records;
  bool ok() const { return outcome == Outcome::kOk; }
};

struct MxRecord {
  int preference = 0;
  std::string exchange;  // "" for the root: with preference 0, a null MX (RFC 7505)
  bool operator==(const MxRecord&) const = default;
};

enum class Family { kIpv4, kIpv6 };

struct ResolverOptions {
  std::vector<ServerAddress> servers;  // empty: those of /etc/resolv.conf
  Duration timeout = std::chrono::seconds(10);
};

class Resolver;

// A lookup in flight. Move-only; destroying it or cancel() means the
// callback never runs.
class Lookup {
 public:
  Lookup() = default;
  Lookup(Lookup&&) noexcept = default;
  Lookup& operator=(Lookup&& other) noexcept;
  ~Lookup();
  void cancel();
  bool pending() const;

 private:
  friend class Resolver;
  struct Core;
  Lookup(std::weak_ptr<Core> core, uint64_t id) : core_(std::move(core)), id_(id) {}
  std::weak_ptr<Core> core_;
  uint64_t id_ = 0;
};

class Resolver {
 public:
  template <class T>
  using Callback = std::function<void(Answer<T>)>;

  // Before the privilege drop. The loop must outlive the Resolver.
  static Result<std::unique_ptr<Resolver>> create(event::Loop& loop, const ResolverOptions& options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // PTR records of an address's reverse name: the host names that are valid
  // (names.h valid_hostname), without a trailing dot, in answer order.
  Lookup ptr(std::string_view address, Callback<std::string> cb);
  // A or AAAA records, in inet_ntop's form; CNAMEs followed.
  Lookup addresses(std::string_view name, Family family, Callback<std::string> cb);
  // MX records in answer order (the caller sorts by preference); CNAMEs
  // followed. A record whose exchange is not a valid host name is dropped;
  // if none is left, the answer is kTemporary ("malformed"), as Postfix
  // treats a malformed reply.
  Lookup mx(std::string_view name, Callback<MxRecord> cb);

  event::Loop& loop();
  Duration timeout() const;
  size_t pending() const;  // lookups whose callback is still to come

 private:
  friend struct Lookup::Core;
  explicit Resolver(std::shared_ptr<Lookup::Core> core);
  // Raw: the c-ares answer buffer, or the outcome without one.
  using RawCallback = std::function<void(Outcome, std::string detail, const unsigned char* abuf, int alen)>;
  Lookup query(std::string name, int type, RawCallback cb);
  std::shared_ptr<Lookup::Core> core_;
};

// A name as it may be sent in a query: 1..253 characters (254 with the
// trailing dot), printable, no white space. Anything else is answered
// kNoSuchName without asking.
bool queryable_name(std::string_view name);

}  // namespace tern::dns
