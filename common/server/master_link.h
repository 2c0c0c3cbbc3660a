#pragma once
// The link between master and each child it starts.
//
// Descriptors a child receives (fixed numbers, as Postfix does):
//   3  status socket (SOCK_SEQPACKET, one message per packet, both ways)
//   4  log socket (SOCK_DGRAM, child -> master; one log line per datagram)
//   5… listeners, TERN_LISTEN_FDS of them (environment variable)
//
// Status messages, child -> master:
//   "ready"   initialised and privileges dropped; accepting clients
//   "served"  accepted its first client (a later abnormal exit is not a
//             start-up failure, so master restarts it at once)
//   "full"    at client_limit: stopped accepting (unless in overload mode)
//   "avail"   below client_limit again
// master -> child:
//   "overload=1"  every process of the service is full and maxproc is
//                 reached: accept and answer with the overload reply at once,
//                 so no client waits in silence
//   "overload=0"  back to normal: a full process leaves clients to others
// EOF on the status socket means master went away: stop gracefully.
//
// Log datagrams: one or more records "<P>tag: text" separated by "\n", P the
// syslog priority digit (log.h Level). A record never holds a "\n" (log.h
// turns control characters into "?").

#include <functional>
#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/event/loop.h"

namespace tern::server {

inline constexpr int kStatusFd = 3;
inline constexpr int kLogFd = 4;
inline constexpr int kFirstListenFd = 5;
inline constexpr const char* kListenFdsEnv = "TERN_LISTEN_FDS";
inline constexpr const char* kMasterLinkEnv = "TERN_MASTER_LINK";  // "1" when started by master

enum class ChildStatus { kReady, kServed, kFull, kAvail };

std::string_view status_name(ChildStatus s);
bool parse_status(std::string_view msg, ChildStatus* out);

// Sends one packet; false if master is gone.
bool send_status(int fd, std::string_view msg);

// Log sink for children: datagrams on fd (blocking: back-pressure rather
// than loss when master is slow). Until batch_logs(), every line is a
// datagram of its own.
void log_to_master(int fd);
// From then on, notice, info and debug lines logged on the loop's thread
// wait for the end of the loop turn and leave together, one datagram (at
// most kMaxLogDatagram bytes) for what a turn logged: a busy smtpd logs five
// lines per message, and a datagram each cost a wake-up of master each.
// Lines from other threads (the worker pool), warnings and worse, and exit
// go at once, after what waits, so order is kept. A process killed by a
// signal loses what its current turn logged (never more than one turn).
// Called on the loop's thread; unbatch_logs() (flushes, then one datagram
// per line again) before the Loop is destroyed.
void batch_logs(event::Loop& loop);
void unbatch_logs();
inline constexpr size_t kMaxLogDatagram = 8000;  // fits the socket buffer
std::string format_log_datagram(log::Level level, std::string_view tag, std::string_view text);
// Parses one record; false for a malformed one.
bool parse_log_datagram(std::string_view dgram, log::Level* level, std::string_view* tag_and_text);
// Calls fn for each well-formed record of a datagram, in order.
void for_each_log_record(std::string_view dgram,
                         const std::function<void(log::Level, std::string_view tag_and_text)>& fn);

}  // namespace tern::server
