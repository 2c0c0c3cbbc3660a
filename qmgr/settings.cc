#include "qmgr/settings.h"

#include "common/base/log.h"
#include "common/base/strings.h"

namespace tern::qmgr {
namespace {

// "<transport>_destination_concurrency_limit" and "..._recipient_limit":
// Postfix's per-transport overrides, for any transport that has a setting.
void load_transport_limits(const config::MainCf& cf, Settings& s) {
  static const std::string kConc = "_destination_concurrency_limit";
  static const std::string kRcpt = "_destination_recipient_limit";
  auto names = cf.known_names();
  for (const auto& n : cf.set_names()) names.push_back(n);
  for (const auto& name : names) {
    for (const auto* suffix : {&kConc, &kRcpt}) {
      if (name.size() <= suffix->size() || name.compare(name.size() - suffix->size(), suffix->size(), *suffix) != 0)
        continue;
      std::string transport = name.substr(0, name.size() - suffix->size());
      if (transport == "default") continue;
      auto v = parse_int(cf.str(name));
      if (!v || *v < 1) continue;
      auto [it, fresh] = s.transport_limits.try_emplace(transport, s.default_limits);
      if (suffix == &kConc) it->second.concurrency = static_cast<int>(*v);
      else it->second.recipients = static_cast<size_t>(*v);
    }
  }
}

}  // namespace

const TransportLimits& Settings::limits(const std::string& transport) const {
  auto it = transport_limits.find(transport);
  return it == transport_limits.end() ? default_limits : it->second;
}

Result<std::unique_ptr<Settings>> load_settings(const config::MainCf& cf, const std::string& queue_dir) {
  auto owned = std::make_unique<Settings>();
  Settings& s = *owned;
  s.queue_dir = queue_dir;
  for (const auto& spec : cf.list("transport_maps")) {
    auto t = table::open(spec);
    if (!t) return make_error(t.error().code, "transport_maps: " + t.error().text);
    s.routing.transport_maps.push_back(t->get());
    s.tables.push_back(std::move(*t));
  }
  for (const auto& d : cf.list("virtual_mailbox_domains")) s.routing.virtual_mailbox_domains.push_back(to_lower(d));
  for (const auto& d : cf.list("mydestination")) s.routing.mydestination.push_back(to_lower(d));
  s.routing.virtual_transport = cf.str("virtual_transport");
  s.routing.relayhost = std::string(trim(cf.str("relayhost")));
  s.routing.default_transport = std::string(trim(cf.str("default_transport")));
  s.routing.recipient_delimiter = cf.str("recipient_delimiter");
  for (const auto* name : {"virtual_transport", "default_transport"}) {
    auto r = parse_transport_value(cf.str(name), "example.org", s.routing.default_transport);
    if (!r) return invalid(std::string(name) + ": " + r.error().text);
  }
  s.backoff.minimal = cf.seconds("minimal_backoff_time");
  s.backoff.maximal = cf.seconds("maximal_backoff_time");
  s.backoff.queue_lifetime = cf.seconds("maximal_queue_lifetime");
  s.backoff.bounce_lifetime = cf.seconds("bounce_queue_lifetime");
  s.delay_warning = cf.seconds("delay_warning_time");
  if (s.backoff.minimal <= Duration::zero()) return invalid("minimal_backoff_time: must be at least 1s");
  long long active = cf.integer("qmgr_message_active_limit");
  if (active < 1) return invalid("qmgr_message_active_limit: must be at least 1");
  s.active_limit = static_cast<size_t>(active);
  long long conc = cf.integer("default_destination_concurrency_limit");
  long long rcpt = cf.integer("default_destination_recipient_limit");
  if (conc < 1 || rcpt < 1) return invalid("default_destination_*_limit: must be at least 1");
  s.default_limits.concurrency = static_cast<int>(conc);
  s.default_limits.recipients = static_cast<size_t>(rcpt);
  load_transport_limits(cf, s);
  s.transport_retry = cf.seconds("transport_retry_time");
  s.hopcount_limit = static_cast<int>(cf.integer("hopcount_limit"));
  s.myhostname = cf.str("myhostname");
  s.myorigin = cf.str("myorigin");
  // Parameters of the notices (common/queue/dsn.h), when this build has them.
  if (cf.known("double_bounce_recipient")) s.double_bounce_recipient = cf.str("double_bounce_recipient");
  if (cf.known("bounce_size_limit")) {
    if (auto n = parse_int(cf.str("bounce_size_limit")); n && *n >= 0) s.bounce_size_limit = static_cast<uint64_t>(*n);
  }
  for (const auto* param : {"virtual_alias_maps", "alias_maps"}) {
    for (const auto& spec : cf.list(param)) {
      auto t = table::open(spec);
      if (!t) {
        // A missing alias table must not stop delivery; the notices it
        // would expand go to their literal recipient.
        log::warning("%s: %s", param, t.error().text.c_str());
        continue;
      }
      (std::string_view(param) == "alias_maps" ? s.aliases.alias_maps : s.aliases.virtual_alias_maps)
          .push_back(t->get());
      s.tables.push_back(std::move(*t));
    }
  }
  for (const auto& d : cf.list("mydestination")) s.aliases.mydestination.push_back(to_lower(d));
  s.aliases.local_domains = s.aliases.mydestination;
  for (const auto& d : s.routing.virtual_mailbox_domains) s.aliases.local_domains.push_back(d);
  s.aliases.myorigin = s.myorigin;
  s.aliases.delimiters = s.routing.recipient_delimiter;
  s.cleanup.queue_dir = queue_dir;
  s.cleanup.myhostname = s.myhostname;
  s.cleanup.header_size_limit = static_cast<size_t>(cf.integer("header_size_limit"));
  s.cleanup.header_count_limit = static_cast<size_t>(cf.integer("header_count_limit"));
  s.cleanup.hopcount_limit = s.hopcount_limit;
  s.cleanup.aliases = &s.aliases;
  return owned;
}

}  // namespace tern::qmgr
