#include "smtpd/client_limits.h"

#include <algorithm>

namespace tern::smtpd {

Result<ClientLimits> ClientLimits::load(const config::MainCf& cf) {
  ClientLimits l;
  struct {
    const char* name;
    int* out;
  } ints[] = {{"smtpd_client_connection_count_limit", &l.connection_count},
              {"smtpd_client_connection_rate_limit", &l.connection_rate},
              {"smtpd_client_message_rate_limit", &l.message_rate},
              {"smtpd_client_recipient_rate_limit", &l.rcpt_rate}};
  for (auto& [name, out] : ints) {
    long long v = cf.integer(name);
    if (v < 0 || v > 1000000000) return invalid(std::string(name) + ": expected 0 (no limit) up to 1000000000");
    *out = static_cast<int>(v);
  }
  // Postfix also takes host names and tables here; Tern takes networks.
  for (auto& n : cf.list("smtpd_client_event_limit_exceptions")) {
    auto net = Network::parse(n);
    if (!net) return invalid("smtpd_client_event_limit_exceptions: " + net.error().text);
    l.exceptions.push_back(*net);
  }
  l.anvil_socket = cf.str("queue_directory") + "/private/anvil";
  return l;
}

bool ClientLimits::exempt(const std::string& address) const {
  return std::any_of(exceptions.begin(), exceptions.end(), [&](const Network& n) { return n.contains(address); });
}

SessionLimits::SessionLimits(const ClientLimits& limits, std::string service, std::string address)
    : limits_(limits), service_(std::move(service)), address_(std::move(address)) {
  counted_ = limits_.anvil && limits_.any() && !limits_.exempt(address_);
}

SessionLimits::~SessionLimits() {
  *alive_ = false;
  if (anvil_conn_ != 0 && limits_.anvil)
    limits_.anvil->send_if(anvil_conn_, {ipc::AnvilCommand::kDisconnect, service_, address_});
}

bool SessionLimits::limited(RateEvent ev) const {
  return counted_ && (ev == RateEvent::kMessage ? limits_.message_rate : limits_.rcpt_rate) > 0;
}

void SessionLimits::connect(std::function<void(ConnectVerdict)> done) {
  std::weak_ptr<bool> alive = alive_;
  auto answered = [this, alive, done = std::move(done)](const ipc::AnvilReply* r) {
    if (alive.expired()) return;
    ConnectVerdict v;
    if (r && r->count && r->rate) {
      if (limits_.connection_count > 0 && *r->count > limits_.connection_count) {
        v.what = ConnectVerdict::What::kTooMany;
        v.value = *r->count;
      } else if (limits_.connection_rate > 0 && *r->rate > limits_.connection_rate) {
        v.what = ConnectVerdict::What::kTooFast;
        v.value = *r->rate;
      }
    }
    done(v);
  };
  anvil_conn_ = limits_.anvil->request({ipc::AnvilCommand::kConnect, service_, address_}, std::move(answered));
}

void SessionLimits::count(RateEvent ev, std::function<void(bool over, int rate)> done) {
  std::weak_ptr<bool> alive = alive_;
  int limit = ev == RateEvent::kMessage ? limits_.message_rate : limits_.rcpt_rate;
  auto cmd = ev == RateEvent::kMessage ? ipc::AnvilCommand::kMessage : ipc::AnvilCommand::kRcpt;
  limits_.anvil->request({cmd, service_, address_}, [alive, limit, done = std::move(done)](const ipc::AnvilReply* r) {
    if (alive.expired()) return;
    int rate = r && r->rate ? *r->rate : 0;
    done(rate > limit, rate);
  });
}

}  // namespace tern::smtpd
