#pragma once
// anvil's counters: per (service, client) the connections open now and the
// connections, messages and recipients of the current rate time unit.
//
// A client's time unit starts with its first event and lasts
// anvil_rate_time_unit; the first event after it starts a new one with
// every rate at zero (Postfix's anvil counts the same way). An entry with no
// open connection is dropped once its time unit is over (expire(), which
// anvil runs every time unit), so the table holds only clients seen
// recently. It holds at most max_entries: when full, expire() runs (at most
// once a second), and a client still not placed is answered as if it were
// new and not counted (nullopt): the table's bound is kept, and its limits
// fail open, as everything else about anvil does.
//
// Every age is read through the Clock, so tests move time with a TestClock.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/base/clock.h"

namespace tern::anvil {

struct ClientKey {
  std::string service;
  std::string client;
  auto operator<=>(const ClientKey&) const = default;
  std::string ident() const { return service + ":" + client; }  // Postfix's "service:address"
};

struct Counts {
  int count = 0;            // connections open now
  int connection_rate = 0;  // in the current time unit
  int message_rate = 0;
  int rcpt_rate = 0;
};

// The largest value of one counter in a statistics period, for the log.
struct Peak {
  int value = 0;
  std::string ident;
  WallTime when{};
};
struct Stats {
  Peak connection_rate, count, message_rate, rcpt_rate;
  size_t max_size = 0;
  WallTime max_size_when{};
};

class ClientTable {
 public:
  static constexpr size_t kDefaultMaxEntries = 100000;

  ClientTable(Clock& clock, Duration time_unit, size_t max_entries = kDefaultMaxEntries);

  // A new connection: the counts with it included. nullopt: the table is
  // full and the connection is not counted (its disconnect must not be sent).
  std::optional<Counts> connect(const ClientKey& k);
  // One connection ended; the entry stays while its rates matter.
  void disconnect(const ClientKey& k);
  // A MAIL or RCPT: the rate with this one included (nullopt: table full).
  std::optional<int> message(const ClientKey& k);
  std::optional<int> rcpt(const ClientKey& k);
  // The counts now, without counting anything; zero for an unknown client.
  Counts lookup(const ClientKey& k) const;

  // Drops the entries with no open connection whose time unit is over;
  // returns how many.
  size_t expire();
  size_t size() const { return entries_.size(); }
  Duration time_unit() const { return unit_; }
  // The peaks since the last call, then starts a new period.
  Stats take_stats();

 private:
  struct Entry {
    Counts counts;
    MonoTime unit_start{};
  };
  Entry* find_or_add(const ClientKey& k);
  void roll(Entry& e, MonoTime now) const;
  void note(Peak& p, int value, const ClientKey& k);

  Clock& clock_;
  Duration unit_;
  size_t max_entries_;
  std::map<ClientKey, Entry> entries_;
  MonoTime last_forced_expire_{};
  bool forced_once_ = false;
  Stats stats_;
};

}  // namespace tern::anvil
