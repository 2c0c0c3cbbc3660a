// resolver.cc - c-ares on Tern's event loop (see resolver.h).
//
// The channel's sockets come and go as c-ares opens and closes them; its
// socket-state callback keeps one IoWatch per socket, and every time c-ares
// has run (a socket was ready, its timer fired, a query was sent) the one
// Timer is re-armed from ares_timeout(). Each lookup also has its own
// deadline on the loop's clock: c-ares' own timeouts grow with every retry
// and every server, so the deadline, not c-ares, is what bounds a lookup.
// A lookup that hit its deadline stays in c-ares until c-ares gives up on
// it; its answer is then dropped.

#include "common/dns/resolver.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "common/base/log.h"
#include "common/base/strings.h"

namespace tern::dns {
namespace {

// Owners for c-ares' C handles (STYLE.md: no bare *_free outside them).
struct ChannelDeleter {
  void operator()(ares_channel ch) const noexcept { ares_destroy(ch); }
};
using ChannelPtr = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;
struct DataDeleter {
  void operator()(void* data) const noexcept { ares_free_data(data); }
};
struct HostentDeleter {
  void operator()(hostent* h) const noexcept { ares_free_hostent(h); }
};
using HostentPtr = std::unique_ptr<hostent, HostentDeleter>;

constexpr int kTries = 2;
constexpr int kMaxAddresses = 64;  // A/AAAA records read from one answer
constexpr int kMaxNames = 16;      // PTR names kept from one answer

// RFC 1035 3.2.2 and RFC 3596 2.1.
constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeAaaa = 28;
constexpr int kClassIn = 1;

Outcome outcome_of(int status) {
  switch (status) {
    case ARES_SUCCESS: return Outcome::kOk;
    case ARES_ENOTFOUND: return Outcome::kNoSuchName;
    case ARES_ENODATA: return Outcome::kNoData;
    case ARES_ETIMEOUT: return Outcome::kTimeout;
    default: return Outcome::kTemporary;
  }
}

std::string strip_dot(std::string name) {
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kOk: return "ok";
    case Outcome::kNoSuchName: return "NXDOMAIN";
    case Outcome::kNoData: return "NODATA";
    case Outcome::kTemporary: return "temporary failure";
    case Outcome::kTimeout: return "timeout";
  }
  return "?";
}

bool queryable_name(std::string_view name) {
  if (name.empty() || name.size() > 254 || (name.size() == 254 && name.back() != '.')) return false;
  if (name == ".") return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return name.find("..") == std::string_view::npos && name.front() != '.';
}

// Everything a Resolver owns, shared with the Lookup handles through weak
// pointers so that a handle outliving its Resolver is harmless.
struct Lookup::Core {
  struct Pending {
    Resolver::RawCallback cb;
    event::Timer deadline;
    // Answered before ares_query() returned: delivered from the timer.
    std::optional<std::pair<Outcome, std::string>> early;
  };
  // c-ares' argument for one query: every query's callback runs exactly
  // once (with ARES_EDESTRUCTION at the latest), which frees it.
  struct Tag {
    Core* core;
    uint64_t id;
  };

  explicit Core(event::Loop& l) : loop(l) {}
  ~Core() {
    destroying = true;
    channel.reset();  // callbacks with ARES_EDESTRUCTION, sockets closed
    timer.cancel();
    watches.clear();
  }

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
    static_cast<Core*>(data)->sock_state(fd, readable, writable);
  }

  void sock_state(int fd, int readable, int writable) {
    if (destroying) return;
    short events = static_cast<short>((readable ? event::IoWatch::kRead : 0) | (writable ? event::IoWatch::kWrite : 0));
    if (events == 0) {
      watches.erase(fd);  // may be the watch whose callback is running: allowed (loop.h)
      return;
    }
    auto it = watches.find(fd);
    if (it != watches.end()) {
      it->second.set_events(events);
      return;
    }
    watches.emplace(fd, event::IoWatch(loop, fd, events, [this, fd](short what) {
      ares_process_fd(channel.get(), (what & event::IoWatch::kRead) ? fd : ARES_SOCKET_BAD,
                      (what & event::IoWatch::kWrite) ? fd : ARES_SOCKET_BAD);
      rearm();
    }));
  }

