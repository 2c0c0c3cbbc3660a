#include "anvil/anvil_server.h"

#include <time.h>

#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/ipc/escape.h"

namespace tern::anvil {
namespace {

std::string when(WallTime t) {
  time_t secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%b %e %H:%M:%S", &tm);
  return buf;
}

}  // namespace

std::vector<std::string> stats_lines(const Stats& s, Duration time_unit) {
  long long unit = std::chrono::duration_cast<std::chrono::seconds>(time_unit).count();
  std::vector<std::string> out;
  auto rate = [&](const char* what, const Peak& p) {
    if (p.value > 0)
      out.push_back(strf("statistics: max %s rate %d/%llds for (%s) at %s", what, p.value, unit, p.ident.c_str(),
                         when(p.when).c_str()));
  };
  rate("connection", s.connection_rate);
  if (s.count.value > 0)
    out.push_back(strf("statistics: max connection count %d for (%s) at %s", s.count.value, s.count.ident.c_str(),
                       when(s.count.when).c_str()));
  rate("message", s.message_rate);
  rate("recipient", s.rcpt_rate);
  if (s.max_size > 0)
    out.push_back(strf("statistics: max cache size %zu at %s", s.max_size, when(s.max_size_when).c_str()));
  return out;
}

AnvilServer::AnvilServer(event::Loop& loop, Settings settings, std::function<void()> client_done)
    : loop_(loop),
      settings_(settings),
      client_done_(std::move(client_done)),
      table_(loop.clock(), settings.time_unit, settings.max_entries) {
  expire_ = event::Timer(loop_, [this] { table_.expire(); });
  expire_.start_every(settings_.time_unit);
  stats_ = event::Timer(loop_, [this] { log_stats(); });
  if (settings_.status_update > Duration::zero()) stats_.start_every(settings_.status_update);
  reap_ = event::Timer(loop_, [this] { dead_.clear(); });
}

AnvilServer::~AnvilServer() = default;

void AnvilServer::accept(Fd fd) {
  uint64_t serial = next_serial_++;
  Conn& c = conns_[serial];
  c.io = std::make_unique<ipc::LineIo>(
      loop_, std::move(fd), ipc::kAnvilMaxLine,
      [this, serial](std::string_view line) {
        auto it = conns_.find(serial);
        if (it == conns_.end()) return;
        it->second.io->send(handle(serial, line).format());
      },
      [this, serial](const std::string& why) {
        log::debug("anvil client %llu: %s", static_cast<unsigned long long>(serial), why.c_str());
        closed(serial);
      });
  c.io->send(ipc::Version{std::string(ipc::kAnvilProto), ipc::kAnvilMajor, ipc::kAnvilMinor}.format());
}

ipc::AnvilReply AnvilServer::handle(uint64_t serial, std::string_view line) {
  auto req = ipc::AnvilRequest::parse(line);
  if (!req) return ipc::AnvilReply::error(req.error().text);
  auto it = conns_.find(serial);
  if (it == conns_.end()) return ipc::AnvilReply::error("no such connection");
  Conn& c = it->second;
  ClientKey key{req->service, req->client};
  ipc::AnvilReply r;
  switch (req->command) {
    case ipc::AnvilCommand::kConnect: {
      if (c.held_total >= kMaxHeldPerConnection) return ipc::AnvilReply::error("too many connections counted");
      auto counts = table_.connect(key);
      if (!counts) return ipc::AnvilReply::error("table full");
      c.held[key]++;
      c.held_total++;
      r.count = counts->count;
      r.rate = counts->connection_rate;
      return r;
    }
    case ipc::AnvilCommand::kDisconnect: {
      auto h = c.held.find(key);
      if (h != c.held.end()) {
        table_.disconnect(key);
        c.held_total--;
        if (--h->second == 0) c.held.erase(h);
      }
      return r;
    }
    case ipc::AnvilCommand::kMessage: {
      auto rate = table_.message(key);
      if (!rate) return ipc::AnvilReply::error("table full");
      r.rate = *rate;
      return r;
    }
    case ipc::AnvilCommand::kRcpt: {
      auto rate = table_.rcpt(key);
      if (!rate) return ipc::AnvilReply::error("table full");
      r.rate = *rate;
      return r;
    }
    case ipc::AnvilCommand::kLookup: {
      Counts counts = table_.lookup(key);
      r.count = counts.count;
      r.rate = counts.connection_rate;
      r.message_rate = counts.message_rate;
      r.rcpt_rate = counts.rcpt_rate;
      return r;
    }
  }
  return ipc::AnvilReply::error("unknown request");
}

// Runs inside the connection's LineIo callback: the LineIo is kept until
// reap_ frees it on a later loop turn.
void AnvilServer::closed(uint64_t serial) {
  auto it = conns_.find(serial);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  for (const auto& [key, n] : c.held)
    for (int i = 0; i < n; ++i) table_.disconnect(key);
  dead_.push_back(std::move(c.io));
  conns_.erase(it);
  reap_.start(Duration::zero());
  if (client_done_) client_done_();
}

void AnvilServer::stop() {
  std::vector<uint64_t> serials;
  for (auto& [serial, c] : conns_) serials.push_back(serial);
  for (uint64_t s : serials) {
    auto it = conns_.find(s);
    if (it != conns_.end()) it->second.io->close("anvil is stopping");  // closed() runs from on_close
  }
  expire_.cancel();
  stats_.cancel();
}

void AnvilServer::log_stats() {
  for (const auto& line : stats_lines(table_.take_stats(), settings_.time_unit)) log::info("%s", line.c_str());
}

}  // namespace tern::anvil
