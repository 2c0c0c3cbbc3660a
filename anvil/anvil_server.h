#pragma once
// anvil(8)'s connections: serves the anvil protocol, whose specification is
// the top comment of common/ipc/anvil_protocol.h, over each client's
// connection (one per smtpd process), against one ClientTable.
//
// Each connection remembers the client connections it counted and has not
// disconnected; when it closes (the smtpd process exited, or died) they are
// all released, so no count outlives the process that held it. A
// connection may hold at most kMaxHeldPerConnection of them (an smtpd
// process has at most client_limit clients, 1000 by default); beyond that
// its connects are answered with an error, and smtpd fails open.
//
// Every anvil_rate_time_unit the idle entries expire; every
// anvil_status_update_time the period's peaks are logged as Postfix's anvil
// logs them ("statistics: max connection rate 3/60s for (smtp:192.0.2.1)
// at Nov 22 10:00:00").

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "anvil/client_table.h"
#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/ipc/anvil_protocol.h"
#include "common/ipc/line_io.h"

namespace tern::anvil {

struct Settings {
  Duration time_unit = std::chrono::seconds(60);       // anvil_rate_time_unit
  Duration status_update = std::chrono::seconds(600);  // anvil_status_update_time; 0: never
  size_t max_entries = ClientTable::kDefaultMaxEntries;
};

// The log lines for one statistics period (empty when nothing happened).
std::vector<std::string> stats_lines(const Stats& s, Duration time_unit);

class AnvilServer {
 public:
  static constexpr int kMaxHeldPerConnection = 10000;

  AnvilServer(event::Loop& loop, Settings settings, std::function<void()> client_done);
  ~AnvilServer();
  AnvilServer(const AnvilServer&) = delete;
  AnvilServer& operator=(const AnvilServer&) = delete;

  void accept(Fd fd);
  // Answers one request line from connection `serial` (exposed for tests).
  ipc::AnvilReply handle(uint64_t serial, std::string_view line);
  // Graceful stop: closes every connection now. smtpd reconnects to the
  // next anvil (which starts from zero: counts are short-term by design).
  void stop();
  void log_stats();
  size_t connections() const { return conns_.size(); }
  const ClientTable& table() const { return table_; }

 private:
  struct Conn {
    std::unique_ptr<ipc::LineIo> io;
    std::map<ClientKey, int> held;  // connects not yet disconnected
    int held_total = 0;
  };
  void closed(uint64_t serial);

  event::Loop& loop_;
  Settings settings_;
  std::function<void()> client_done_;
  ClientTable table_;
  std::map<uint64_t, Conn> conns_;
  std::vector<std::unique_ptr<ipc::LineIo>> dead_;  // closed; freed from reap_
  uint64_t next_serial_ = 1;
  event::Timer expire_;
  event::Timer stats_;
  event::Timer reap_;
};

}  // namespace tern::anvil