  void rearm() {
    if (destroying) return;
    timeval tv{};
    if (ares_timeout(channel.get(), nullptr, &tv) == nullptr) {
      timer.cancel();
      return;
    }
    timer.start(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  }

  void on_timer() {
    // No socket ready: c-ares checks its timeouts and retransmits.
    ares_process_fd(channel.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm();
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) noexcept {
    std::unique_ptr<Tag> tag(static_cast<Tag*>(arg));
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    tag->core->answered(tag->id, status, abuf, alen);
  }

  void answered(uint64_t id, int status, const unsigned char* abuf, int alen) {
    auto it = pending.find(id);
    if (it == pending.end()) return;  // cancelled, or past its deadline
    Outcome o = outcome_of(status);
    std::string detail = status == ARES_SUCCESS ? "" : ares_strerror(status);
    if (submitting) {
      // From inside ares_query(): never call back into the caller before
      // it has its Lookup handle. (Only errors arrive this way: an answer
      // needs the loop.)
      it->second.early.emplace(o, std::move(detail));
      it->second.deadline.start(Duration::zero());
      return;
    }
    deliver(it, o, std::move(detail), abuf, alen);
  }

  void deliver(std::unordered_map<uint64_t, Pending>::iterator it, Outcome o, std::string detail,
               const unsigned char* abuf, int alen) {
    Resolver::RawCallback cb = std::move(it->second.cb);
    pending.erase(it);  // the running timer may be this entry's: allowed (loop.h)
    cb(o, std::move(detail), abuf, alen);
  }

  void expired(uint64_t id) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    if (it->second.early) {
      auto [o, detail] = std::move(*it->second.early);
      return deliver(it, o, std::move(detail), nullptr, 0);
    }
    deliver(it, Outcome::kTimeout, "no answer within the time limit", nullptr, 0);
  }

  event::Loop& loop;
  Duration timeout{};
  ChannelPtr channel;
  std::map<int, event::IoWatch> watches;
  event::Timer timer;
  std::unordered_map<uint64_t, Pending> pending;
  uint64_t next_id = 1;
  bool submitting = false;
  bool destroying = false;
};

Lookup& Lookup::operator=(Lookup&& other) noexcept {
  if (this != &other) {
    cancel();
    core_ = std::move(other.core_);
    id_ = other.id_;
    other.core_.reset();
  }
  return *this;
}

Lookup::~Lookup() { cancel(); }

void Lookup::cancel() {
  if (auto core = core_.lock()) core->pending.erase(id_);
  core_.reset();
}

bool Lookup::pending() const {
  auto core = core_.lock();
  return core && core->pending.count(id_) > 0;
}

Resolver::Resolver(std::shared_ptr<Lookup::Core> core) : core_(std::move(core)) {}
Resolver::~Resolver() = default;

Result<std::unique_ptr<Resolver>> Resolver::create(event::Loop& loop, const ResolverOptions& options) {
  auto core = std::make_shared<Lookup::Core>(loop);
  core->timeout = options.timeout > Duration::zero() ? options.timeout : std::chrono::seconds(1);
  // Each try waits a third of the bound, the retry (c-ares doubles it) the
  // rest: with one server the two tries fill the bound, with more the
  // deadline cuts them short.
  auto per_try = std::chrono::duration_cast<std::chrono::milliseconds>(core->timeout) / 3;
  ares_options opts{};
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  opts.timeout = static_cast<int>(std::clamp<long long>(per_try.count(), 100, 60'000));
  opts.tries = kTries;
  opts.lookups = const_cast<char*>("b");  // DNS only, never the hosts file
  opts.sock_state_cb = &Lookup::Core::on_sock_state;
  opts.sock_state_cb_data = core.get();
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
  ares_channel ch = nullptr;
  if (int rc = ares_init_options(&ch, &opts, mask); rc != ARES_SUCCESS)
    return make_error(Errc::kSystem, strf("c-ares: cannot make a resolver: %s", ares_strerror(rc)));
  core->channel.reset(ch);
  if (!options.servers.empty()) {
    std::string csv = servers_csv(options.servers);
    if (int rc = ares_set_servers_ports_csv(ch, csv.c_str()); rc != ARES_SUCCESS)
      return invalid(strf("dns_servers: c-ares refused %s: %s", csv.c_str(), ares_strerror(rc)));
  }
  core->timer = event::Timer(loop, [c = core.get()] { c->on_timer(); });
  return std::unique_ptr<Resolver>(new Resolver(std::move(core)));
}

event::Loop& Resolver::loop() { return core_->loop; }
Duration Resolver::timeout() const { return core_->timeout; }
size_t Resolver::pending() const { return core_->pending.size(); }

Lookup Resolver::query(std::string name, int type, RawCallback cb) {
  Lookup::Core& c = *core_;
  uint64_t id = c.next_id++;
  auto& p = c.pending[id];
  p.cb = std::move(cb);
  p.deadline = event::Timer(c.loop, [core = &c, id] { core->expired(id); });
  if (!queryable_name(name)) {
    p.early.emplace(Outcome::kNoSuchName, "malformed name");
    p.deadline.start(Duration::zero());
    return Lookup(core_, id);
  }
  p.deadline.start(c.timeout);
  c.submitting = true;
  ares_query(c.channel.get(), name.c_str(), kClassIn, type, &Lookup::Core::on_answer, new Lookup::Core::Tag{&c, id});
  c.submitting = false;
  c.rearm();
  return Lookup(core_, id);
}

Lookup Resolver::ptr(std::string_view address, Callback<std::string> cb) {
  std::string canonical = canonical_address(address);
  auto name = reverse_name(canonical);
  if (!name) name = std::string("malformed address");  // refused by queryable_name: answered NXDOMAIN
  return query(*name, kTypePtr, [cb = std::move(cb), canonical](Outcome o, std::string detail, const unsigned char* abuf, int alen) {
    Answer<std::string> a{o, std::move(detail), {}};
    if (o == Outcome::kOk) {
      unsigned char bin[16];
      int af = address_family(canonical) == 4 ? AF_INET : AF_INET6;
      hostent* h = nullptr;
      (void)inet_pton(af, canonical.c_str(), bin);
      int rc = ares_parse_ptr_reply(abuf, alen, bin, af == AF_INET ? 4 : 16, af, &h);
      HostentPtr host(h);
      if (rc != ARES_SUCCESS || !host) {
        a.outcome = rc == ARES_ENODATA ? Outcome::kNoData : Outcome::kTemporary;
        a.detail = ares_strerror(rc);
      } else {
        std::vector<std::string> names;
        if (host->h_name) names.push_back(host->h_name);
        for (char** alias = host->h_aliases; alias && *alias; ++alias) names.push_back(*alias);
        for (auto& n : names) {
          n = strip_dot(std::move(n));
          if (!valid_hostname(n)) continue;
          if (std::find(a.records.begin(), a.records.end(), n) != a.records.end()) continue;
          if (a.records.size() < kMaxNames) a.records.push_back(std::move(n));
        }
        if (a.records.empty()) {
          a.outcome = Outcome::kTemporary;
          a.detail = "malformed host name in the PTR answer";
        }
      }
    }
    cb(std::move(a));
  });
}

Lookup Resolver::addresses(std::string_view name, Family family, Callback<std::string> cb) {
  int type = family == Family::kIpv4 ? kTypeA : kTypeAaaa;
  return query(std::string(name), type, [cb = std::move(cb), family](Outcome o, std::string detail, const unsigned char* abuf, int alen) {
    Answer<std::string> a{o, std::move(detail), {}};
    if (o == Outcome::kOk) {
      char text[INET6_ADDRSTRLEN];
      int n = kMaxAddresses;
      int rc;
      if (family == Family::kIpv4) {
        ares_addrttl ttls[kMaxAddresses];
        rc = ares_parse_a_reply(abuf, alen, nullptr, ttls, &n);
        for (int i = 0; rc == ARES_SUCCESS && i < n; ++i)
          if (inet_ntop(AF_INET, &ttls[i].ipaddr, text, sizeof text)) a.records.push_back(text);
      } else {
        ares_addr6ttl ttls[kMaxAddresses];
        rc = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls, &n);
        for (int i = 0; rc == ARES_SUCCESS && i < n; ++i)
          if (inet_ntop(AF_INET6, &ttls[i].ip6addr, text, sizeof text)) a.records.push_back(text);
      }
      if (rc != ARES_SUCCESS) {
        a.outcome = rc == ARES_ENODATA ? Outcome::kNoData : Outcome::kTemporary;
        a.detail = ares_strerror(rc);
      } else if (a.records.empty()) {
        a.outcome = Outcome::kNoData;  // e.g. only a CNAME to a name without such records
        a.detail = "no address records";
      }
    }
    cb(std::move(a));
  });
}

Lookup Resolver::mx(std::string_view name, Callback<MxRecord> cb) {
  return query(std::string(name), kTypeMx, [cb = std::move(cb)](Outcome o, std::string detail, const unsigned char* abuf, int alen) {
    Answer<MxRecord> a{o, std::move(detail), {}};
    if (o == Outcome::kOk) {
      ares_mx_reply* list = nullptr;
      int rc = ares_parse_mx_reply(abuf, alen, &list);
      std::unique_ptr<ares_mx_reply, DataDeleter> owner(list);
      bool malformed = false;
      for (ares_mx_reply* mx = list; rc == ARES_SUCCESS && mx; mx = mx->next) {
        std::string host = mx->host ? mx->host : "";
        if (host == ".") host.clear();
        host = strip_dot(std::move(host));
        if (!host.empty() && !valid_hostname(host)) {
          malformed = true;
          continue;
        }
        a.records.push_back({mx->priority, std::move(host)});
      }
      if (rc != ARES_SUCCESS) {
        a.outcome = rc == ARES_ENODATA ? Outcome::kNoData : Outcome::kTemporary;
        a.detail = ares_strerror(rc);
      } else if (a.records.empty()) {
        a.outcome = malformed ? Outcome::kTemporary : Outcome::kNoData;
        a.detail = malformed ? "malformed host name in the MX answer" : "no MX records";
      }
    }
    cb(std::move(a));
  });
}

}  // namespace tern::dns
