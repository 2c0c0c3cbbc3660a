#include "anvil/client_table.h"

namespace tern::anvil {

ClientTable::ClientTable(Clock& clock, Duration time_unit, size_t max_entries)
    : clock_(clock), unit_(time_unit), max_entries_(max_entries == 0 ? 1 : max_entries) {}

void ClientTable::roll(Entry& e, MonoTime now) const {
  if (now - e.unit_start < unit_) return;
  e.unit_start = now;
  e.counts.connection_rate = e.counts.message_rate = e.counts.rcpt_rate = 0;
}

ClientTable::Entry* ClientTable::find_or_add(const ClientKey& k) {
  MonoTime now = clock_.now();
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) {
      // A flood of new addresses: make room from what has expired, but scan
      // the table at most once a second.
      if (!forced_once_ || now - last_forced_expire_ >= std::chrono::seconds(1)) {
        forced_once_ = true;
        last_forced_expire_ = now;
        expire();
      }
      if (entries_.size() >= max_entries_) return nullptr;
    }
    it = entries_.emplace(k, Entry{{}, now}).first;
    if (entries_.size() > stats_.max_size) {
      stats_.max_size = entries_.size();
      stats_.max_size_when = clock_.wall_now();
    }
  }
  roll(it->second, now);
  return &it->second;
}

void ClientTable::note(Peak& p, int value, const ClientKey& k) {
  if (value <= p.value) return;
  p.value = value;
  p.ident = k.ident();
  p.when = clock_.wall_now();
}

std::optional<Counts> ClientTable::connect(const ClientKey& k) {
  Entry* e = find_or_add(k);
  if (!e) return std::nullopt;
  e->counts.count++;
  e->counts.connection_rate++;
  note(stats_.count, e->counts.count, k);
  note(stats_.connection_rate, e->counts.connection_rate, k);
  return e->counts;
}

void ClientTable::disconnect(const ClientKey& k) {
  auto it = entries_.find(k);
  if (it == entries_.end() || it->second.counts.count == 0) return;
  it->second.counts.count--;
}

std::optional<int> ClientTable::message(const ClientKey& k) {
  Entry* e = find_or_add(k);
  if (!e) return std::nullopt;
  note(stats_.message_rate, ++e->counts.message_rate, k);
  return e->counts.message_rate;
}

std::optional<int> ClientTable::rcpt(const ClientKey& k) {
  Entry* e = find_or_add(k);
  if (!e) return std::nullopt;
  note(stats_.rcpt_rate, ++e->counts.rcpt_rate, k);
  return e->counts.rcpt_rate;
}

Counts ClientTable::lookup(const ClientKey& k) const {
  auto it = entries_.find(k);
  if (it == entries_.end()) return {};
  Counts c = it->second.counts;
  if (clock_.now() - it->second.unit_start >= unit_) c.connection_rate = c.message_rate = c.rcpt_rate = 0;
  return c;
}

size_t ClientTable::expire() {
  MonoTime now = clock_.now();
  size_t n = std::erase_if(entries_, [&](const auto& kv) {
    return kv.second.counts.count == 0 && now - kv.second.unit_start >= unit_;
  });
  return n;
}

Stats ClientTable::take_stats() {
  Stats s = std::move(stats_);
  stats_ = Stats{};
  return s;
}

}  // namespace tern::anvil
