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
// Log datagrams: "<P>tag: text", P the syslog priority digit (log.h Level).

#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/base/log.h"

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

// Log sink for children: each line a datagram on fd (blocking: back-pressure
// rather than loss when master is slow).
void log_to_master(int fd);
std::string format_log_datagram(log::Level level, std::string_view tag, std::string_view text);
// Parses a datagram; false for a malformed one.
bool parse_log_datagram(std::string_view dgram, log::Level* level, std::string_view* tag_and_text);

}  // namespace tern::server
