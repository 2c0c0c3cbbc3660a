#include "smtp-client/mx.h"

#include <algorithm>

#include "common/base/strings.h"

namespace tern::smtp_client {

using Action = ipc::DeliveryAction;

std::vector<dns::MxRecord> order_mx(std::vector<dns::MxRecord> records, std::mt19937& rng) {
  std::shuffle(records.begin(), records.end(), rng);
  std::stable_sort(records.begin(), records.end(),
                   [](const dns::MxRecord& a, const dns::MxRecord& b) { return a.preference < b.preference; });
  return records;
}

bool is_null_mx(const std::vector<dns::MxRecord>& records) {
  return records.size() == 1 && records[0].exchange.empty() && records[0].preference == 0;
}

std::vector<dns::MxRecord> drop_self(std::vector<dns::MxRecord> ordered, std::string_view myhostname, bool& loops) {
  loops = false;
  if (myhostname.empty()) return ordered;
  for (size_t i = 0; i < ordered.size(); ++i) {
    if (to_lower(ordered[i].exchange) != to_lower(myhostname)) continue;
    int mine = ordered[i].preference;
    std::vector<dns::MxRecord> better;
    for (auto& r : ordered)
      if (r.preference < mine) better.push_back(std::move(r));
    loops = better.empty();
    return better;
  }
  return ordered;
}

namespace {

std::string not_found(std::string_view name, const char* type, dns::Outcome o) {
  std::string s = "Host or domain name not found. Name service error for name=" + std::string(name) + " type=" + type;
  return s + (dns::is_temporary(o) ? ": Host not found, try again" : ": Host not found");
}

}  // namespace

void MxResolver::cancel() {
  mx_lookup_.cancel();
  lookups_.clear();
  slots_.clear();
  done_ = nullptr;
  waiting_ = 0;
}

void MxResolver::start(std::string name, bool use_mx, Done done) {
  cancel();
  name_ = std::move(name);
  use_mx_ = use_mx;
  implicit_ = false;
  done_ = std::move(done);
  if (!use_mx_) return resolve_hosts({name_});
  mx_lookup_ = resolver_->mx(name_, [this](dns::Answer<dns::MxRecord> a) { on_mx(std::move(a)); });
}

void MxResolver::on_mx(dns::Answer<dns::MxRecord> a) {
  Destination d;
  switch (a.outcome) {
    case dns::Outcome::kOk:
      break;
    case dns::Outcome::kNoData:
      // RFC 5321 5.1: no MX, the domain itself is the implicit MX.
      implicit_ = true;
      return resolve_hosts({name_});
    case dns::Outcome::kNoSuchName:
      d.action = Action::kBounced;
      d.dsn = "5.1.2";
      d.reason = not_found(name_, "MX", a.outcome);
      return finish(std::move(d));
    default:
      d.dsn = "4.4.3";
      d.reason = not_found(name_, "MX", a.outcome);
      return finish(std::move(d));
  }
  if (is_null_mx(a.records)) {
    d.action = Action::kBounced;
    d.dsn = "5.1.10";
    d.reason = "Domain " + name_ + " does not accept mail (nullMX)";
    return finish(std::move(d));
  }
  std::vector<dns::MxRecord> records;
  for (auto& r : a.records)
    if (!r.exchange.empty()) records.push_back(std::move(r));
  bool loops = false;
  records = drop_self(order_mx(std::move(records), rng_), options_.myhostname, loops);
  if (loops || records.empty()) {
    d.action = Action::kBounced;
    d.dsn = "5.4.6";
    d.reason = "mail for " + name_ + " loops back to myself";
    return finish(std::move(d));
  }
  std::vector<std::string> hosts;
  for (auto& r : records) {
    if (hosts.size() >= kMaxHosts) break;
    if (options_.address_limit && hosts.size() >= options_.address_limit) break;  // each gives one at least
    if (std::find(hosts.begin(), hosts.end(), r.exchange) == hosts.end()) hosts.push_back(std::move(r.exchange));
  }
  resolve_hosts(std::move(hosts));
}

void MxResolver::resolve_hosts(std::vector<std::string> hosts) {
  slots_.clear();
  lookups_.clear();
  slots_.resize(hosts.size());
  waiting_ = 0;
  for (size_t i = 0; i < hosts.size(); ++i) {
    slots_[i].host = std::move(hosts[i]);
    slots_[i].waiting = (options_.ipv4 ? 1 : 0) + (options_.ipv6 ? 1 : 0);
    waiting_ += slots_[i].waiting;
  }
  // Every lookup is started before any can answer (answers come from the loop).
  for (size_t i = 0; i < slots_.size(); ++i) {
    for (auto family : {dns::Family::kIpv4, dns::Family::kIpv6}) {
      if ((family == dns::Family::kIpv4 && !options_.ipv4) || (family == dns::Family::kIpv6 && !options_.ipv6))
        continue;
      lookups_.push_back(resolver_->addresses(slots_[i].host, family, [this, i, family](dns::Answer<std::string> a) {
        HostSlot& s = slots_[i];
        bool v4 = family == dns::Family::kIpv4;
        (v4 ? s.v4 : s.v6) = std::move(a.records);
        (v4 ? s.v4_outcome : s.v6_outcome) = a.outcome;
        (v4 ? s.v4_detail : s.v6_detail) = std::move(a.detail);
        --s.waiting;
        if (--waiting_ == 0) host_done();
      }));
    }
  }
}

void MxResolver::host_done() {
  Destination d;
  bool temporary = false;
  std::string last;
  for (const auto& s : slots_) {
    for (const auto* list : {&s.v4, &s.v6})
      for (const auto& addr : *list)
        if (!options_.address_limit || d.targets.size() < options_.address_limit) d.targets.push_back({s.host, addr});
    if (s.v4.empty() && s.v6.empty()) {
      // Which failure to report: a temporary one wins (it may be retried).
      bool t4 = options_.ipv4 && dns::is_temporary(s.v4_outcome);
      bool t6 = options_.ipv6 && dns::is_temporary(s.v6_outcome);
      temporary = temporary || t4 || t6;
      const char* type = t4 || !options_.ipv6 ? "A" : "AAAA";
      dns::Outcome o = t4 ? s.v4_outcome : t6 ? s.v6_outcome : options_.ipv6 ? s.v6_outcome : s.v4_outcome;
      last = not_found(s.host, type, o);
    }
  }
  if (d.targets.empty()) {
    if (temporary) {
      d.dsn = "4.4.3";
    } else {
      d.action = Action::kBounced;
      // A domain without MX that does not exist either (RFC 5321 5.1): 5.1.2.
      bool gone = implicit_ && (!options_.ipv4 || slots_[0].v4_outcome == dns::Outcome::kNoSuchName) &&
                  (!options_.ipv6 || slots_[0].v6_outcome == dns::Outcome::kNoSuchName);
      d.dsn = gone ? "5.1.2" : "5.4.4";
    }
    d.reason = slots_.empty() ? "no usable MX host for " + name_ : last;
  }
  finish(std::move(d));
}

void MxResolver::finish(Destination d) {
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(d));
}

}  // namespace tern::smtp_client
