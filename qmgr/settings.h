#pragma once
// qmgr's parameters, read once at start-up (main.cf; tern.cf(5) documents
// each). Lookup tables are opened here, before anything else runs.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/config/main_cf.h"
#include "common/queue/alias_expand.h"
#include "common/queue/cleanup.h"
#include "common/table/table.h"
#include "qmgr/backoff.h"
#include "qmgr/routing.h"

namespace tern::qmgr {

struct TransportLimits {
  int concurrency = 20;  // connections per destination
  size_t recipients = 50;  // recipients per request
};

struct Settings {

  std::string queue_dir;
  RoutingSettings routing;
  std::vector<std::unique_ptr<table::Table>> tables;  // what routing points into
  BackoffSettings backoff;
  size_t active_limit = 20000;           // qmgr_message_active_limit
  TransportLimits default_limits;        // default_destination_*_limit
  std::map<std::string, TransportLimits> transport_limits;  // <transport>_destination_*_limit
  Duration transport_retry = std::chrono::seconds(60);      // transport_retry_time
  int hopcount_limit = 50;
  Duration delay_warning{};  // delay_warning_time; 0: no delay reports (delay_warning.h)
  // For the notices qmgr queues (DSNs).
  std::string myhostname;
  std::string myorigin;
  std::string double_bounce_recipient = "postmaster";
  uint64_t bounce_size_limit = 50000;
  // The cleanup step the notices go through (aliases: the double-bounce
  // recipient postmaster is expanded like any other).
  queue::AliasSettings aliases;
  queue::CleanupSettings cleanup;

  const TransportLimits& limits(const std::string& transport) const;
};

// On the heap: routing and cleanup point into it.
Result<std::unique_ptr<Settings>> load_settings(const config::MainCf& cf, const std::string& queue_dir);

}  // namespace tern::qmgr
